"""Two devices, one vault a cloud service copies between them, one Zotero library: found
by a helper trying it as researchers live it (a laptop and a desktop, iCloud or Obsidian
Sync). Each device has its own state; the cloud copies files in its own time and order.

- iCloud's ``Optimize Storage`` replaces a note by a hidden ``.X.md.icloud`` placeholder:
  read as a deletion, the desktop trashed the item and the laptop then moved its full,
  edited note into the vault's trash (15 evicted notes: 15 items, under the mass-delete
  guard);
- a note that is there but cannot be read said "see the warnings above" with none above;
- the list changes a paper's id, the laptop pulls first and the cloud brings its renamed
  note: the desktop kept the old id's row, warned on every run, and undid a deletion;
- two notes with one id: the scan said it used the first while the sync kept the other.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, edit_frontmatter, frontmatter, make_env

LIST = """# Devices List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://openreview.net/forum?id=abcDEF123))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
ONE, ONE_NEW = "openreview:abcDEF123", "arxiv:2401.00001"
TWO = "arxiv:2401.00002"


def cloud(src: Path, dst: Path) -> None:
    """What a finished cloud sync leaves on the other device: ``dst`` holds what ``src``
    holds (hidden files too, times kept, as ``rsync -a --delete``), in the same folder."""
    for child in list(dst.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for child in src.iterdir():
        if child.is_dir():
            shutil.copytree(child, dst / child.name, copy_function=shutil.copy2)
        else:
            shutil.copy2(child, dst / child.name)


@pytest.fixture
def devices(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Env, Env]]:
    """The laptop pulled first; the cloud copied its vault; the desktop pulled on it."""
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    laptop.mkdir()
    desktop.mkdir()
    lists = {"devices": LIST}
    # three papers: one deletion is a third of them (the guard's share is not tested here)
    a = make_env(laptop, zotero_emulator, capsys, monkeypatch, lists, max_delete_percent=100)
    b = make_env(desktop, zotero_emulator, capsys, monkeypatch, lists, max_delete_percent=100)
    code, _, err = a.run("pull", "--no-progress")
    assert code == 0, err
    b.vault.mkdir()
    cloud(a.vault, b.vault)
    code, _, err = b.run("pull", "--no-progress")
    assert code == 0, err
    yield a, b


def item_of(env: Env, pid: str) -> dict[str, Any]:
    """The one item (live or trashed) carrying ``pid``."""
    found = [
        d
        for d in [*env.items().values(), *env.items(trashed=True).values()]
        if f"pllm-sync-id: {pid}" in (d.get("extra") or "")
    ]
    assert len(found) == 1, (pid, len(found))
    return found[0]


def sync(env: Env) -> tuple[int, str, str]:
    return env.run("sync", "--no-progress")


def test_a_note_the_cloud_evicted_is_no_deletion_on_either_device(
    devices: tuple[Env, Env],
) -> None:
    a, b = devices
    note_a = a.note_for(TWO)
    edit_frontmatter(note_a, status="reading")
    with note_a.open("a", encoding="utf-8") as fh:
        fh.write("\nLaptop notes, precious.\n")
    assert sync(a)[0] == 0
    cloud(a.vault, b.vault)
    assert sync(b)[0] == 0

    # the desktop frees space: its copy becomes iCloud's hidden placeholder
    note_b = b.note_for(TWO)
    stub = note_b.with_name(f".{note_b.name}.icloud")
    note_b.rename(stub)
    code, _, err = sync(b)
    assert code == 0, err
    assert not item_of(b, TWO).get("deleted"), "an evicted note trashed its item"
    assert "is not downloaded" in err and stub.name in err, err
    assert "see the warnings above" not in err

    code, _, err = sync(a)  # the laptop keeps its note, with the user's words
    assert code == 0, err
    assert "Laptop notes, precious." in note_a.read_text(encoding="utf-8")
    assert frontmatter(note_a)["status"] == "reading"
    assert not list((a.vault / ".pllm-sync-trash").rglob("*.md"))

    # downloaded again (the user opened it): an edit made on the desktop then syncs
    stub.rename(note_b)
    edit_frontmatter(note_b, rating=4)
    code, _, err = sync(b)
    assert code == 0 and "not downloaded" not in err, err
    tags = {t["tag"] for t in item_of(b, TWO)["tags"]}
    assert {"rating/4", "status/reading"} <= tags, "the desktop's edit reached Zotero"
    assert "nothing to change" in sync(b)[1]


def test_many_evicted_notes_trash_nothing(devices: tuple[Env, Env]) -> None:
    _, b = devices
    notes = sorted(b.papers.glob("*.md"))
    for note in notes:
        note.rename(note.with_name(f".{note.name}.icloud"))
    code, out, err = sync(b)
    assert code == 0, err
    assert not b.items(trashed=True), "evicted notes trashed their items"
    assert "nothing to change" in out
    assert err.count("is not downloaded") == len(notes), err


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("empty", "is empty (a cloud copy still arriving?)"),
        ("cut", "has no readable pllm-sync-id property now"),
        ("bad-yaml", "cannot be read ("),
        ("unclosed", "has no `---` line closing its properties"),
    ],
)
def test_a_note_that_cannot_be_read_says_why(
    devices: tuple[Env, Env], damage: str, says: str
) -> None:
    """Half-copied or damaged: left alone (never a deletion), and the warning says what is
    there, not "see the warnings above" with no warning above it."""
    a, _ = devices
    note = a.note_for(TWO)
    text = note.read_text(encoding="utf-8")
    if damage == "empty":
        note.write_bytes(b"")
    elif damage == "cut":
        note.write_text(text[:60], encoding="utf-8")  # inside the properties
    elif damage == "unclosed":  # the closing line deleted: Obsidian shows them as text
        closing = text.splitlines().index("---", 1) + 1  # its line number
        note.write_text(text.replace("\n---\n", "\n", 1), encoding="utf-8")
        says += f", so it has none (Obsidian shows them as text) -- add a line `---` after line {closing - 1}"
    else:
        note.write_text(text.replace("\ntitle:", "\ntitle: [unclosed\n  x:", 1), encoding="utf-8")
    code, _, err = sync(a)
    assert code == 0, err
    assert f"{TWO}: its note Papers/{note.name} {says}" in err, err
    assert "see the warnings above" not in err
    assert not item_of(a, TWO).get("deleted")
    note.write_text(text, encoding="utf-8")  # the copy completes
    code, _, err = sync(a)
    assert code == 0 and "its note" not in err, err


@pytest.mark.parametrize("first", ["pull", "sync"])
def test_the_second_device_follows_a_rename_the_first_made(
    devices: tuple[Env, Env], first: str
) -> None:
    """The desktop's first run after the cloud brought the renamed note may be a pull, or
    (most often: a daemon pass, a plain sync) a run that reads no catalog."""
    a, b = devices
    key = item_of(a, ONE)["key"]
    for env in (a, b):  # the list fixes the paper's link: its id changes
        path = env.lists["devices"]
        fixed = path.read_text(encoding="utf-8").replace(
            "https://openreview.net/forum?id=abcDEF123", "https://arxiv.org/abs/2401.00001"
        )
        path.write_text(fixed, encoding="utf-8")
    code, _, err = a.run("pull", "--no-progress")
    assert code == 0 and "changed this paper's id" in err, err
    cloud(a.vault, b.vault)

    before = b.snapshot()
    code, out, err = b.run(first, "--no-progress")
    assert code == 0, err
    assert "now holds the note of" not in err and "cannot be read" not in err, err
    # the note holds the laptop's bytes already: not rewritten, and not counted as updated
    assert "note updated" not in out, out
    assert b.snapshot() == before
    assert item_of(b, ONE_NEW)["key"] == key, "one item, the same one"
    code, out, err = b.run("pull", "--no-progress")
    assert code == 0 and "nothing to change" in out and "its note" not in err, (out, err)
    code, out, err = sync(b)
    assert code == 0 and "nothing to change" in out and "its note" not in err, (out, err)
    code, out, _ = b.run("status")
    assert "total: 3" in out, out  # one row per paper: no second row for the same item

    # the user deletes the paper's note on the desktop: a deletion, on both devices
    note_b = b.note_for(ONE_NEW)
    note_b.unlink()
    code, _, err = sync(b)
    assert code == 0, err
    assert item_of(b, ONE_NEW).get("deleted"), "the deletion trashed the item"
    assert not list(b.vault.rglob(note_b.name)), "the note was not written again"
    cloud(b.vault, a.vault)
    code, _, err = sync(a)
    assert code == 0, err
    assert item_of(a, ONE_NEW).get("deleted"), "the laptop undid the deletion"
    assert not (a.papers / note_b.name).exists()


def test_two_notes_with_one_id_name_the_one_that_keeps_it(devices: tuple[Env, Env]) -> None:
    """A copy whose name sorts first (``A copy.md``) next to the note the state knows: the
    sync keeps the known note, and nothing says the first was used."""
    a, _ = devices
    note = a.note_for(TWO)
    copy = a.papers / "A copy.md"
    shutil.copy2(note, copy)
    code, _, err = sync(a)
    assert code == 0, err
    assert f"Papers/{note.name} keeps it" in err, err
    assert "using the first" not in err
    assert os.path.exists(copy)


def test_a_note_renamed_elsewhere_and_evicted_here_is_no_deletion(
    devices: tuple[Env, Env],
) -> None:
    """Renamed on the laptop; on the desktop iCloud keeps only the placeholder, under the
    new name: nothing is at the old path, and the placeholder names no note the desktop
    knows (found by the review helper: the item was trashed, and then the laptop's note)."""
    a, b = devices
    note_a = a.note_for(TWO)
    renamed = note_a.with_name("Renamed by me.md")
    note_a.rename(renamed)
    assert sync(a)[0] == 0
    cloud(a.vault, b.vault)
    moved_b = b.papers / renamed.name
    stub = moved_b.with_name(f".{moved_b.name}.icloud")
    moved_b.rename(stub)  # evicted on the desktop
    code, _, err = sync(b)
    assert code == 0, err
    assert not item_of(b, TWO).get("deleted"), "the evicted, renamed note trashed its item"
    assert stub.name in err and "not downloaded" in err, err
    assert sync(a)[0] == 0 and renamed.exists()

    stub.rename(moved_b)  # downloaded
    code, out, err = sync(b)
    assert code == 0 and "not downloaded" not in err, err
    assert not item_of(b, TWO).get("deleted")
    code, out, _ = b.run("status")
    assert "total: 3" in out

    # a real deletion, with no placeholder about, still trashes the item
    moved_b.unlink()
    assert sync(b)[0] == 0
    assert item_of(b, TWO).get("deleted")


def test_a_note_the_cloud_is_still_writing_is_no_notes_conflict(
    devices: tuple[Env, Env],
) -> None:
    """Found by the two-device helper: the laptop adds notes and syncs; on the desktop the
    cloud has written only the start of the file (its properties whole, the notes cut
    after 20 bytes) when the desktop syncs. The cut text was taken for the desktop's edit:
    a notes conflict, and markers holding the cut text written into both devices' notes
    and Zotero's. The cut copy is the beginning of what Zotero holds: the whole text is
    taken, with no conflict, and nothing is lost."""
    laptop, desktop = devices
    rel = laptop.note_for(TWO).relative_to(laptop.vault)
    words = "My long laptop notes paragraph one.\n\nParagraph two with details.\n"
    with laptop.note_for(TWO).open("a", encoding="utf-8") as fh:
        fh.write("\n" + words)
    assert sync(laptop)[0] == 0
    whole = (laptop.vault / rel).read_bytes()
    end = b"<!-- pllm-sync:end -->\n"
    (desktop.vault / rel).write_bytes(whole[: whole.index(end) + len(end) + 20])
    code, _, err = sync(desktop)
    assert code == 0, err
    assert "conflict" not in err.lower(), err
    text = (desktop.vault / rel).read_text(encoding="utf-8")
    assert "PLLM-SYNC CONFLICT" not in text.upper()
    assert words.strip() in text, "the desktop's note has the whole text"
    z = [c for c in laptop.children(item_of(laptop, TWO)["key"]) if c["itemType"] == "note"]
    assert "Paragraph two with details." in z[0]["note"] and "CONFLICT" not in z[0]["note"]
    code, _, err = sync(laptop)
    assert code == 0 and "CONFLICT" not in (laptop.vault / rel).read_text(encoding="utf-8")
