"""Atomic file writes: a reader (Obsidian, a sync tool, a crash) sees the old bytes or the new
bytes, never half a file.

The new content goes to a hidden temp file in the same folder (so ``os.replace`` is a rename
within one filesystem), is flushed and fsynced, takes the old file's permission bits, and then
replaces the target in one step; the folder is fsynced so the rename survives a power cut.
The temp name starts with a dot and ends in ``.tmp``, which every vault scan ignores; a run
killed between creating and renaming it leaves litter that :func:`clean_stale_temp_files`
removes at the next run (only names of our own pattern, older than the run).

The replaced file keeps its owner, group and mode: a note shared through a group-writable
folder (or written by root for a user) must not change hands because pllm-sync touched it.
When the owner cannot be kept (we may not give a file away), the new bytes are written into
the existing file instead of replacing it -- not atomic, but never a change of owner.
A symlinked note is written through the link (the target changes, the link stays a link).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import libc
from .errors import VaultError
from .fsflush import Flusher

WriteListener = Callable[[Path, bytes], None]
_listeners: list[WriteListener] = []


def add_write_listener(fn: WriteListener) -> None:
    """Call ``fn(path, data)`` after every successful write (the daemon uses it to recognise
    its own writes when the file watcher reports them)."""
    _listeners.append(fn)


def remove_write_listener(fn: WriteListener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


log = logging.getLogger(__name__)

TEMP_SUFFIX = ".pllm.tmp"
"""Every temp file we create ends in this (and starts with a dot), so litter from a killed run
is told apart from anyone else's ``.tmp`` files."""
_TEMP_RE = re.compile(r"\A\..+\.[a-z0-9_]{8}(?:\.pllm)?\.tmp\Z")  # older versions: no .pllm


def _umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, single-threaded.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_DEFAULT_MODE = 0o666 & ~_umask()


def file_sha256(path: str) -> str | None:
    """The SHA-256 of the file at ``path`` (hex); None when it cannot be read (gone)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def fsync_dir(folder: str | Path) -> None:
    """Make the names in ``folder`` durable (a new file's or folder's rename into it)."""
    _fsync_dir(folder)


def _fsync_dir(folder: str | Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse; the data is fsynced anyway
        pass
    finally:
        os.close(fd)


def _write_in_place(path: str | Path, data: bytes) -> None:
    """Overwrite the existing file's bytes (keeps owner, mode, ACLs and hard links)."""
    with open(path, "r+b") as fh:
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically.

    ``exclusive``: fail with ``FileExistsError`` instead of replacing an existing file (used
    for new notes, so a file that appeared meanwhile is never overwritten).
    """
    if not exclusive and path.is_symlink():
        path = Path(os.path.realpath(path))
    folder = path.parent
    old: os.stat_result | None = None
    if not exclusive:
        with contextlib.suppress(FileNotFoundError):
            old = path.stat()
    mode = stat.S_IMODE(old.st_mode) if old is not None else _DEFAULT_MODE
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name[:40]}.", suffix=TEMP_SUFFIX, dir=folder
        )
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if old is not None and os.name == "posix":
            tst = tmp.stat()
            if (tst.st_uid, tst.st_gid) != (old.st_uid, old.st_gid):
                try:
                    os.chown(tmp, old.st_uid, old.st_gid)
                    os.chmod(tmp, mode)  # chown may clear set-id bits
                except PermissionError:
                    log.debug("%s: cannot keep its owner by rename; writing in place", path)
                    _write_in_place(path, data)
                    return
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the target exists, unlike rename
            except FileExistsError:
                raise
            except OSError:  # no hard links here (some FUSE/SMB mounts): check, then rename
                if path.exists():
                    raise FileExistsError(str(path)) from None
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise VaultError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check that the folder is writable and the disk is not full",
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _fsync_dir(folder)
    for fn in list(_listeners):
        fn(path, data)


def is_temp_litter(name: str) -> bool:
    """True for a temp file name that :func:`atomic_write` makes."""
    return bool(_TEMP_RE.match(name))


def clean_stale_temp_files(
    folders: Iterable[Path], older_than: float, *, recursive: bool = True
) -> int:
    """Remove our own temp files (by name pattern) last modified before ``older_than`` (a
    ``time.time()`` value, normally the run's start) from ``folders`` and (``recursive``)
    their subfolders; hidden folders (``.obsidian``, ``.git``) are not entered. Returns how
    many went."""
    removed = 0
    for top in folders:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
            for name in filenames:
                if not is_temp_litter(name):
                    continue
                p = Path(dirpath, name)
                try:
                    if p.lstat().st_mtime < older_than and p.is_file():
                        p.unlink()
                        removed += 1
                except OSError as exc:
                    log.warning("cannot remove stale temp file %s: %s", p, exc)
    if removed:
        log.info("removed %d temp files left by an interrupted run", removed)
    return removed


@dataclass(slots=True, eq=False)
class _Staged:
    """One file of a :class:`WriteBatch`: its bytes go to a temp beside ``path`` on a worker
    thread, which sets ``temp`` (the temp's path, written and fsynced) or ``error``.
    ``path`` is a ``str``: a batch's every step (the temp's folder and name, the rename, the
    folder fsync) takes it as text, and a ``Path`` cost a conversion or a hash at each one
    (~0.1 s of a 5,000-note pull); :class:`BatchResult` and the listeners get ``Path``."""

    path: str
    data: bytes
    mtime_ns: int
    mode: int
    owner: tuple[int, int] | None  # a replacement: the owner to keep (None: a new file)
    token: int  # names the temp (see _temp_name)
    expect: tuple[int, int] | None = None  # a replacement: the (size, mtime) it must still have
    dropped: bool = False
    temp: str | None = None
    in_place: bool = False  # the owner could not be kept: the target is written in place
    error: BaseException | None = None
    earlier: _Staged | None = None  # staged before for the same path


@dataclass
class BatchResult:
    """What :meth:`WriteBatch.commit` could not do: ``taken``, new files whose name a file
    took meanwhile (their bytes are dropped; the caller writes them elsewhere); ``refused``,
    replacements whose file changed since it was read (left as the user has it)."""

    taken: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)


class WriteBatch:
    """Many files made durable together, each still atomic.

    ``add`` (a new file, never replacing one) and ``add_replacement`` (a new version of a
    file that was read) hand a file's bytes to a pool of worker threads, which write each to
    a hidden temp beside its target and fsync it while the caller goes on (the disk sees one
    queue of flushes, and the caller's CPU work overlaps them). The temp's mtime is set to
    the moment ``add`` was called, so the caller knows the file's size and mtime at once.
    ``commit`` waits for the workers, links each new file to its name (refusing to replace a
    file that appeared meanwhile, as ``atomic_write(..., exclusive=True)`` does), renames each
    replacement over its file if that file still has the size and mtime it was read with,
    and fsyncs each folder once. The caller commits its own state only after ``commit``.

    Files go to the workers ``chunk`` at a time, one task each: a task per file cost more
    in thread hand-offs (locks, wake-ups, the GIL passed back and forth with the caller)
    than the worker's own Python steps, and a few workers keep the disk's queue full.

    A large batch (a pull's: from :data:`FLUSH_ONCE_FROM` files) on a filesystem where one
    ``syncfs`` is as strong as an fsync per file (see :mod:`pllm_sync.fsflush`) is written
    differently: the caller writes each temp itself, without an fsync (a few system calls,
    no hand-off), and ``commit`` flushes each filesystem once before the first rename. The
    order of what reaches the disk is the same: every temp durable, then the renames, then
    the folders.

    A crash at any step leaves every target either as it was or complete: before the
    renames only hidden ``.tmp`` files exist (every scan ignores them); after some, those
    files are whole and fsynced. Used as a context manager, an exception discards the temps.
    """

    def __init__(self, workers: int = 4, chunk: int = 16, *, expect: int = 0) -> None:
        """``expect``: how many files the caller means to stage, when it knows (a pull
        does): a batch that will be large is written a large batch's way from its first
        file, instead of an fsync each for the files staged before it grew large."""
        self.workers = workers
        self.chunk = chunk
        self._large = expect >= FLUSH_ONCE_FROM
        self._pending: list[_Staged] = []
        self._queued: list[_Staged] = []  # staged, not handed to a worker yet
        self._jobs: list[Future[None]] = []
        self._flusher = Flusher()  # the filesystems whose temps the caller wrote unflushed
        self._latest: dict[str, _Staged] | None = None  # by path, once drop() needs it
        self._pool: ThreadPoolExecutor | None = None
        # temp names: one random draw per batch, then counted up (a name that is taken
        # anyway gets a fresh random one)
        self._token = int.from_bytes(os.urandom(4), "big")

    def __len__(self) -> int:
        return sum(1 for s in self._pending if not s.dropped)

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if exc is None:
            self.commit()
        else:
            self.discard()

    def _stage(
        self, path: str | Path, data: bytes, mode: int, owner: tuple[int, int] | None
    ) -> _Staged:
        token = self._token
        self._token = (token + 1) & 0xFFFFFFFF
        staged = _Staged(os.fspath(path), data, time.time_ns(), mode, owner, token)
        latest = self._latest
        if latest is not None:
            staged.earlier = latest.get(staged.path)
            latest[staged.path] = staged
        self._pending.append(staged)
        queued = self._queued
        queued.append(staged)
        if len(queued) >= self.chunk:
            self._hand_off()
        return staged

    def _hand_off(self) -> None:
        """Give the queued files to a worker thread as one task; in a large batch, write
        those whose filesystem is flushed once at commit here instead (see the class doc):
        the threads need the interpreter's lock for each step of each file, and the caller,
        rendering notes, holds it nearly all the time (at 5,000 notes the writes fell ~0.7 s
        behind, with ~30,000 hand-offs of the lock)."""
        queued, self._queued = self._queued, []
        if queued and (self._large or len(self._pending) >= FLUSH_ONCE_FROM):
            queued = self._write_unflushed(queued)
        if not queued:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pllm-write")
        self._jobs.append(self._pool.submit(_write_temps, queued))

    def _write_unflushed(self, files: list[_Staged]) -> list[_Staged]:
        """Write the temps of ``files`` whose filesystem the commit flushes whole, without an
        fsync each; returns the others (for a worker, with an fsync each)."""
        left: list[_Staged] = []
        covers = self._flusher.covers
        dirname = os.path.dirname
        for i, s in enumerate(files):
            if s.dropped:
                continue
            try:
                if not covers(dirname(s.path)):
                    left.append(s)
                    continue
                s.temp, s.in_place = _write_temp(
                    s.path, s.data, s.mtime_ns, s.mode, s.owner, s.token, sync=False
                )
            except Exception as exc:  # raised by commit(), as a worker's would be
                s.error = exc
            except BaseException as exc:  # Ctrl-C: what is not written can never be committed
                for rest in [*left, *files[i:]]:
                    if rest.temp is None and rest.error is None:
                        rest.error = exc
                raise
        return left

    def add(self, path: str | Path, data: bytes) -> tuple[int, int]:
        """Stage ``data`` as the new file ``path``; returns the (size, mtime_ns) it will
        have."""
        staged = self._stage(path, data, _DEFAULT_MODE, None)
        return len(data), staged.mtime_ns

    def add_replacement(
        self, path: str | Path, data: bytes, old: os.stat_result
    ) -> tuple[int, int]:
        """Stage ``data`` as the new content of ``path``, which was read when it had the stat
        ``old``: it keeps its mode and owner, and is replaced at commit only if its size and
        mtime are still ``old``'s. Returns the (size, mtime_ns) it will have."""
        staged = self._stage(path, data, stat.S_IMODE(old.st_mode), (old.st_uid, old.st_gid))
        staged.expect = (old.st_size, old.st_mtime_ns)
        return len(data), staged.mtime_ns

    def drop(self, path: str | Path) -> None:
        """Forget what was staged for ``path`` (it is staged anew, or not written after all)."""
        latest = self._latest
        if latest is None:  # the first drop of the batch: index what is staged (once)
            latest = self._latest = {}
            for staged in self._pending:
                staged.earlier = latest.get(staged.path)
                latest[staged.path] = staged
        s = latest.pop(os.fspath(path), None)
        while s is not None:
            s.dropped = True
            s = s.earlier

    def _wait(self) -> list[_Staged]:
        """Every staged file written to its temp (or failed); returns them, in order, and
        the batch is empty again. A task that failed as a whole discards the batch."""
        try:
            self._hand_off()
            for job in self._jobs:
                job.result()  # _write_temps keeps each file's error with the file
        except BaseException:
            self.discard()
            raise
        pending, self._pending = self._pending, []
        self._jobs, self._latest = [], None
        return pending

    def commit(self) -> BatchResult:
        """Make every staged file durable and visible (see the class docstring)."""
        result = BatchResult()
        pending = self._wait()
        if not pending:
            self._close()
            return result
        written: list[_Staged] = []
        rename = sum(1 for s in pending if s.expect is None) >= RENAME_FROM
        try:
            for s in pending:  # every temp is whole before any file is renamed
                if s.error is not None:
                    raise s.error
            self._flusher.flush()  # the temps written without an fsync: durable now
            for s in pending:
                if s.dropped:
                    continue
                tmp = s.temp
                assert tmp is not None
                if s.expect is None:
                    how = _link_new(tmp, s.path, rename)
                    if how is not None:
                        written.append(s)
                        if how == "renamed":
                            s.temp = None
                    else:
                        result.taken.append(Path(s.path))
                    continue
                try:
                    now = os.stat(s.path)
                except FileNotFoundError:
                    now = None
                if now is None or (now.st_size, now.st_mtime_ns) != s.expect:
                    result.refused.append(Path(s.path))
                elif s.in_place:
                    _write_in_place(s.path, s.data)
                    written.append(s)
                else:
                    _replace(tmp, s.path)
                    s.temp = None
                    written.append(s)
            for folder in sorted({os.path.dirname(s.path) for s in written}):
                _fsync_dir(folder)
        except OSError as exc:
            raise VaultError(
                f"cannot write notes in {Path(pending[0].path).parent}: {exc.strerror or exc}",
                hint="check that the folder is writable and the disk is not full",
            ) from exc
        finally:
            self._close()
            _unlink_temps(pending)
        listeners = list(_listeners)
        if listeners:
            for s in written:
                for fn in listeners:
                    fn(Path(s.path), s.data)
        return result

    def discard(self) -> None:
        """Drop every staged file (nothing was linked or renamed yet)."""
        pending, self._pending = self._pending, []
        self._queued, self._latest = [], None
        jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.cancel()
        self._close()  # a task that had started is finished now
        _unlink_temps(pending)

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._flusher.close()


def _unlink_temps(staged: list[_Staged]) -> None:
    for s in staged:
        if s.temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(s.temp)
            s.temp = None


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_TEMP_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_UTIME_FD = os.utime in os.supports_fd


FLUSH_ONCE_FROM = 256
"""From this many files staged, a batch writes the temps whose filesystem allows it without
an fsync each and flushes that filesystem once at commit (see ``WriteBatch``): below it, the
per-file fsyncs on worker threads cost less than a ``syncfs`` may wait for other programs'
unwritten data."""


def _write_temps(files: list[_Staged]) -> None:
    """A worker's task: each file's temp (see :func:`_write_temp`); a file that fails keeps
    its error, and the others are still written (``commit`` raises the first error)."""
    for s in files:
        if s.dropped:  # staged anew meanwhile: no need to write this one
            continue
        try:
            s.temp, s.in_place = _write_temp(s.path, s.data, s.mtime_ns, s.mode, s.owner, s.token)
        except BaseException as exc:  # handed to the caller by commit()
            s.error = exc


def _write_temp(
    path: str,
    data: bytes,
    mtime_ns: int,
    mode: int,
    owner: tuple[int, int] | None,
    token: int | None = None,
    *,
    sync: bool = True,
) -> tuple[str, bool]:
    """``data`` in a new hidden temp beside ``path`` (named as :func:`atomic_write` names
    its temps, ``token`` giving the random part) with the given mtime, fsynced; for a
    replacement (``owner`` given) with ``mode`` and, when it can be given, ``owner``.
    Returns the temp and whether the owner could not be kept (the target is then written
    in place, as :func:`atomic_write` does). Plain ``os`` calls on ``str`` paths: this runs
    once per file on a worker thread, and each Python step there competes for the GIL."""
    folder, name = os.path.split(path)
    prefix = os.path.join(folder, f".{name[:40]}.")
    part = f"{token:08x}" if token is not None else secrets.token_hex(4)
    for _ in range(100):
        tmp = f"{prefix}{part}{TEMP_SUFFIX}"
        try:
            # a new file takes the default mode (0o666 less the umask) as it is made
            fd = os.open(tmp, _TEMP_FLAGS, 0o600 if owner is not None else 0o666)
            break
        except FileExistsError:
            part = secrets.token_hex(4)
    else:  # pragma: no cover - 100 random names taken
        raise FileExistsError(f"no free temp file name beside {path}")
    in_place = False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if os.name == "posix" and owner is not None:  # a replacement: as the file was
            os.fchmod(fd, mode)
            st = os.fstat(fd)
            if (st.st_uid, st.st_gid) != owner:
                try:
                    os.fchown(fd, *owner)
                    os.fchmod(fd, mode)  # chown may clear set-id bits
                except PermissionError:
                    in_place = True
        os.utime(fd if _UTIME_FD else tmp, ns=(mtime_ns, mtime_ns))
        if sync:  # else the caller flushes its filesystem before renaming it
            _fsync_fd(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp, in_place


def _fsync_fd(fd: int) -> None:
    os.fsync(fd)


RENAME_FROM = 256
"""From this many new files a commit names them by ``renameat2`` (see :func:`_link_new`)."""
_RENAME_NOREPLACE = 1  # linux/fs.h
_AT_FDCWD = -100
_no_renameat2: set[str] = set()  # folders whose filesystem refused it (EINVAL)


def _rename_noreplace(tmp: str, path: str) -> bool | None:
    """Rename ``tmp`` to ``path`` unless ``path`` exists: True done, False it exists, None
    when this system or this folder's filesystem cannot (the caller links instead)."""
    # glibc 2.28 and later
    renameat2 = libc.function("renameat2", "int", "char_p", "int", "char_p", "uint")
    if renameat2 is None or (_no_renameat2 and os.path.dirname(tmp) in _no_renameat2):
        return None  # (the folder asked only once some filesystem refused: nearly never)
    if renameat2(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(path), _RENAME_NOREPLACE) == 0:
        return True
    err = libc.errno()
    if err == errno.EEXIST:
        return False
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this filesystem has no flags
        _no_renameat2.add(os.path.dirname(tmp))
        return None
    raise OSError(err, os.strerror(err), str(path))


def _replace(tmp: str, path: str) -> None:
    os.replace(tmp, path)


def _link_new(tmp: str, path: str, rename: bool = False) -> str | None:
    """Give ``tmp`` the name ``path`` unless that name exists (then None): ``"linked"`` (the
    temp's name stays, for the caller to remove) or ``"renamed"`` (the temp is gone).

    ``rename``: by one rename that refuses to replace (Linux's ``renameat2`` with
    ``RENAME_NOREPLACE``) where the system and filesystem have it: one directory change
    instead of a link and the temp's unlink (a pull names thousands of notes; a watcher
    of the folder sees one event, not a link and a delete). Loading it costs ~5 ms, so a
    batch asks for it only when it names many files."""
    if rename:
        moved = _rename_noreplace(tmp, path)
        if moved is not None:
            return "renamed" if moved else None
    try:
        os.link(tmp, path)
    except FileExistsError:
        return None
    except OSError:  # no hard links here (some FUSE/SMB mounts): check, then rename
        if Path(path).exists():
            return None
        os.replace(tmp, path)
        return "renamed"
    return "linked"
