"""A pull killed (no clean-up, like a power cut of the process) at each step of the batched
note writes converges on the next run: every paper has one note and one Zotero item, and the
text a user wrote in an existing note is still there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .helpers import Env, NewEnv

HEAD = """# Crash List

## Alignment

+ **\\[2024 EMNLP\\]** Crash Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
"""
MORE = "".join(
    f"+ **\\[2024 EMNLP\\]** Crash Paper {n}: More. ([Paper](https://arxiv.org/abs/2401.0000{n}))\n"
    for n in range(2, 7)
)
ONE, TWO = "arxiv:2401.00001", "arxiv:2401.00002"
USER_TEXT = "My own thoughts, typed before the crash."

# The child runs `pull` and dies (os._exit) at one step of the batched note writes.
CHILD = r"""
import os, sys
from pllm_sync import atomic
from pllm_sync.vault import store
step, argv = sys.argv[1], sys.argv[2:]
def die(*_a, **_k):
    os._exit(9)
large = step.startswith("large ")
if large:  # written as a pull's thousands are: one syncfs, no fsync each
    from pllm_sync import fsflush
    atomic.FLUSH_ONCE_FROM = 0
    step = step[6:]
    atomic._fsync_fd = None  # (a file fsynced on its own would fail the run: exit 1)
if step == "fsync" and large:  # temps written, the filesystem not flushed, none linked
    fsflush.flush = die
elif step == "fsync":  # temps written, nothing fsynced or linked
    atomic._fsync_fd = die
elif step == "link":  # two notes linked, the rest still temps
    orig, seen = atomic._link_new, []
    def link(tmp, path, *rest):
        if len(seen) == 2:
            os._exit(9)
        seen.append(path)
        return orig(tmp, path, *rest)
    atomic._link_new = link
elif step == "replace":  # new notes linked, the updated note not yet renamed over its file
    atomic._replace = die
elif step == "state":  # every note durable, the state not yet committed
    orig_commit = store.VaultStore.commit_batch
    def commit(self):
        orig_commit(self)
        os._exit(9)
    store.VaultStore.commit_batch = commit
elif step == "zotero":  # the first batch of items created, nothing else
    from pllm_sync.zotero import batch
    orig_post = batch.BatchWriter._post
    def post(self, chunk, *a, **k):
        out = orig_post(self, chunk, *a, **k)
        if any("itemType" in op.obj and op.obj["itemType"] != "note" for op in chunk):
            os._exit(9)  # (after the collections' batch: after the first items' batch)
        return out
    batch.BatchWriter._post = post
from pllm_sync.cli import main
sys.exit(main(argv))
"""


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"crash": HEAD})


def _ids_in_notes(env: Env) -> Counter[str]:
    found: Counter[str] = Counter()
    for p in env.vault.rglob("*.md"):
        if ".pllm-sync-trash" in p.parts:
            continue
        m = re.search(r"^pllm-sync-id: (\S+)$", p.read_text(encoding="utf-8"), re.M)
        if m:
            found[m.group(1)] += 1
    return found


def _ids_in_zotero(env: Env) -> Counter[str]:
    found: Counter[str] = Counter()
    for d in env.emu.get_items().values():
        m = re.search(r"pllm-sync-id: (\S+)", d.get("extra") or "")
        if m and not d.get("deleted"):
            found[m.group(1)] += 1
    return found


STEPS = ["fsync", "link", "replace", "state"]


@pytest.mark.parametrize("step", [*STEPS, *(f"large {s}" for s in STEPS)])
def test_a_pull_killed_while_writing_notes_converges(
    env: Env, step: str, syncfs_here: Callable[[Path], bool]
) -> None:
    if step.startswith("large ") and not syncfs_here(env.vault.parent):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    note = env.note_for(ONE)
    with note.open("a", encoding="utf-8") as fh:
        fh.write(f"\n{USER_TEXT}\n")
    # five new papers, and the first one retitled: its note is updated in the same batch
    env.lists["crash"].write_text(HEAD.replace("A Study", "A Revised Study") + MORE, "utf-8")

    args = ["--config", str(env.config), "-q", "pull", "--no-progress"]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, step, *args], env=dict(os.environ), check=False
    )
    assert child.returncode == 9, "the child was killed at that step"
    leftovers = [p for p in env.papers.iterdir() if not p.name.endswith(".md")]
    assert all(p.name.startswith(".") for p in leftovers), leftovers  # hidden temps only

    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    wanted = {ONE, *(f"arxiv:2401.0000{n}" for n in range(2, 7))}
    assert _ids_in_notes(env) == dict.fromkeys(wanted, 1), "one note per paper"
    assert _ids_in_zotero(env) == dict.fromkeys(wanted, 1), "one item per paper"
    text = env.note_for(ONE).read_text(encoding="utf-8")
    assert USER_TEXT in text
    assert re.search(r"^title: .*A Revised Study", text, re.M), "the update landed"
    assert not [p for p in env.papers.iterdir() if not p.name.endswith(".md")], "litter gone"


def test_a_note_saved_while_the_run_writes_it_is_kept_and_synced_next(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates are staged and renamed over their notes at the end of the vault pass: a note
    the user saves in between keeps the user's bytes, the paper's base does not move, and
    the next sync brings both edits together (neither is lost, Zotero is not reverted)."""
    from pllm_sync.vault.store import VaultStore

    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    item = env.item_by_pid(ONE)
    env.emu.edit_item(item["key"], {"title": "Crash Paper One: Retitled in Zotero"})
    note = env.note_for(ONE)
    orig_commit = VaultStore.commit_batch

    def save_then_commit(self: VaultStore) -> list[str]:
        with note.open("a", encoding="utf-8") as fh:  # the user saves during the run
            fh.write(f"\n{USER_TEXT}\n")
        return orig_commit(self)

    monkeypatch.setattr(VaultStore, "commit_batch", save_then_commit)
    code, out, err = env.run("sync", "--no-progress")
    # not a failure: the user's save wins, said once, and the note is not counted as written
    # (it once exited 1 with an error line per note, and counted it as updated)
    assert code == 0, err
    rel = note.relative_to(env.vault).as_posix()
    assert "1 note was saved while this run was writing it: kept as saved" in err, err
    assert rel in err and "error" not in err.lower(), err
    assert "note updated" not in out, out
    text = note.read_text(encoding="utf-8")
    assert USER_TEXT in text and "Retitled in Zotero" not in text  # the user's file as saved

    monkeypatch.setattr(VaultStore, "commit_batch", orig_commit)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    text = note.read_text(encoding="utf-8")
    assert USER_TEXT in text and re.search(r"^title: .*Retitled in Zotero", text, re.M)
    assert env.item_by_pid(ONE)["title"] == "Crash Paper One: Retitled in Zotero"
    assert _ids_in_notes(env) == {ONE: 1}


# The child runs the first `pull` and dies (os._exit) while it copies the vault template,
# after ``when`` of its files (``last``: all but the last one) were written.
TEMPLATE_CHILD = r"""
import os, sys
from pllm_sync.vault import template
when, argv = sys.argv[1], sys.argv[2:]
stop = len(list(template.template_files())) - 1 if when == "last" else int(when)
orig, seen = template.atomic_write, []
def write(path, data, **kw):
    if len(seen) == stop:
        os._exit(9)
    seen.append(path)
    return orig(path, data, **kw)
template.atomic_write = write
from pllm_sync.cli import main
sys.exit(main(argv))
"""


@pytest.mark.parametrize("when", ["0", "2", "last"])
def test_a_first_pull_killed_while_it_makes_the_vault_makes_it_whole_next_time(
    env: Env, when: str
) -> None:
    """A run killed while copying the template once left a vault folder without its Home
    note, queue, base and Obsidian settings, and no later run added them (the folder was
    there); a temp of Obsidian's settings stayed in ``.obsidian`` for good."""
    args = ["--config", str(env.config), "-q", "pull", "--no-progress"]
    child = subprocess.run(
        [sys.executable, "-c", TEMPLATE_CHILD, when, *args], env=dict(os.environ), check=False
    )
    assert child.returncode == 9, "the child was killed while making the vault"
    assert not env.vault.exists(), "no half-made vault"
    [half] = [p for p in env.vault.parent.iterdir() if p.name.startswith(".vault.pllm-new-")]
    long_ago = half.stat().st_mtime - 600  # killed a while ago (a fresh one may be in use)
    os.utime(half, (long_ago, long_ago))

    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    from pllm_sync.vault.template import template_files

    expected = {rel for rel, _src in template_files()}
    present = {p.relative_to(env.vault).as_posix() for p in env.vault.rglob("*") if p.is_file()}
    assert expected <= present, expected - present
    assert _ids_in_notes(env) == {ONE: 1}
    beside = [p.name for p in env.vault.parent.iterdir() if p.name.startswith(".vault.")]
    assert beside == [], "the half-made vault a kill left beside it is gone"
    litter = [p for p in env.vault.rglob("*") if p.name.endswith(".tmp")]
    assert litter == []


def test_a_temp_a_kill_left_in_obsidians_folder_is_removed(env: Env) -> None:
    """Obsidian's settings are written with a temp in ``.obsidian``; the clean-up of temps
    a killed run left skipped hidden folders, so that one stayed for good."""
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    stale = env.vault / ".obsidian" / ".types.json.0badf00d.pllm.tmp"
    stale.write_text("{}")
    old = stale.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    plugin = env.vault / ".obsidian" / "plugins" / "x"
    plugin.mkdir(parents=True)
    theirs = plugin / ".data.json.0badf00d.pllm.tmp"  # not ours to look at
    theirs.write_text("{}")
    os.utime(theirs, (old, old))
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert not stale.exists()
    assert theirs.exists()


def test_a_vault_made_in_obsidian_first_gets_the_template_and_keeps_its_settings(
    env: Env,
) -> None:
    """A researcher who makes the vault in Obsidian first (a folder holding only its
    ``.obsidian`` settings) and then pulls got no Home note, queue, base or templates: the
    folder was there, so the template was never merged."""
    import json

    settings = env.vault / ".obsidian"
    settings.mkdir(parents=True)
    (settings / "app.json").write_text('{"theme": "mine"}')
    (settings / "types.json").write_text(json.dumps({"types": {"mood": "text"}}))
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    from pllm_sync.vault.template import template_files

    present = {p.relative_to(env.vault).as_posix() for p in env.vault.rglob("*") if p.is_file()}
    assert {rel for rel, _src in template_files()} <= present
    assert (settings / "app.json").read_text() == '{"theme": "mine"}', "left as it was"
    types = json.loads((settings / "types.json").read_text())["types"]
    assert types["mood"] == "text" and len(types) > 1, "the user's type kept, ours added"


def test_a_vault_with_notes_of_its_own_gets_no_template_from_a_pull(env: Env) -> None:
    """An existing vault (it holds notes) is the user's: a pull adds the papers and their
    index, not a Home note or views (``pllm-sync vault init`` does that on request)."""
    env.vault.mkdir()
    (env.vault / "Journal.md").write_text("my own note\n")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert not (env.vault / "Home.md").exists()
    assert _ids_in_notes(env) == {ONE: 1}


def test_notes_saved_before_the_run_reached_them_are_kept_and_said_once(
    new_env: NewEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user types in Obsidian while a sync goes through the vault: each note saved after
    the scan read it and before the run rewrote it is kept as saved. One line says so; the
    run does not fail (a service or cron job once recorded every such run as failed)."""
    from pllm_sync.vault.store import NoteInfo, VaultStore

    env = new_env({"crash": HEAD + MORE})
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    for pid in (ONE, TWO):
        item = env.item_by_pid(pid)
        env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
    orig = VaultStore.update_note

    def user_saves_first(self: VaultStore, note: NoteInfo, *a: Any, **k: Any) -> NoteInfo | None:
        with (self.root / note.path).open("a", encoding="utf-8") as fh:
            fh.write(f"\n{USER_TEXT} {note.pllm_id}\n")
        return orig(self, note, *a, **k)

    monkeypatch.setattr(VaultStore, "update_note", user_saves_first)
    code, out, err = env.run("sync", "--no-progress")
    monkeypatch.setattr(VaultStore, "update_note", orig)
    assert code == 0, err
    assert err.count("2 notes were saved while this run was writing them") == 1, err
    assert "error" not in err.lower() and "note updated" not in out and "notes updated" not in out
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    for pid in (ONE, TWO):
        text = env.note_for(pid).read_text(encoding="utf-8")
        assert f"{USER_TEXT} {pid}" in text and "from-zotero" in text, "both edits arrive"
    assert "nothing to change" in env.run("sync", "--no-progress")[1]


def test_a_first_import_killed_part_way_is_no_news_when_it_is_finished(
    new_env: NewEnv,
) -> None:
    """The first pull dies after Zotero took its first 50 items; a sync writes their notes;
    the next pull finishes the import. An import run to its end at once writes no "What's
    new"; this one listed the papers the killed run had not reached, an arbitrary share."""
    many = "".join(
        f"+ **\\[2024 EMNLP\\]** Crash Paper {n}: More. ([Paper](https://arxiv.org/abs/2401.{n:05d}))\n"
        for n in range(2, 61)
    )
    env = new_env({"crash": HEAD + many})
    args = ["--config", str(env.config), "-q", "pull", "--no-progress"]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, "zotero", *args], env=dict(os.environ), check=False
    )
    assert child.returncode == 9
    assert 0 < len(_ids_in_zotero(env)) < 60, "killed part way"
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert _ids_in_zotero(env) == Counter(_ids_in_notes(env)) and len(_ids_in_notes(env)) == 60
    assert "what's new" not in out.lower(), out
    assert not (env.vault / "What's new.md").exists()

    # once the import is whole, a paper the list adds is news
    env.lists["crash"].write_text(
        HEAD
        + many
        + "+ **\\[2024 EMNLP\\]** A Later Paper: New. ([Paper](https://arxiv.org/abs/2402.00001))\n",
        "utf-8",
    )
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0 and "what's new: 1 new paper" in out, (out, err)


def test_a_pull_of_hundreds_of_notes_flushes_once_and_fsyncs_none(
    new_env: NewEnv,
    syncfs_here: Callable[[Path], bool],
    count_flushes: Callable[[], dict[str, int]],
) -> None:
    """A pull knows how many notes it writes, so its batch flushes the filesystem once
    from the first note: none is fsynced on its own (hundreds of fsyncs each cost a journal
    commit), and every note is whole."""
    from pllm_sync import atomic

    n = atomic.FLUSH_ONCE_FROM + 20
    many = "".join(
        f"+ **\\[2024 EMNLP\\]** Many Paper {i}: Study. ([Paper](https://arxiv.org/abs/2402.{i:05d}))\n"
        for i in range(1, n + 1)
    )
    env = new_env({"crash": HEAD + many})
    if not syncfs_here(env.vault.parent):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    counts = count_flushes()
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert counts == {"fsync": 0, "syncfs": 1}
    assert sum(_ids_in_notes(env).values()) == n + 1
