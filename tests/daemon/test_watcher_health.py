"""When the vault watcher's events can be trusted (``VaultWatch``): the idle daemon walks the
vault only when they cannot, so every way of losing events must be noticed and scanned for."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pllm_sync.daemon.watcher import VaultSignal, VaultWatch, remote_filesystem


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_a_running_watcher_is_trusted_and_hears_edits(tmp_path: Path) -> None:
    sig = VaultSignal(str(tmp_path))
    watch = VaultWatch(str(tmp_path), sig).start()
    try:
        assert watch.healthy and watch.check() and watch.healthy
        (tmp_path / "a.md").write_text("x")
        wait_for(lambda: "a.md" in sig.paths)
        assert watch.check() and watch.restarts == 0
    finally:
        watch.stop()


def test_a_replaced_vault_root_is_scanned_once_and_watched_again(tmp_path: Path) -> None:
    """A sync tool (or a drive that went away and came back) puts a new folder where the
    vault was: the old watches see nothing of it, so the daemon must scan and re-watch."""
    root = tmp_path / "vault"
    root.mkdir()
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        fresh = tmp_path / "vault.new"
        fresh.mkdir()
        (fresh / "note.md").write_text("edited elsewhere")
        os.replace(root, tmp_path / "vault.old")
        os.replace(fresh, root)
        assert not watch.healthy
        assert not watch.check(), "a replaced root asks for a full scan"
        assert watch.check() and watch.healthy and watch.restarts == 1
        sig.take_changes(0)
        (root / "later.md").write_text("x")  # the new root's edits arrive as events
        wait_for(lambda: "later.md" in sig.paths)
    finally:
        watch.stop()


def test_a_vault_that_goes_away_is_untrusted_until_it_is_back(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    watch = VaultWatch(str(root), VaultSignal(str(root))).start()
    try:
        shutil.move(str(root), tmp_path / "away")
        wait_for(lambda: not watch.healthy)
        assert not watch.check(), "noticed once"
        assert watch.check() and not watch.healthy, "no scan per tick while it is away"
        shutil.move(str(tmp_path / "away"), root)
        assert not watch.check(), "back: scanned once"
        assert watch.check() and watch.healthy
    finally:
        watch.stop()


def test_dropped_events_untrust_the_watcher_until_scanned(tmp_path: Path) -> None:
    """watchdog says that the kernel dropped events only in its log."""
    watch = VaultWatch(str(tmp_path), VaultSignal(str(tmp_path))).start()
    try:
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        assert not watch.healthy
        assert not watch.check()
        assert watch.check() and watch.healthy
    finally:
        watch.stop()


MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /mnt/share nfs4 rw 0 0
//nas/notes /media/my\\040notes cifs rw 0 0
sshfs#me@host: /home/me/remote fuse.sshfs rw 0 0
/dev/sdb1 /mnt/share/local ext4 rw 0 0
"""


def test_a_vault_on_a_network_filesystem_is_never_trusted_alone() -> None:
    """Edits made on another machine raise no local event: keep the periodic walk there."""
    remote = ("/mnt/share/Vault", "/media/my notes/v", "/home/me/remote/vault", "/mnt/share")
    for root in remote:
        assert remote_filesystem(root, MOUNTS), root
    for root in ("/home/me/Vault", "/mnt/share/local/Vault", "/mnt/shared"):
        assert not remote_filesystem(root, MOUNTS), root


def test_the_local_temp_folder_is_trusted(tmp_path: Path) -> None:
    watch = VaultWatch(str(tmp_path), VaultSignal(str(tmp_path))).start()
    try:
        assert watch.healthy == (not remote_filesystem(str(tmp_path)))
    finally:
        watch.stop()


def test_edits_in_a_folder_linked_into_the_vault_arrive_under_the_link(tmp_path: Path) -> None:
    """A symlinked ``Papers/`` (a folder kept in a cloud drive) is read as part of the vault;
    inotify does not follow the link, so its edits once gave no event at all and the daemon,
    trusting its watcher, missed them until its periodic full pass."""
    root, elsewhere = tmp_path / "vault", tmp_path / "Dropbox" / "Papers"
    root.mkdir()
    elsewhere.mkdir(parents=True)
    (elsewhere / "old.md").write_text("x")
    (root / "Papers").symlink_to(elsewhere, target_is_directory=True)
    (root / "Inside").mkdir()
    (root / "Again").symlink_to(root / "Inside", target_is_directory=True)  # read at its place
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        assert watch.healthy
        (elsewhere / "old.md").write_text("edited in the linked folder")
        wait_for(lambda: "Papers/old.md" in sig.paths)
        (root / "Inside" / "in.md").write_text("y")
        wait_for(lambda: "Inside/in.md" in sig.paths)
        assert not any(p.startswith(str(tmp_path)) for p in sig.paths), sig.paths
        assert not any(p.startswith("Again/") for p in sig.paths), sig.paths
    finally:
        watch.stop()


def test_a_folder_linked_in_while_watching_is_scanned_and_then_watched(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "vault", tmp_path / "Cloud" / "Reading"
    root.mkdir()
    elsewhere.mkdir(parents=True)
    (elsewhere / "there.md").write_text("x")
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        (root / "Reading").symlink_to(elsewhere, target_is_directory=True)
        wait_for(lambda: sig.full)  # its notes are new: a full pass reads them
        sig.take_changes(0)
        assert watch.check()  # the loop's check before that pass watches the folder
        (elsewhere / "there.md").write_text("edited")
        wait_for(lambda: "Reading/there.md" in sig.paths)
        assert watch.check() and watch.healthy
    finally:
        watch.stop()


def test_a_linked_folder_that_cannot_be_watched_leaves_the_vaults_own_watch_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A linked folder the kernel refuses to watch (its watch limit reached by a big
    linked tree) once failed the whole watcher, which every check then restarted, leaking
    a thread and handles each time while the vault's own edits went unheard. Now only
    trust is lost (the daemon walks the vault on its polls)."""
    import errno
    import threading

    from watchdog.observers import inotify

    root, big = tmp_path / "vault", tmp_path / "Zotero" / "storage"
    root.mkdir()
    big.mkdir(parents=True)
    (root / "Attachments").symlink_to(big, target_is_directory=True)
    start = inotify.InotifyEmitter.on_thread_start

    def limited(emitter: inotify.InotifyEmitter) -> None:
        if os.path.realpath(emitter.watch.path) == str(big):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        start(emitter)

    monkeypatch.setattr(inotify.InotifyEmitter, "on_thread_start", limited)
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        threads, handles = threading.active_count(), len(os.listdir("/proc/self/fd"))
        assert not watch.healthy, "a folder of the vault gives no events: not trusted"
        assert all(watch.check() for _ in range(3)) and watch.restarts == 0
        assert threading.active_count() == threads, "no watcher thread leaked"
        assert len(os.listdir("/proc/self/fd")) == handles, "no inotify handle leaked"
        (root / "a.md").write_text("x")
        wait_for(lambda: "a.md" in sig.paths)
    finally:
        watch.stop()


def test_a_link_re_pointed_by_a_rename_is_scanned_and_its_new_folder_watched(
    tmp_path: Path,
) -> None:
    """``ln -s new tmp; mv -T tmp Papers`` re-points a linked folder in one rename: an event
    of a move, not a creation, which the watcher once let pass unwatched."""
    root, first, second = tmp_path / "vault", tmp_path / "A", tmp_path / "B"
    for d in (root, first, second):
        d.mkdir()
    (root / "Papers").symlink_to(first, target_is_directory=True)
    (second / "there.md").write_text("x")
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        (root / ".Papers.new").symlink_to(second, target_is_directory=True)
        os.replace(root / ".Papers.new", root / "Papers")
        wait_for(lambda: sig.full)
        sig.take_changes(0)
        assert watch.check()
        (second / "there.md").write_text("edited")
        wait_for(lambda: "Papers/there.md" in sig.paths)
        sig.take_changes(0)
        (first / "left.md").write_text("in the folder no longer linked")
        (second / "marker.md").write_text("y")
        wait_for(lambda: "Papers/marker.md" in sig.paths)
        assert "Papers/left.md" not in sig.paths, "the old folder's events are not the vault's"
    finally:
        watch.stop()


def test_an_unlinked_folder_is_scanned_and_no_longer_heard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the link to a folder kept elsewhere takes its notes out of the vault: a
    full pass must see that at once (inotify reports the link as a file, not a folder), and
    the folder's later edits must not arrive as edits of notes the vault no longer has."""
    root, elsewhere = tmp_path / "vault", tmp_path / "Cloud" / "Reading"
    root.mkdir()
    elsewhere.mkdir(parents=True)
    (elsewhere / "there.md").write_text("x")
    (root / "Reading").symlink_to(elsewhere, target_is_directory=True)
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        (elsewhere / "there.md").write_text("heard while linked")
        wait_for(lambda: "Reading/there.md" in sig.paths)
        sig.take_changes(0)
        (root / "Reading").unlink()
        wait_for(lambda: sig.full)
        sig.take_changes(0)
        assert watch.check() and watch.healthy
        (elsewhere / "later.md").write_text("written outside the vault")  # a new name: no
        (root / "inside.md").write_text("y")  # late event of the edit above can stand for it
        wait_for(lambda: "inside.md" in sig.paths)
        time.sleep(0.2)
        assert "Reading/later.md" not in sig.paths, sig.paths
    finally:
        watch.stop()
    # watchdog's own race on stopping the unlinked folder's watch is not shown as an error
    logging.getLogger("watchdog.observers.inotify").error(
        "InotifyEmitter.queue_events() called when the thread is inactive"
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_links_in_a_folder_moved_in_or_renamed_are_heard_under_their_new_path(
    tmp_path: Path,
) -> None:
    """A project folder that links to a folder kept elsewhere, moved into the vault and then
    renamed there: the vault's walk reads the linked notes under the folder's new name, so
    their edits must arrive under it too (the old watch passed them on under the old name,
    a path the vault no longer has)."""
    root, elsewhere, project = tmp_path / "vault", tmp_path / "Cloud" / "Reading", tmp_path / "P"
    root.mkdir()
    elsewhere.mkdir(parents=True)
    project.mkdir()
    (elsewhere / "there.md").write_text("x")
    (project / "Reading").symlink_to(elsewhere, target_is_directory=True)
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    try:
        os.rename(project, root / "Project")
        wait_for(lambda: sig.full)
        assert watch.check() and watch.healthy
        sig.take_changes(0)
        (elsewhere / "there.md").write_text("edited")
        wait_for(lambda: "Project/Reading/there.md" in sig.paths)
        os.rename(root / "Project", root / "Renamed")
        wait_for(lambda: sig.full)
        assert watch.check() and watch.healthy
        sig.take_changes(0)
        (elsewhere / "later.md").write_text("written after the rename")
        wait_for(lambda: "Renamed/Reading/later.md" in sig.paths)
        time.sleep(0.2)
        assert "Project/Reading/later.md" not in sig.paths, sig.paths
    finally:
        watch.stop()


@pytest.mark.timeout(60)  # a deadlock would also block the observer's stop below
def test_links_made_while_the_loop_re_reads_links_do_not_lock_the_watcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The observer's thread hands each event over holding the observer's lock; changing a
    watch takes that lock too. When the event handler changed watches itself, a link made
    while the loop's check() was re-reading the links (a walk of a big vault) deadlocked the
    two threads, and the daemon stopped hearing the vault."""
    import threading

    from pllm_sync.daemon import watcher

    root, a, b = tmp_path / "vault", tmp_path / "A", tmp_path / "B"
    for d in (root, a, b):
        d.mkdir()
    (root / "One").symlink_to(a, target_is_directory=True)
    sig = VaultSignal(str(root))
    watch = VaultWatch(str(root), sig).start()
    walk = watcher.linked_folders

    def slow_walk(r: str) -> list[tuple[str, str]]:
        time.sleep(1.0)  # a big vault's walk
        return walk(r)

    try:
        (root / "One").unlink()  # a link goes: the next check re-reads the links
        wait_for(lambda: sig.full)
        monkeypatch.setattr(watcher, "linked_folders", slow_walk)
        done = threading.Event()

        def check() -> None:
            watch.check()
            done.set()

        t = threading.Thread(target=check, daemon=True)
        t.start()
        time.sleep(0.3)
        (root / "Two").symlink_to(b, target_is_directory=True)  # an event meanwhile
        assert done.wait(10), "check() blocked: the watcher deadlocked"
        sig.take_changes(0)
        assert watch.check()
        (b / "x.md").write_text("x")
        wait_for(lambda: "Two/x.md" in sig.paths)
    finally:
        watch.stop()


def test_a_folder_moved_out_and_back_is_heard_without_watchdogs_warning(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    """Found running the daemon through a working day: a folder moved out of the vault and
    back made watchdog print a RuntimeWarning with a dump of its watch tables (~2 KB) to
    the daemon's stderr, each time (its callback was re-added; watching went on). Edits in
    the folder still arrive, and the service log stays clean."""
    vault, away = tmp_path / "vault", tmp_path / "away"
    (vault / "Read").mkdir(parents=True)
    (vault / "Read" / "a.md").write_text("x")
    sig = VaultSignal(str(vault))
    watch = VaultWatch(str(vault), sig).start()
    try:
        for _ in range(2):
            for src, dst in ((vault / "Read", away), (away, vault / "Read")):
                seen = sig.events
                src.rename(dst)

                def moved(seen: int = seen) -> bool:  # a folder moved: a full pass
                    return sig.events > seen

                wait_for(moved)
        (vault / "Read" / "b.md").write_text("y")
        wait_for(lambda: "Read/b.md" in sig.paths)
    finally:
        watch.stop()
    noise = [w for w in recwarn.list if "Callback with id" in str(w.message)]
    assert not noise, noise[0].message
