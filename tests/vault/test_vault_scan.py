"""Scanning: notes found wherever users put them, litter ignored, bad YAML reported and left
alone, and unchanged notes never opened twice."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pllm_sync.config import VaultConfig
from pllm_sync.errors import VaultError
from pllm_sync.model import PaperIds, Section
from pllm_sync.record import record_from_paper
from pllm_sync.vault.store import NoteStat, VaultScan, VaultStore

from .conftest import Age
from .vault_helpers import ROOT, edit_in_same_tick, lamp, make_paper


def _note(store: VaultStore, age: Age, title: str = "LaMP") -> tuple[str, Path]:
    paper = lamp() if title == "LaMP" else make_paper(title, ids=PaperIds(doi=f"10.9/{title}"))
    info = store.create_note(paper, record_from_paper(paper))
    path = store.root / info.path
    age(path)
    return paper.id, path


def test_moved_and_renamed_note_is_found_by_id(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    before = store.scan().notes[pid]
    dest = store.root / "Reading" / "2024" / "the LaMP paper.md"
    dest.parent.mkdir(parents=True)
    os.rename(path, dest)
    after = store.scan().notes[pid]
    assert after.path == "Reading/2024/the LaMP paper.md"
    assert after.record == before.record


def test_litter_and_hidden_folders_are_ignored(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    litter = [
        ".obsidian/plugins/x/copy.md",
        ".trash/LaMP.md",
        ".pllm-sync-trash/Papers/LaMP.md",
        "Papers/LaMP.sync-conflict-20240101-120000-ABCDEFG.md",
        "Papers/LaMP (conflicted copy 2024-01-01).md",
        "Papers/~$LaMP.md",
        "Papers/.#LaMP.md",
        "Papers/.LaMP.md.abc123.tmp",
        "Papers/LaMP.md~",
        "Papers/.hidden.md",
    ]
    for rel in litter:
        target = store.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (store.root / "Papers" / "link.md").symlink_to(path)
    scan = store.scan()
    assert list(scan.notes) == [pid]
    assert scan.duplicates == {} and scan.problems == []
    assert set(scan.stats) == {store._rel(path)}


def test_invalid_yaml_is_reported_with_its_line_and_left_untouched(
    store: VaultStore, age: Age
) -> None:
    pid, _good = _note(store, age)
    bad = store.papers_dir / "broken.md"
    bad.write_bytes(
        b"---\npllm-sync-id: doi:10.1/x\ntitle: ok\ntags: [a, b\nyear: 2024\n---\nbody\n"
    )
    age(bad)
    data, mtime = bad.read_bytes(), bad.stat().st_mtime_ns
    scan = store.scan()
    assert list(scan.notes) == [pid]
    [problem] = scan.problems
    assert problem.path == "Papers/broken.md"
    assert problem.line in (4, 5)  # the unclosed "[" on line 4, noticed on line 5
    assert "line 4" in problem.message
    assert bad.read_bytes() == data and bad.stat().st_mtime_ns == mtime
    # A problem is reported again from the cache, without re-reading.
    again = store.scan(scan.stats)
    assert again.problems == scan.problems and again.reread == 0


def test_unchanged_notes_are_not_reread(
    store: VaultStore, age: Age, hash_checks: list[str]
) -> None:
    pid, path = _note(store, age)
    first = store.scan()
    assert first.reread == 1
    cached = first.notes[pid]
    opened = hash_checks
    # Untouched: the cached reading, without opening the file (no parse, no hash check).
    second = store.scan(first.stats)
    assert second.reread == 0 and opened == []
    assert second.notes[pid] == cached
    # Garbage of the same size with the mtime put back (``touch -r``, ``cp -p``, a restore
    # from backup): the ctime moved, so the bytes are checked, and the change is seen.
    st = path.stat()
    path.write_bytes(b"x" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = store.scan(second.stats)
    assert third.reread == 1 and len(opened) == 1
    assert pid not in third.notes


def test_a_moved_ctime_with_the_same_bytes_is_trusted_after_one_hash_check(
    store: VaultStore, age: Age
) -> None:
    """A file whose inode changed but whose bytes did not (a ``chmod``, a sync client
    setting an attribute) is checked by its hash once, not parsed, and trusted again."""
    pid, path = _note(store, age)
    first = store.scan()
    os.chmod(path, 0o600)
    second = store.scan(first.stats)
    assert second.reread == 0 and second.notes[pid] == first.notes[pid]
    upserts, gone = second.cache_changes()
    assert list(upserts) == [store._rel(path)] and not gone  # its new ctime is kept
    third = store.scan(second.stats)
    assert third.cache_changes() == ({}, [])  # and then trusted as before


def test_a_write_refused_for_an_unseen_edit_drops_the_reading(store: VaultStore, age: Age) -> None:
    """Where nothing in the stat shows an edit (a filesystem whose ctime does not move),
    the write's own hash check refuses it; the scan's reading is then dropped, so the
    next scan reads the edit, and the note is not refused at every run after."""
    pid, path = _note(store, age)
    first = store.scan()
    rel = store._rel(path)
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(b'title: "LaMP', b'title: "LAMP'))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    # the reading as such a filesystem would leave it: every stat field as read
    first.stats[rel] = replace(first.stats[rel], ctime_ns=path.stat().st_ctime_ns)
    blind = store.scan(first.stats)
    assert blind.reread == 0  # the edit is not seen...
    with pytest.raises(VaultError, match="changed on disk since it was scanned"):
        store.update_note(blind.notes[pid], {"status": "read"})  # ...until a write checks
    assert rel not in blind.stats
    again = store.scan(blind.stats)
    assert again.reread == 1 and again.notes[pid].record["title"].startswith("LAMP")
    assert store.update_note(again.notes[pid], {"status": "read"}) is not None


def test_changed_notes_are_reread(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    first = store.scan()
    path.write_bytes(path.read_bytes().replace(b"status:\n", b"status: read\n"))
    second = store.scan(first.stats)
    assert second.reread == 1
    assert second.notes[pid].record["status"] == "read"


def test_just_modified_files_are_checked_by_content(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))  # mtime: now
    first = store.scan()
    assert not next(iter(first.stats.values())).trusted
    # The same bytes: the cached reading is used after a hash check, without a parse.
    second = store.scan(first.stats)
    assert second.reread == 0 and second.notes[paper.id] == first.notes[paper.id]
    # An edit in the same timestamp tick (same size, same mtime) is still seen.
    edit_in_same_tick(store.root / info.path, b'title: "LaMP', b'title: "LAMP')
    third = store.scan(first.stats)
    assert third.reread == 1
    assert third.notes[paper.id].record["title"].startswith("LAMP")


def test_notes_written_after_a_scan_enter_its_readings(store: VaultStore) -> None:
    """What pllm-sync writes is known to the scan cache at once: the next scan neither
    parses it again nor misses it."""
    scan = store.scan()
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    assert scan.stats[info.path].pllm_id == paper.id
    assert scan.stats[info.path].sha256 == info.sha256
    second = store.scan(scan.stats)
    assert second.reread == 0 and second.notes[paper.id] == info

    updated = store.update_note(second.notes[paper.id], {"status": "read"})
    assert updated is not None
    assert second.stats[info.path].sha256 == updated.sha256
    third = store.scan(second.stats)
    assert third.reread == 0
    assert third.notes[paper.id].record["status"] == "read"

    store.trash_note(third.notes[paper.id])
    assert info.path not in third.stats


def test_stats_survive_json(store: VaultStore, age: Age) -> None:
    pid, _ = _note(store, age)
    first = store.scan()
    persisted = json.loads(json.dumps({k: v.to_json() for k, v in first.stats.items()}))
    restored = {k: NoteStat.from_json(v) for k, v in persisted.items()}
    second = store.scan(restored)
    assert second.reread == 0
    assert second.notes[pid] == first.notes[pid]


def test_duplicate_ids_are_reported_and_the_first_path_wins(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    copy = store.root / "Archive" / "copy.md"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    scan = store.scan()
    assert scan.duplicates == {pid: ["Archive/copy.md", store._rel(path)]}
    assert scan.notes[pid].path == "Archive/copy.md"


def test_section_links_in_any_form_map_back_to_keys(store: VaultStore, age: Age) -> None:
    root = Section(ROOT[0], "awesome", ROOT)
    child = root.child("1. Survey / Tutorial")
    paper = make_paper("Survey paper", sections=(child.path,), ids=PaperIds(doi="10.2/s"))
    info = store.create_note(paper, record_from_paper(paper))
    store.write_index_notes({"jiahongliu21": root}, {child.path: [info.name]})
    key = "Awesome PLLMs / 1. Survey / Tutorial"
    assert store.scan().notes[paper.id].record["sections"] == {key}
    # A fresh store (new process) learns the mapping from the index notes on disk, and
    # understands the forms a user may type.
    fresh = VaultStore(VaultConfig(path=store.root))
    path = store.root / info.path
    for form in (
        "[[1. Survey - Tutorial]]",
        "[[Sections/Awesome PLLMs/1. Survey - Tutorial.md|whatever]]",
        "Awesome PLLMs / 1. Survey / Tutorial",
    ):
        text = path.read_text()
        start = text.index("sections:\n") + len("sections:\n")
        end = text.index("tags:")
        path.write_text(text[:start] + f"  - {json.dumps(form)}\n" + text[end:])
        assert fresh.scan().notes[paper.id].record["sections"] == {key}, form


def test_scan_of_a_missing_vault_says_what_to_do(tmp_path: Path) -> None:
    store = VaultStore(VaultConfig(path=tmp_path / "nope"))
    with pytest.raises(VaultError, match="vault init"):
        store.scan()


def test_cached_stats_with_plain_lists_still_give_canonical_records(
    store: VaultStore, age: Age
) -> None:
    pid, _ = _note(store, age)
    first = store.scan()
    # A cache that went through plain JSON (sets and tuples became lists).
    plain = {k: NoteStat(**json.loads(json.dumps(v.to_json()))) for k, v in first.stats.items()}
    second = store.scan(plain)
    assert second.reread == 0 and second.notes[pid] == first.notes[pid]


def test_a_scan_that_found_nothing_new_has_no_cache_changes(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    other_id, other = _note(store, age, title="Other")
    first = store.scan()
    assert set(first.cache_changes()[0]) == {store._rel(path), store._rel(other)}
    second = store.scan(first.stats)
    assert second.cache_changes() == ({}, [])
    # Only what changed is to be saved: an edited note, a deleted one, a written one.
    path.write_bytes(path.read_bytes().replace(b"status:\n", b"status: read\n"))
    other.unlink()
    third = store.scan(second.stats)
    written = store.create_note(make_paper("New", ids=PaperIds(doi="10.9/new")), {})
    upserts, gone = third.cache_changes(cached=["Papers/stale row.md"])
    assert set(upserts) == {store._rel(path), written.path}
    assert gone == sorted([store._rel(other), "Papers/stale row.md"])
    assert other_id not in third.notes and pid in third.notes


def test_a_view_first_read_after_its_note_changed_is_the_scans_reading(
    store: VaultStore, age: Age
) -> None:
    """Views are built when first read: one read after the note changed (the user saved it,
    or pllm-sync wrote it through another reading) still holds what the scan read, with
    the hash it was read with, so a write through it is refused, never made over the edit."""
    pid, path = _note(store, age)
    rel = store._rel(path)
    scan = store.scan(store.scan().stats)  # warm: the reading comes from the cache
    assert scan.reread == 0
    scanned = scan.stats[rel]
    written = store.update_note(store.read_note(rel), {"status": "read"})  # before any view
    assert written is not None and scan.stats[rel].sha256 == written.sha256
    path.write_bytes(path.read_bytes().replace(b"status: read\n", b"status: skimmed\n"))

    view = scan.notes[pid]
    assert (view.sha256, view.size, view.mtime_ns) == (
        scanned.sha256,
        scanned.size,
        scanned.mtime_ns,
    )
    assert view.record["status"] is None
    with pytest.raises(VaultError, match="changed on disk since it was scanned"):
        store.update_note(view, {"status": "done"})
    assert b"status: skimmed\n" in path.read_bytes()
    assert store.scan(scan.stats).notes[pid].record["status"] == "skimmed"


def test_notes_problems_and_hand_added_notes_come_in_path_order(
    store: VaultStore, age: Age
) -> None:
    """The walk lists folders in the file system's order; what the scan hands on is in
    path order, as a sync's output and its choice among duplicates depend on it."""
    ids = []
    for n, folder in enumerate(["b", "a/z", "a", "c", "a b", "Papers"]):
        pid, path = _note(store, age, title=f"T{n}")
        dest = store.root / folder / f"x{n}.md"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, dest)
        ids.append((store._rel(dest), pid))
        (dest.parent / f"bad{n}.md").write_bytes(b"---\npllm-sync-id: doi:10.1/x\nt: [\n---\n")
        (store.papers_dir / f"Hand {n}.md").write_text(f"---\ndoi: 10.5/h{n}\n---\n")
    for scan in (store.scan(), store.scan(store.scan().stats)):
        one = scan.notes[ids[2][1]]  # a view read first, by itself
        assert [(pid, v.path) for pid, v in scan.notes.items()] == [(p, r) for r, p in sorted(ids)]
        assert list(scan.notes) == [pid for _, pid in sorted(ids)]
        assert [scan.notes[pid].path for pid in scan.notes] == sorted(rel for rel, _ in ids)
        assert scan.notes[ids[2][1]] is one and list(scan.notes.values()).count(one) == 1
        problems = [p.path for p in scan.problems]
        assert problems == sorted(problems) and len(problems) == 6
        hand = [n.path for n in scan.new_notes]
        assert hand == sorted(hand) and len(hand) == 6


def _replace_with_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("x")


def _replace_with_inside_link(path: Path) -> None:
    target = path.parent.parent / "elsewhere.txt"
    target.write_text("x")
    path.unlink()
    path.symlink_to(target)


def _replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.parametrize(
    "change",
    [_replace_with_dir, _replace_with_inside_link, _replace_with_fifo, Path.unlink],
)
def test_a_warm_scan_misses_no_note_that_stopped_being_one(
    store: VaultStore, age: Age, change: Callable[[Path], None]
) -> None:
    pid, path = _note(store, age)
    first = store.scan()
    change(path)
    second = store.scan(first.stats)
    assert pid not in second.notes and store._rel(path) not in second.stats
    assert second.cache_changes()[1] == [store._rel(path)]


def test_a_warm_scan_sees_every_edit_move_and_copy(store: VaultStore, age: Age) -> None:
    pid, path = _note(store, age)
    cache = store.scan().stats

    def rescan() -> VaultScan:
        nonlocal cache
        scan = store.scan(cache)
        cache = scan.stats
        return scan

    # the same size, another time: read again
    data = path.read_bytes()
    path.write_bytes(data.replace(b"status:\n", b"status:\n", 1).replace(b'"LaMP', b'"LAMP', 1))
    age(path)
    scan = rescan()
    assert scan.reread == 1 and scan.notes[pid].record["title"].startswith("LAMP")
    # renamed, then moved into a new folder, then that folder vanishes with the note
    for dest in (path.with_name("renamed.md"), store.root / "Read" / "2024" / "renamed.md"):
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, dest)
        path = dest
        assert rescan().notes[pid].path == store._rel(dest)
    copy = store.papers_dir / "copy.md"
    shutil.copy2(path, copy)
    scan = rescan()
    assert scan.duplicates == {pid: ["Papers/copy.md", store._rel(path)]}
    copy.unlink()
    shutil.rmtree(store.root / "Read")
    scan = rescan()
    assert pid not in scan.notes and scan.stats == {}


def test_a_paper_notes_stat_is_what_replace_gives(tmp_path: Path) -> None:
    """``_stat_of`` builds a paper note's ``NoteStat`` positionally (cheaper than
    ``dataclasses.replace``): it must give what ``replace`` gives, whatever the base holds."""
    from dataclasses import replace

    from pllm_sync.vault import note as note_mod

    store = VaultStore(VaultConfig(path=tmp_path))
    paper = make_paper()
    data, parsed, _stem = store.render_new_note(paper, record_from_paper(paper), zotero_key="K")
    parsed = note_mod.parse_note(data.decode())
    base = NoteStat(1, 2, "h", "other", section_key="s", line=3, problem="p", trusted=False)
    got = store._stat_of("Papers/x.md", parsed, base, True)
    assert got == replace(
        base,
        kind="paper",
        pllm_id=parsed.pllm_id,
        record=parsed.raw,
        zotero_key=parsed.zotero_key,
        conflict_flag=parsed.conflict_flag,
    )


@pytest.mark.parametrize(
    ("ctime", "flags", "same"),
    [
        (5, None, True),  # as read
        (6, None, False),  # moved, where there are no file flags (Linux)
        (6, 0, False),  # moved, a file with its bytes here (macOS)
        (6, 0x40000000, True),  # moved by an eviction to the cloud: not read (a download)
        (6, 0x40000000 | 0x20, True),
    ],
)
def test_a_ctime_moved_by_an_eviction_to_the_cloud_is_not_a_change(
    ctime: int, flags: int | None, same: bool
) -> None:
    """On macOS, iCloud Drive or Dropbox evicting a note ("Optimize Mac Storage") changes
    its flags, so its ctime; checking its hash would download it (or fail offline). Not
    verified on a Mac here: the rule is read off the flag's definition in ``sys/stat.h``."""
    from types import SimpleNamespace
    from typing import cast

    from pllm_sync.vault.store import _same_ctime

    st = (
        SimpleNamespace(st_ctime_ns=ctime)
        if flags is None
        else SimpleNamespace(st_ctime_ns=ctime, st_flags=flags)
    )
    assert _same_ctime(cast(os.stat_result, st), 5) is same
