"""One flush for a whole filesystem (``syncfs``), where it is as strong as an fsync per file.

A first pull writes thousands of notes. An ``fsync`` per note costs the disk a journal commit
each and the process a system call that holds a writer thread (5,000 notes: 0.6-1.2 s and
0.7-1.9 s of CPU on this project's machines). ``syncfs`` writes back every dirty file of the
filesystem and waits for it, once (the same 5,000 notes: 0.04 s), so a write batch can write
its temps without a flush and make them all durable with one call before any is renamed: a
crash still leaves every note whole or absent.

It is used only where it is known to be that strong:

- **Linux 5.17 or later.** Before 5.8, ``syncfs`` returned success even when the write-back
  failed (an I/O error, a full thin volume): a note could be renamed into place over lost
  bytes. Since 5.8 it reports a write-back error raised since the descriptor it is given
  was opened, so the batch opens its folder *before* writing the temps there; and only
  since 5.17 does it also report the filesystem's own flush failing (``sync_fs``: the disk
  cache flush, a journal commit), which an ``fsync`` always reported.
- **Filesystems whose ``sync_fs`` flushes their own data and the disk's cache**: ext3/4,
  XFS, Btrfs, F2FS (and tmpfs, where nothing is durable either way). Not ext2 (its own
  driver writes the superblock and flushes no cache), not FUSE (before Linux 5.15 it sent
  the file server no flush at all), not network filesystems, not overlays: there a batch
  falls back to an ``fsync`` per file, as everywhere else (macOS, Windows).

Not for every write: ``syncfs`` also waits for other programs' unwritten data on the same
filesystem, which a batch of a few notes should not; batches use it from a few hundred files.
It runs on a thread of its own, so Ctrl-C stops the run while it waits (the flush goes on,
and no note has been renamed yet).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from . import libc

log = logging.getLogger(__name__)

TRUSTED = frozenset({"ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs"})
"""Filesystem types whose ``syncfs`` makes every file's data durable (see the module doc)."""

_MIN_KERNEL = (5, 17)


def _kernel() -> tuple[int, int]:
    """The running Linux kernel's (major, minor); (0, 0) when it cannot be read."""
    try:
        major, minor = os.uname().release.split(".")[:2]
        return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
    except (ValueError, AttributeError):
        return (0, 0)


def _syncfs_call() -> Any:
    """libc's ``syncfs`` where it is as strong as the module doc says (Linux 5.17 and
    later), else None."""
    if _kernel() < _MIN_KERNEL:
        return None
    return libc.function("syncfs", "int")


def fs_type(dev: int) -> str | None:
    """The type of the filesystem mounted as device ``dev`` (``st_dev``), from
    ``/proc/self/mountinfo``; None when no mount names it (a Btrfs subvolume below the
    mounted one has a device of its own: it is not trusted, and falls back). Read afresh
    for each batch (once per device): a device number freed by an unplugged drive may come
    back as another filesystem in a daemon that runs for weeks."""
    found: str | None = None
    want = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 2 and fields[2] == want and " - " in line:
                    found = line.split(" - ", 1)[1].split()[0]
                    break
    except OSError:
        found = None
    return found


class Flusher:
    """The filesystems one write batch flushes before its renames, found folder by folder:
    ``covers(folder)`` says whether the batch may write a temp there without an fsync (the
    folder's filesystem is flushed whole by ``flush``), opening that filesystem's descriptor
    the first time, before the first such write."""

    def __init__(self) -> None:
        self._folders: dict[str, bool] = {}
        self._fds: dict[int, int] = {}  # st_dev -> a descriptor opened on it
        self._types: dict[int, str | None] = {}  # st_dev -> its type, read once a batch

    def covers(self, folder: str) -> bool:
        ok = self._folders.get(folder)
        if ok is None:
            ok = self._folders[folder] = self._open(folder)
        return ok

    def _open(self, folder: str) -> bool:
        opened = open_for_flush(folder, self._types)
        if opened is None:
            return False
        fd, dev = opened
        if dev in self._fds:  # that filesystem's first descriptor covers more
            os.close(fd)
        else:
            self._fds[dev] = fd
        return True

    def flush(self) -> None:
        """Flush each filesystem written (see :func:`flush`)."""
        for fd in self._fds.values():
            flush(fd)

    def close(self) -> None:
        fds, self._fds, self._folders, self._types = self._fds, {}, {}, {}
        for fd in fds.values():
            os.close(fd)


def open_for_flush(
    folder: str, types: dict[int, str | None] | None = None
) -> tuple[int, int] | None:
    """A descriptor of ``folder`` to flush its filesystem with :func:`flush` (open it before
    writing the files it must cover: errors are reported from then on) and that filesystem's
    device, or None where one ``syncfs`` is not known to be as strong as an ``fsync`` per
    file there. ``types``: the types a batch has read already, by device (the mount table
    is read once per device)."""
    if not _syncfs_call():
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        dev = os.fstat(fd).st_dev
    except OSError:
        os.close(fd)
        return None
    if types is not None and dev in types:
        kind = types[dev]
    else:
        kind = fs_type(dev)
        if types is not None:
            types[dev] = kind
    if kind not in TRUSTED:
        log.debug("write batch: %s is on %s; an fsync per file", folder, kind or "an unknown fs")
        os.close(fd)
        return None
    return fd, dev


def flush(fd: int) -> None:
    """Write back every file of the filesystem holding ``fd`` and wait for it; raises
    ``OSError`` when any write-back since ``fd`` was opened failed. The call runs on a
    thread of its own and is waited for in short steps, so a Ctrl-C is not held up by other
    programs' data being written meanwhile."""
    out: list[int] = []
    call = _syncfs_call()

    def run() -> None:
        rc = call(fd)
        out.append(libc.errno() if rc != 0 else 0)

    worker = threading.Thread(target=run, name="pllm-syncfs", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    if out and out[0]:
        raise OSError(out[0], os.strerror(out[0]))
