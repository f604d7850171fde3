"""New notes written as one durable batch: invisible until committed, whole once visible,
never replacing a file, and a kill at any step leaves only whole notes or hidden temps."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pllm_sync import atomic
from pllm_sync.atomic import WriteBatch
from pllm_sync.errors import VaultError
from pllm_sync.model import Paper, PaperIds
from pllm_sync.record import record_from_paper
from pllm_sync.vault.store import VaultStore

from .vault_helpers import edit_in_same_tick, make_paper


def _papers(n: int) -> list[Paper]:
    return [make_paper(f"Paper {i}", ids=PaperIds(doi=f"10.9/p{i}")) for i in range(n)]


def test_batched_notes_appear_only_when_committed(store: VaultStore) -> None:
    scan = store.scan()
    store.begin_batch()
    infos = [store.create_note(p, record_from_paper(p)) for p in _papers(5)]
    assert not list(store.papers_dir.glob("*.md"))  # staged as hidden temps only
    assert store.commit_batch() == []  # nothing refused
    assert sorted(p.name for p in store.papers_dir.iterdir()) == sorted(
        i.path.rsplit("/", 1)[-1] for i in infos
    )
    for info in infos:
        st = (store.root / info.path).stat()
        assert (st.st_size, st.st_mtime_ns) == (info.size, info.mtime_ns)
    # What was written is in the scan's readings: the next scan parses none of it.
    again = store.scan(scan.stats)
    assert again.reread == 0
    assert {i.pllm_id for i in infos} == set(again.notes)
    assert all(again.notes[i.pllm_id or ""] == i for i in infos)


def test_a_note_staged_long_before_the_commit_is_trusted_a_just_staged_one_is_checked(
    store: VaultStore, monkeypatch: pytest.MonkeyPatch, hash_checks: list[str]
) -> None:
    """A note staged at least RACY_NS before its rename is trusted from its reading at once
    (any later change gives it a newer mtime), so the first sync after a long pull does not
    hash it again; a note staged just before the commit is still checked by content, so an
    edit in the same timestamp tick is seen."""
    from pllm_sync.vault import store as store_mod

    monkeypatch.setattr(store_mod, "RACY_NS", 300_000_000)  # 0.3 s
    scan = store.scan()
    early, late = _papers(2)
    store.begin_batch()
    a = store.create_note(early, record_from_paper(early))
    time.sleep(0.5)
    b = store.create_note(late, record_from_paper(late))
    assert store.commit_batch() == []
    assert scan.stats[a.path].trusted and not scan.stats[b.path].trusted
    quiet = store.scan(scan.stats)  # the early note's reading (ctime too) is taken as is
    assert quiet.reread == 0 and hash_checks == [str(store.root / b.path)]
    for info in (a, b):  # the same size, the same mtime: a content or ctime check sees it
        edit_in_same_tick(store.root / info.path, b"title: Paper", b"title: PAPER")
    again = store.scan(quiet.stats)
    assert again.notes[late.id].record["title"] == "PAPER 1"  # checked, and re-read
    assert again.notes[early.id].record["title"] == "PAPER 0"  # its ctime moved: re-read


def test_a_file_that_appears_meanwhile_is_kept(store: VaultStore) -> None:
    [paper] = _papers(1)
    store.scan()
    store.begin_batch()
    info = store.create_note(paper, record_from_paper(paper))
    users = store.root / info.path
    users.write_text("the user's own note\n", encoding="utf-8")
    store.commit_batch()
    assert users.read_text(encoding="utf-8") == "the user's own note\n"
    moved = store.scan().notes[paper.id]
    assert moved.path != info.path and moved.record["title"] == "Paper 0"


def test_a_discarded_batch_leaves_nothing(store: VaultStore) -> None:
    store.begin_batch()
    for p in _papers(3):
        store.create_note(p, record_from_paper(p))
    store.discard_batch()
    assert list(store.papers_dir.iterdir()) == []


# A child that stages five new notes and five replacements of existing ones, and is killed
# (os._exit, no clean-up) at one step: after staging, between a temp's write and its fsync
# (on a worker thread), after two links, after two renames, before the folder fsync, or
# after the commit but before the caller's own state commit.
CHILD = r"""
import os, sys
from pathlib import Path
from typing import Any
from pllm_sync import atomic
from pllm_sync import fsflush
folder, step, chunk = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
atomic.RENAME_FROM = int(sys.argv[4])  # 0: new files named by one renameat2 each
if sys.argv[5] == "syncfs":  # every temp written unflushed, one syncfs (a large batch's way)
    atomic.FLUSH_ONCE_FROM = 0
def die(*_a, **_k):
    os._exit(9)
def after_two(name):
    orig, seen = getattr(atomic, name), []
    def hook(tmp, path, *rest):
        if len(seen) == 2:
            os._exit(9)
        seen.append(path)
        return orig(tmp, path, *rest)
    setattr(atomic, name, hook)
if step == "fsync":  # temps written, none flushed: by an fsync each or by one syncfs
    atomic._fsync_fd = die
    fsflush.flush = die
elif step == "link":
    after_two("_link_new")
elif step == "replace":
    after_two("_replace")
elif step == "dirsync":
    atomic._fsync_dir = die
batch = atomic.WriteBatch(chunk=chunk)
for i in range(5):
    batch.add(folder / f"note {i}.md", (f"note {i}\n" * 200).encode())
    old = folder / f"old {i}.md"
    batch.add_replacement(old, (f"new {i}\n" * 300).encode(), old.stat())
if step == "staged":
    os._exit(9)
syncfs = []
real_flush = fsflush.flush
def counted(fd):
    syncfs.append(fd)
    real_flush(fd)
fsflush.flush = counted
batch.commit()
sys.stdout.write(f"syncfs calls: {len(syncfs)}")
sys.stdout.flush()
os._exit(9)  # killed before the caller's state commit
"""


STEPS = ["staged", "fsync", "link", "replace", "dirsync", "committed"]


@pytest.mark.parametrize("writes", ["fsync", "syncfs"])  # an fsync per temp, or one syncfs
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("rename_from", [0, 256])  # renameat2, or link + unlink, for new files
@pytest.mark.parametrize("chunk", [16, 3])  # all handed to the workers at commit; or while staging
def test_a_kill_at_any_step_leaves_whole_notes_or_none(
    tmp_path: Path,
    step: str,
    chunk: int,
    rename_from: int,
    writes: str,
    syncfs_here: Callable[[Path], bool],
) -> None:
    if writes == "syncfs" and not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    for i in range(5):
        (tmp_path / f"old {i}.md").write_text(f"old {i}\n" * 100)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), step, str(chunk), str(rename_from), writes],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 9, proc.stderr
    assert "Warning" not in proc.stderr
    if step == "committed":  # one syncfs for the one filesystem, or none at all
        assert proc.stdout == f"syncfs calls: {1 if writes == 'syncfs' else 0}"
    notes = sorted(tmp_path.glob("note *.md"))
    for p in notes:
        i = int(p.stem.split()[-1])
        assert p.read_text() == f"note {i}\n" * 200  # never a partial note
    # Files are linked or renamed in the order they were staged (note 0, old 0, note 1, ...).
    created = {"staged": 0, "fsync": 0, "link": 2, "replace": 3, "dirsync": 5, "committed": 5}
    replaced = {"staged": 0, "fsync": 0, "link": 2, "replace": 2, "dirsync": 5, "committed": 5}
    assert len(notes) == created[step]
    olds = [(tmp_path / f"old {i}.md").read_text() for i in range(5)]
    for i, text in enumerate(olds):  # each replaced file is the old or the new one, whole
        assert text in (f"old {i}\n" * 100, f"new {i}\n" * 300)
    assert sum(1 for i, text in enumerate(olds) if text.startswith("new")) == replaced[step]
    # Whatever is left besides the notes is hidden .tmp litter, which scans ignore.
    assert all(
        p.name.startswith(".") and p.name.endswith(".tmp")
        for p in tmp_path.iterdir()
        if p.suffix != ".md"
    )


def test_a_replacement_of_a_file_changed_meanwhile_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"as read")
    with WriteBatch() as batch:
        batch.add_replacement(target, b"ours", target.stat())
        target.write_bytes(b"the user's save")  # a different size: a different file
        result = batch.commit()
    assert result.refused == [target]
    assert target.read_bytes() == b"the user's save"
    assert os.listdir(tmp_path) == ["a.md"]


def test_a_replacement_keeps_the_mode_and_the_stat_it_promised(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    target.write_bytes(b"old")
    target.chmod(0o640)
    batch = WriteBatch()
    size, mtime_ns = batch.add_replacement(target, b"new text", target.stat())
    assert target.read_bytes() == b"old"  # nothing visible before the commit
    assert batch.commit().refused == []
    st = target.stat()
    assert target.read_bytes() == b"new text"
    assert (st.st_size, st.st_mtime_ns, st.st_mode & 0o777) == (size, mtime_ns, 0o640)


def test_batched_updates_land_at_commit_unless_the_user_saved_meanwhile(
    store: VaultStore,
) -> None:
    a, b = _papers(2)
    infos = [store.create_note(p, record_from_paper(p)) for p in (a, b)]
    scan = store.scan()
    store.begin_batch()
    new_a = store.update_note(scan.notes[a.id], {"status": "reading"})
    new_b = store.update_note(scan.notes[b.id], {"status": "reading"})
    assert new_a is not None and new_b is not None
    assert "status: reading" not in (store.root / infos[0].path).read_text(encoding="utf-8")
    users = store.root / infos[1].path
    users.write_text(users.read_text(encoding="utf-8") + "\nTyped meanwhile.\n", "utf-8")
    assert store.commit_batch() == [infos[1].path]  # b is the user's, as saved
    assert "status: reading" in (store.root / infos[0].path).read_text(encoding="utf-8")
    assert "status: reading" not in users.read_text(encoding="utf-8")
    assert "Typed meanwhile." in users.read_text(encoding="utf-8")
    st = (store.root / infos[0].path).stat()
    assert (st.st_size, st.st_mtime_ns) == (new_a.size, new_a.mtime_ns)
    again = store.scan(scan.stats)
    assert again.notes[a.id] == new_a  # entered as written: not parsed again
    assert again.notes[b.id].record["notes"].endswith("Typed meanwhile.")


def test_a_note_created_and_then_updated_in_one_batch_is_written_once(
    store: VaultStore,
) -> None:
    [paper] = _papers(1)
    store.scan()
    store.begin_batch()
    info = store.create_note(paper, record_from_paper(paper))
    flagged = store.update_note(info, {}, conflict_flag=True)
    assert flagged is not None
    assert store.commit_batch() == []
    assert [p.name for p in store.papers_dir.iterdir()] == [info.path.rsplit("/", 1)[-1]]
    assert "sync-conflict: true" in (store.root / info.path).read_text(encoding="utf-8")
    assert store.scan().notes[paper.id].conflict_flag


def test_a_batched_update_writes_through_a_symlinked_note(store: VaultStore) -> None:
    [paper] = _papers(1)
    info = store.create_note(paper, record_from_paper(paper))
    real = store.root / "elsewhere.md"
    os.replace(store.root / info.path, real)
    (store.root / info.path).symlink_to(real)
    note = store.read_note(info.path)
    store.begin_batch()
    assert store.update_note(note, {"status": "read"}) is not None
    assert store.commit_batch() == []
    assert (store.root / info.path).is_symlink()
    assert "status: read" in real.read_text(encoding="utf-8")


@pytest.mark.parametrize("rename_from", [0, 256])
def test_write_batch_never_replaces_a_file(
    tmp_path: Path, rename_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "RENAME_FROM", rename_from)
    target = tmp_path / "a.md"
    with WriteBatch() as batch:
        batch.add(target, b"ours")
        batch.add(tmp_path / "b.md", b"ours too")
        target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert (tmp_path / "b.md").read_bytes() == b"ours too"
    assert sorted(os.listdir(tmp_path)) == ["a.md", "b.md"]  # no temp left either way


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_a_large_batch_names_each_new_file_by_one_rename(tmp_path: Path) -> None:
    """A pull's batch: each new note gets its name by one rename that refuses to replace
    (not a link, then the temp's unlink), every note whole, no temp left, a name taken
    meanwhile refused."""
    calls: list[str | None] = []
    real = atomic._link_new

    def spy(tmp: str, path: str, rename: bool = False) -> str | None:
        calls.append(how := real(tmp, path, rename))
        return how

    n = atomic.RENAME_FROM
    batch = WriteBatch()
    for i in range(n):
        batch.add(tmp_path / f"n{i}.md", f"note {i}\n".encode())
    (tmp_path / "n7.md").write_bytes(b"the user's")
    try:
        atomic._link_new = spy
        assert batch.commit().taken == [tmp_path / "n7.md"]
    finally:
        atomic._link_new = real
    assert calls.count("renamed") == n - 1 and calls.count(None) == 1
    assert (tmp_path / "n7.md").read_bytes() == b"the user's"
    assert (tmp_path / "n200.md").read_bytes() == b"note 200\n"
    assert len(os.listdir(tmp_path)) == n


def test_a_file_staged_again_is_written_once_with_its_last_bytes(tmp_path: Path) -> None:
    """Files go to the workers a chunk at a time; one staged anew (its first bytes dropped)
    in a later chunk lands once, with the bytes staged last, and nothing else is left."""
    batch = WriteBatch(chunk=2)
    for i in range(5):
        batch.add(tmp_path / f"n{i}.md", f"first {i}".encode())
    batch.drop(tmp_path / "n1.md")
    batch.add(tmp_path / "n1.md", b"second 1")
    batch.drop(tmp_path / "n3.md")  # not written after all
    assert len(batch) == 4
    assert batch.commit().taken == []
    assert sorted(os.listdir(tmp_path)) == ["n0.md", "n1.md", "n2.md", "n4.md"]
    assert (tmp_path / "n1.md").read_bytes() == b"second 1"
    assert (tmp_path / "n4.md").read_bytes() == b"first 4"


def _fill(folder: Path, n: int, folders: int = 1, expect: int = 0) -> WriteBatch:
    batch = WriteBatch(chunk=16, expect=expect)
    for f in range(folders):
        (folder / f"d{f}").mkdir(exist_ok=True)
    for i in range(n):
        batch.add(folder / f"d{i % folders}" / f"n{i}.md", f"note {i}\n".encode())
    return batch


def test_a_large_batch_is_flushed_once_per_filesystem_not_once_per_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    syncfs_here: Callable[[Path], bool],
    count_flushes: Callable[[], dict[str, int]],
) -> None:
    """A pull's batch: the files staged from FLUSH_ONCE_FROM on are written without an
    fsync each, and one syncfs makes them all durable before any is named; every note is
    whole, in its folder, and no temp is left."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    counts = count_flushes()
    n = atomic.FLUSH_ONCE_FROM + 300
    batch = _fill(tmp_path, n, folders=3)
    assert batch.commit().taken == []
    # the chunks of 16 handed off before the batch was known to be large went to the
    # threads (an fsync each); the rest, over three folders of one filesystem: one syncfs
    assert counts == {"fsync": atomic.FLUSH_ONCE_FROM - 16, "syncfs": 1}
    names = sorted(p.name for d in tmp_path.iterdir() for p in d.iterdir())
    assert names == sorted(f"n{i}.md" for i in range(n))
    assert (tmp_path / "d2" / "n500.md").read_bytes() == b"note 500\n"


def test_a_batch_known_to_be_large_fsyncs_no_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    syncfs_here: Callable[[Path], bool],
    count_flushes: Callable[[], dict[str, int]],
) -> None:
    """A pull knows how many notes it writes: its batch is a large one from the first file
    (one syncfs, no fsync per file), and every note is whole, with no temp left."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    counts = count_flushes()
    n = atomic.FLUSH_ONCE_FROM + 20
    assert _fill(tmp_path, n, folders=2, expect=n).commit().taken == []
    assert counts == {"fsync": 0, "syncfs": 1}
    names = sorted(p.name for d in tmp_path.iterdir() for p in d.iterdir())
    assert names == sorted(f"n{i}.md" for i in range(n))
    assert (tmp_path / "d1" / "n7.md").read_bytes() == b"note 7\n"


def test_a_failed_flush_names_nothing_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs_here: Callable[[Path], bool]
) -> None:
    """The disk reports a lost write-back (an I/O error, a full thin volume) at the flush:
    the commit says where and what to check, and no note of the batch appears."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    from pllm_sync import fsflush

    def lost(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fsflush, "flush", lost)
    batch = _fill(tmp_path, atomic.FLUSH_ONCE_FROM + 10)
    with pytest.raises(VaultError, match="Input/output error") as err:
        batch.commit()
    assert str(tmp_path / "d0") in str(err.value)
    assert "disk" in (err.value.hint or "")
    assert list((tmp_path / "d0").iterdir()) == []


@pytest.mark.parametrize("why", ["fuse", "old kernel"])
def test_where_one_flush_is_not_enough_each_file_is_fsynced(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    why: str,
    count_flushes: Callable[[], dict[str, int]],
) -> None:
    """On a filesystem whose syncfs may not reach the disk (FUSE, a network share), or a
    kernel whose syncfs hides write-back or flush errors (before 5.17), a large batch fsyncs every
    file as a small one does; nothing is lost either way."""
    from pllm_sync import fsflush

    if why == "fuse":
        monkeypatch.setattr(fsflush, "fs_type", lambda dev: "fuse.sshfs")
    else:
        monkeypatch.setattr(fsflush, "_kernel", lambda: (5, 4))
    counts = count_flushes()
    n = atomic.FLUSH_ONCE_FROM + 50
    assert _fill(tmp_path, n).commit().taken == []
    assert counts == {"fsync": n, "syncfs": 0}
    assert len(list((tmp_path / "d0").iterdir())) == n


def test_fs_type_reads_the_mount_table(tmp_path: Path) -> None:
    """The filesystem of a folder, as the mount table names it (what decides the flush)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the mount table is Linux's")
    from pllm_sync import fsflush

    kind = fsflush.fs_type(os.stat(tmp_path).st_dev)
    mounts = Path("/proc/self/mountinfo").read_text()
    assert kind is None or f" - {kind} " in mounts
    assert fsflush.fs_type(os.makedev(4095, 1048575)) is None  # no such device


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_each_folder_is_opened_for_the_flush_before_its_first_unflushed_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs_here: Callable[[Path], bool]
) -> None:
    """syncfs reports write-back errors raised since its descriptor was opened: each folder
    is opened before the first temp written there without an fsync, and every descriptor
    is closed again by the commit (and by a discard)."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    from pllm_sync import fsflush

    events: list[tuple[str, str]] = []
    real_open, real_write = fsflush.open_for_flush, atomic._write_temp

    def opened(folder: str, types: Any = None) -> tuple[int, int] | None:
        events.append(("open", folder))
        return real_open(folder, types)

    def written(path: str, *a: Any, sync: bool = True, **k: Any) -> tuple[str, bool]:
        if not sync:
            events.append(("write", os.path.dirname(path)))
        return real_write(path, *a, sync=sync, **k)

    monkeypatch.setattr(fsflush, "open_for_flush", opened)
    monkeypatch.setattr(atomic, "_write_temp", written)
    before = _open_fds()
    assert _fill(tmp_path, atomic.FLUSH_ONCE_FROM + 40, folders=2).commit().taken == []
    for folder in {f for kind, f in events if kind == "write"}:
        assert events.index(("open", folder)) < events.index(("write", folder))
    assert _open_fds() == before
    batch = _fill(tmp_path / "d0", atomic.FLUSH_ONCE_FROM + 10)
    batch.discard()
    assert _open_fds() == before


def test_a_batch_over_a_flushed_and_a_fallback_folder_writes_both_durably(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    syncfs_here: Callable[[Path], bool],
    count_flushes: Callable[[], dict[str, int]],
) -> None:
    """One folder's filesystem is flushed by one syncfs, the other's is not (a FUSE mount
    inside the vault, say): the first folder's late files get no fsync each, the second's
    get one each, and every file lands."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    from pllm_sync import fsflush

    real_open = fsflush.open_for_flush
    monkeypatch.setattr(
        fsflush,
        "open_for_flush",
        lambda f, types=None: None if f.endswith("d1") else real_open(f, types),
    )
    counts = count_flushes()
    n = atomic.FLUSH_ONCE_FROM + 64
    assert _fill(tmp_path, n, folders=2).commit().taken == []
    late_d1 = sum(1 for i in range(atomic.FLUSH_ONCE_FROM - 16, n) if i % 2 == 1)
    assert counts == {"fsync": atomic.FLUSH_ONCE_FROM - 16 + late_d1, "syncfs": 1}
    assert len(list((tmp_path / "d0").iterdir())) + len(list((tmp_path / "d1").iterdir())) == n


def test_a_temp_that_cannot_be_written_fails_the_commit_and_names_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A temp the caller writes itself fails (the disk is full): the commit raises with a
    next step, no note of the batch is named, and no temp is left."""
    real = atomic._write_temp
    calls: list[int] = []

    def full(path: str, *a: Any, sync: bool = True, **k: Any) -> tuple[str, bool]:
        calls.append(1)
        if len(calls) == atomic.FLUSH_ONCE_FROM + 5:
            raise OSError(28, "No space left on device")
        return real(path, *a, sync=sync, **k)

    monkeypatch.setattr(atomic, "_write_temp", full)
    batch = _fill(tmp_path, atomic.FLUSH_ONCE_FROM + 20)
    with pytest.raises(VaultError, match="No space left") as err:
        batch.commit()
    assert "disk is not full" in (err.value.hint or "")
    assert list((tmp_path / "d0").iterdir()) == []


def test_an_interrupt_while_the_caller_writes_temps_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs_here: Callable[[Path], bool]
) -> None:
    """Ctrl-C while a large batch's temps are being written by the caller: a commit after
    it (a caller that goes on anyway) raises the interrupt again instead of naming files
    whose temps were never written, and nothing of the batch is left on disk."""
    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    real = atomic._write_temp
    calls: list[int] = []

    def interrupted(path: str, *a: Any, sync: bool = True, **k: Any) -> tuple[str, bool]:
        if not sync:
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
        return real(path, *a, sync=sync, **k)

    monkeypatch.setattr(atomic, "_write_temp", interrupted)
    (tmp_path / "d0").mkdir()
    batch = WriteBatch(chunk=16)
    with pytest.raises(KeyboardInterrupt):
        for i in range(atomic.FLUSH_ONCE_FROM + 32):
            batch.add(tmp_path / "d0" / f"n{i}.md", b"note")
    with pytest.raises(KeyboardInterrupt):
        batch.commit()
    assert list((tmp_path / "d0").iterdir()) == []


def test_notes_whose_commit_was_refused_or_moved_are_not_trusted(
    store: VaultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged long before the commit, but not written as staged: a note whose name a user
    took meanwhile (it goes elsewhere) and an update refused because the user saved the
    file during the run keep no trusted reading of what is not on disk."""
    from pllm_sync.vault import store as store_mod

    monkeypatch.setattr(store_mod, "RACY_NS", 100_000_000)  # 0.1 s
    [paper, other] = _papers(2)
    existing = store.create_note(other, record_from_paper(other))
    scan = store.scan()
    store.begin_batch()
    new = store.create_note(paper, record_from_paper(paper))
    note = scan.notes[other.id]
    updated = store.update_note(note, {"status": "read"})
    assert updated is not None
    (store.root / new.path).write_text("the user's file\n", encoding="utf-8")  # name taken
    saved = store.root / existing.path
    saved.write_text(saved.read_text(encoding="utf-8") + "\nmy words\n", encoding="utf-8")
    time.sleep(0.3)
    assert store.commit_batch() == [existing.path]
    for rel in (new.path, existing.path):
        stat = scan.stats.get(rel)
        assert stat is None or not stat.trusted
    again = store.scan(scan.stats)
    assert "my words" in saved.read_text(encoding="utf-8")
    assert again.notes[paper.id].path != new.path  # found under its new name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_ctrl_c_while_the_flush_waits_stops_the_commit_before_any_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs_here: Callable[[Path], bool]
) -> None:
    """syncfs waits for every program's unwritten data on the filesystem (a large copy to
    the same disk: minutes): a Ctrl-C meanwhile stops the commit while the flush is still
    running (it runs on a thread of its own), and no note of the batch is named."""
    import signal
    import threading

    if not syncfs_here(tmp_path):
        pytest.skip("this filesystem (or kernel) is not flushed by one syncfs")
    from pllm_sync import fsflush

    release, finished = threading.Event(), threading.Event()

    def slow(fd: int) -> int:
        # as a system call does: the thread making it runs no Python signal handler
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        os.kill(os.getpid(), signal.SIGINT)  # the Ctrl-C, while the flush waits
        release.wait(60)
        finished.set()
        return 0

    batch = _fill(tmp_path, atomic.FLUSH_ONCE_FROM + 10)
    monkeypatch.setattr(fsflush, "_syncfs_call", lambda: slow)
    # Python's own Ctrl-C: a suite run as a background job has SIGINT ignored (the fresh-
    # clone CI, started with `&`, failed here), and an earlier test may have left another
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            batch.commit()
        assert not finished.is_set()  # stopped while the flush was still waiting
    finally:
        release.set()
        signal.signal(signal.SIGINT, before)
    assert list((tmp_path / "d0").iterdir()) == []
