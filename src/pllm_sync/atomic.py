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
import logging
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import VaultError

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


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse; the data is fsynced anyway
        pass
    finally:
        os.close(fd)


def _write_in_place(path: Path, data: bytes) -> None:
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


def clean_stale_temp_files(folders: Iterable[Path], older_than: float) -> int:
    """Remove our own temp files (by name pattern) last modified before ``older_than`` (a
    ``time.time()`` value, normally the run's start) from ``folders`` and their subfolders;
    hidden folders (``.obsidian``, ``.git``) are not entered. Returns how many went."""
    removed = 0
    for top in folders:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
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


class WriteBatch:
    """Many new files made durable together, each still atomic and never replacing a file.

    ``add`` writes a file's bytes to a hidden temp beside it (no fsync yet) and returns the
    temp's stat: size and mtime are what the file will have, since a rename keeps them.
    ``commit`` then fsyncs every temp in parallel threads (the disk sees one queue of
    flushes instead of one flush per file in turn), links each temp to its name (refusing to
    replace a file that appeared meanwhile, as ``atomic_write(..., exclusive=True)`` does),
    and fsyncs each folder once. The caller commits its own state only after ``commit``.

    A crash at any step leaves every target either absent or complete: before the links only
    hidden ``.tmp`` files exist (every scan ignores them); after some links, those files are
    whole and fsynced. Used as a context manager, an exception discards the temps.
    """

    def __init__(self, workers: int = 8) -> None:
        self.workers = workers
        self._pending: list[tuple[Path, Path]] = []  # (temp, target)

    def __len__(self) -> int:
        return len(self._pending)

    def __enter__(self) -> WriteBatch:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if exc is None:
            self.commit()
        else:
            self.discard()

    def add(self, path: Path, data: bytes) -> os.stat_result:
        """Stage ``data`` as the new file ``path``; returns the stat it will have."""
        try:
            tmp, fd = _new_temp(path)
        except OSError as exc:
            raise VaultError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check that the folder is writable and the disk is not full",
            ) from exc
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise VaultError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check that the folder is writable and the disk is not full",
            ) from exc
        self._pending.append((tmp, path))
        return st

    def commit(self) -> list[Path]:
        """Make every staged file durable and visible; returns the targets that could not
        be created because a file of that name appeared meanwhile (their bytes are dropped;
        the caller writes them elsewhere)."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        try:
            _fsync_all([tmp for tmp, _ in pending], self.workers)
            taken: list[Path] = []
            for tmp, path in pending:
                if not _link_new(tmp, path):
                    taken.append(path)
            for folder in sorted({path.parent for _, path in pending}):
                _fsync_dir(folder)
            return taken
        except OSError as exc:
            raise VaultError(
                f"cannot write notes in {pending[0][1].parent}: {exc.strerror or exc}",
                hint="check that the folder is writable and the disk is not full",
            ) from exc
        finally:
            for tmp, _ in pending:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def discard(self) -> None:
        """Drop every staged file (nothing was linked yet)."""
        pending, self._pending = self._pending, []
        for tmp, _ in pending:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_TEMP_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _new_temp(path: Path) -> tuple[Path, int]:
    """A new hidden temp file beside ``path`` (the name :func:`atomic_write` would give it),
    open for writing with the default file mode; what ``tempfile.mkstemp`` does, in one
    system call per file (a pull makes thousands)."""
    prefix = f".{path.name[:40]}."
    for _ in range(100):
        tmp = path.parent / f"{prefix}{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            return tmp, os.open(tmp, _TEMP_FLAGS, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {path}")


def _fsync_all(paths: list[Path], workers: int) -> None:
    def sync(p: Path) -> None:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    if len(paths) == 1 or workers <= 1:
        for p in paths:
            sync(p)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(paths))) as pool:
        list(pool.map(sync, paths))


def _link_new(tmp: Path, path: Path) -> bool:
    """Give ``tmp`` the name ``path`` unless that name exists; False when it does."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some FUSE/SMB mounts): check, then rename
        if path.exists():
            return False
        os.replace(tmp, path)
    return True
