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
