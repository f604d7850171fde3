"""Following lists end to end (emulator + vault): each list gets its own collection subtree
under the root collection and its own index notes, even when two lists share a title, and
``lists remove`` retires exactly the papers no other list has (tombstones, nothing deleted)."""

from __future__ import annotations

import re

import pytest

from .helpers import Env, NewEnv, frontmatter

ALPHA = (
    "# Awesome Papers\n## Reasoning\n"
    "- **Alpha Only Paper** [[paper](https://arxiv.org/abs/2401.10001)]\n"
    "- **Shared Paper Of Both** [[paper](https://arxiv.org/abs/2401.10002)]\n"
)
BETA = (
    "# Awesome Papers\n## Reasoning\n"
    "| Title | Paper |\n| --- | --- |\n"
    "| Beta Only Paper | [[pdf]](https://arxiv.org/pdf/2401.20001) |\n"
    "| Shared Paper Of Both | [[pdf]](https://arxiv.org/pdf/2401.10002) |\n"
)


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"alpha": ALPHA, "beta": BETA})


def _collection_paths(env: Env) -> set[tuple[str, ...]]:
    cols = {k: v.get("data", v) for k, v in env.emu.get_collections().items()}

    def path(key: str) -> tuple[str, ...]:
        c = cols[key]
        parent = c.get("parentCollection")
        return (*(path(parent) if parent else ()), c["name"])

    return {path(k) for k in cols}


def test_each_list_has_its_own_subtree_and_index_notes_and_remove_retires_only_its_papers(
    env: Env,
) -> None:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    paths = _collection_paths(env)
    assert ("pllm-sync", "Awesome Papers", "Reasoning") in paths
    assert ("pllm-sync", "Awesome Papers (beta)", "Reasoning") in paths
    index = sorted(p.name for p in (env.vault / "Sections").rglob("*.md"))
    assert len(index) == 4, index  # two roots and two Reasoning notes, none shared
    shared = frontmatter(env.note_for("arxiv:2401.10002"))
    assert len(shared["sections"]) == 2

    code, out, err = env.run("lists", "remove", "beta")
    assert code == 0, err
    assert "1 of its 2 papers are in no other list" in out
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert frontmatter(env.note_for("arxiv:2401.20001"))["catalog"] == "removed"
    assert frontmatter(env.note_for("arxiv:2401.10002"))["catalog"] == "listed"
    assert frontmatter(env.note_for("arxiv:2401.10001"))["catalog"] == "listed"
    beta_item = env.item_by_pid("arxiv:2401.20001")
    assert "pllm/removed" in {t["tag"] for t in beta_item["tags"]}
    assert env.items(trashed=True) == {}  # nothing deleted


def _numbered(title: str, n: int, first: int = 1) -> str:
    """A list of ``n`` papers (arXiv 2402.<i>), as a list's README has them."""
    rows = "".join(
        f"- **{title} Paper {i}** [[paper](https://arxiv.org/abs/2402.{i:05d})]\n"
        for i in range(first, first + n)
    )
    return f"# {title}\n## Reasoning\n{rows}"


def test_a_list_cut_to_its_first_third_is_refused_until_the_user_raises_the_limits(
    new_env: NewEnv,
) -> None:
    """Found by the lists helper: a list served cut off (a download cut short, a commit that
    dropped most of it) retired every paper after the cut -- `catalog: removed` in 20 notes,
    `pllm/removed` on 20 items -- because the mass-change guard counted only trashes. A
    run that would retire more than the limits allow now stops before any change, naming
    the list; its dry run lists them; raising the limits for one run retires them."""
    env = new_env({"cut": _numbered("Cut List", 30)})
    assert env.run("pull", "--no-progress")[0] == 0
    env.lists["cut"].write_text(_numbered("Cut List", 10), encoding="utf-8")
    before, items = env.snapshot(), env.emu.get_items(include_trashed=True)
    env.emu.clear_log()

    code, out, err = env.run("pull", "--no-progress")
    assert code == 6, (out, err)
    assert "retire 20 of 30 papers that left the catalog" in err, err
    assert "list 'cut' dropped 20 of its 30 papers" in err, err
    assert "pull --dry-run" in err and "sync.max_delete" in err, err
    assert env.snapshot() == before, "no note was changed"
    assert env.writes() == [] and env.emu.get_items(include_trashed=True) == items

    code, out, err = env.run("pull", "--dry-run", "--no-progress")
    assert code == 6, (out, err)
    assert all(f"Cut List Paper {i}" in out for i in range(11, 31)), out
    assert "tombstone" in out and "a run without --dry-run stops here" in err, err
    assert env.snapshot() == before and env.writes() == [], "a dry run changes nothing"

    env.write_config(max_delete=100, max_delete_percent=100)  # every one is intended
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    for i in range(1, 31):
        pid = f"arxiv:2402.{i:05d}"
        state = "listed" if i <= 10 else "removed"
        assert frontmatter(env.note_for(pid))["catalog"] == state, pid
        tags = {t["tag"] for t in env.item_by_pid(pid)["tags"]}
        assert ("pllm/removed" in tags) == (i > 10), pid
    assert env.items(trashed=True) == {}  # retired, nothing deleted


def test_a_few_papers_leaving_a_large_library_pass_the_guard(new_env: NewEnv) -> None:
    """The limits are the trash guard's: a maintainer's usual clean-up (3 of 30) goes on."""
    env = new_env({"cut": _numbered("Cut List", 30)})
    assert env.run("pull", "--no-progress")[0] == 0
    env.lists["cut"].write_text(_numbered("Cut List", 27), encoding="utf-8")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert frontmatter(env.note_for("arxiv:2402.00030"))["catalog"] == "removed"


def test_removing_a_large_list_is_the_users_act_and_not_refused(new_env: NewEnv) -> None:
    """`lists remove` says how many papers the next pull retires: that pull goes on, even
    over the limits; a list followed still, cut off at the same time, is still counted."""
    env = new_env({"keep": _numbered("Kept List", 30), "gone": _numbered("Gone List", 40, 101)})
    assert env.run("pull", "--no-progress")[0] == 0
    code, out, err = env.run("lists", "remove", "gone")
    assert code == 0 and "40 of its 40 papers are in no other list" in out, (out, err)
    env.lists.pop("gone")
    env.lists["keep"].write_text(_numbered("Kept List", 3), encoding="utf-8")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 6 and "list 'keep' dropped 27 of its 30 papers" in err, err
    assert "Gone List" not in err and "'gone'" not in err, err
    env.lists["keep"].write_text(_numbered("Kept List", 30), encoding="utf-8")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert frontmatter(env.note_for("arxiv:2402.00101"))["catalog"] == "removed"
    assert frontmatter(env.note_for("arxiv:2402.00001"))["catalog"] == "listed"


def test_a_removal_applied_by_a_vault_only_pull_finishes_at_the_next_pull(
    new_env: NewEnv,
) -> None:
    """`lists remove`, a `pull --zotero off` (the notes retire), then a pull with Zotero:
    the items' half of the same removal was refused as a list cut off, naming no list."""
    env = new_env({"keep": _numbered("Kept List", 10), "gone": _numbered("Gone List", 10, 101)})
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.run("lists", "remove", "gone")[0] == 0
    env.lists.pop("gone")
    code, _, err = env.run("pull", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert frontmatter(env.note_for("arxiv:2402.00101"))["catalog"] == "removed"
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert "pllm/removed" in {t["tag"] for t in env.item_by_pid("arxiv:2402.00101")["tags"]}
    assert "pllm/removed" not in {t["tag"] for t in env.item_by_pid("arxiv:2402.00001")["tags"]}


def test_switching_to_a_fork_of_one_title_is_not_refused_as_a_cut(new_env: NewEnv) -> None:
    """`lists remove b` then `lists add b2`, a fork with the same title and half the papers:
    b's papers that b2 does not list leave by the user's act. They were counted as b2's
    ("list 'b2' dropped 5 of its 10 papers") and the pull refused."""
    env = new_env({"a": _numbered("Kept List", 10), "b": _numbered("Fork List", 10, 101)})
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.run("lists", "remove", "b")[0] == 0
    env.lists.pop("b")
    fork = env.root / "b2.md"
    fork.write_text(_numbered("Fork List", 5, 101), encoding="utf-8")
    code, out, err = env.run("lists", "add", str(fork), "--name", "b2")
    assert code == 0, (out, err)
    env.lists["b2"] = fork
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert "b2" not in err, err
    assert frontmatter(env.note_for("arxiv:2402.00101"))["catalog"] == "listed"
    assert frontmatter(env.note_for("arxiv:2402.00110"))["catalog"] == "removed"


COLLIDE = (
    "# Collide\n\n## Q&A?\n\n"
    "- **[2024 ICLR]** Paper One In Section QA Question. ([Paper](https://arxiv.org/abs/2402.00001))\n"
    "\n## Q&A\n\n"
    "- **[2024 ICLR]** Paper Two In Section QA Plain. ([Paper](https://arxiv.org/abs/2402.00002))\n"
    "\n## q&a\n\n"
    "- **[2024 ICLR]** Paper Three In Section qa Lower. ([Paper](https://arxiv.org/abs/2402.00003))\n"
)


def test_sections_whose_names_differ_only_in_punctuation_or_case_keep_their_papers(
    new_env: NewEnv,
) -> None:
    """Found with a list of ``## Q&A?``, ``## Q&A`` and ``## q&a``: the three share one file
    name once sanitised and compared case-insensitively, so their index notes are told apart
    by a hash, but every paper note linked the plain ``Sections/Collide/Q&A``: the second
    pull read all three papers as in ``Q&A?``, moved them there in Zotero, and every pull
    after rewrote the index notes again."""
    env = new_env({"collide": COLLIDE})
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    sections = {"arxiv:2402.00001": "Q&A?", "arxiv:2402.00002": "Q&A", "arxiv:2402.00003": "q&a"}

    def check() -> None:
        colls = {c["name"]: k for k, c in env.emu.get_collections().items()}
        index = {
            p: frontmatter(p)["pllm-sync-section"]
            for p in (env.vault / "Sections" / "Collide").glob("*.md")
        }
        assert sorted(index.values()) == sorted(f"Collide / {s}" for s in sections.values())
        for pid, name in sections.items():
            assert env.item_by_pid(pid)["collections"] == [colls[name]], pid
            note = env.note_for(pid)
            [link] = frontmatter(note)["sections"]
            target = link.removeprefix("[[").split("|")[0]
            linked = env.vault / f"{target}.md"
            assert linked.is_file(), link
            assert frontmatter(linked)["pllm-sync-section"] == f"Collide / {name}", link
            listed = [
                ln
                for ln in linked.read_text(encoding="utf-8").splitlines()
                if ln.startswith("- [[")
            ]
            assert listed == [f"- [[{note.stem}]]"], (linked.name, listed)

    check()
    before, version = env.snapshot(), env.emu.library_version()
    for _ in range(2):
        code, _out, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert env.snapshot() == before, "a second pull rewrote the vault"
        assert env.emu.library_version() == version, "a second pull wrote to Zotero"
    check()


def test_sections_of_one_slug_reordered_upstream_keep_their_papers_filed(
    new_env: NewEnv,
) -> None:
    """Sections whose names slugify alike are told apart by their order in the list; when
    the list reorders them, their collections are renamed under the items. Each item now
    follows its own section into the collection that stands for it (it stayed in the one
    renamed under it, its note saying otherwise), and the pull after settles."""
    env = new_env({"collide": COLLIDE})
    assert env.run("pull", "--no-progress")[0] == 0
    parts = COLLIDE.split("\n## ")
    env.lists["collide"].write_text(
        "\n## ".join([parts[0], parts[3].rstrip("\n") + "\n", parts[2], parts[1]]),
        encoding="utf-8",
    )
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    colls = {c["name"]: k for k, c in env.emu.get_collections().items()}
    sections = {"arxiv:2402.00001": "Q&A?", "arxiv:2402.00002": "Q&A", "arxiv:2402.00003": "q&a"}
    for pid, name in sections.items():
        assert env.item_by_pid(pid)["collections"] == [colls[name]], (pid, name)
    before, version = env.snapshot(), env.emu.library_version()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.snapshot() == before and env.emu.library_version() == version


def test_a_vault_an_older_version_linked_to_the_plain_note_name_keeps_its_sections(
    new_env: NewEnv,
) -> None:
    """An older version linked every one of the three sections by the plain name
    (``[[Sections/Collide/Q&A|Q&A]]`` for ``Q&A``, whose index note is ``Q&A (3b74cc27)``):
    such a link is read as the section its alias names, and the pulls after change nothing."""
    env = new_env({"collide": COLLIDE})
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    old = {
        "arxiv:2402.00002": "[[Sections/Collide/Q&A|Q&A]]",
        "arxiv:2402.00003": "[[Sections/Collide/q&a|q&a]]",
    }
    for pid, link in old.items():
        note = env.note_for(pid)
        text = note.read_text(encoding="utf-8")
        new = re.sub(r'(?m)^  - "\[\[Sections/Collide/.*$', f'  - "{link}"', text)
        assert new != text
        note.write_text(new, encoding="utf-8")
    colls = {c["name"]: k for k, c in env.emu.get_collections().items()}
    for _ in range(2):
        code, out, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert env.item_by_pid("arxiv:2402.00002")["collections"] == [colls["Q&A"]]
        assert env.item_by_pid("arxiv:2402.00003")["collections"] == [colls["q&a"]]
        assert env.item_by_pid("arxiv:2402.00001")["collections"] == [colls["Q&A?"]]
        assert "nothing to change" in out, out
