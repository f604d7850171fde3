"""Atomic file writes: a reader (Obsidian, a sync tool, a crash) sees the old bytes or the new
bytes, never half a file.

The new content goes to a hidden temp file in the same folder (so ``os.replace`` is a rename
within one filesystem), is flushed and fsynced, takes the old file's permission bits, and then
replaces the target in one step; the folder is fsynced so the rename survives a power cut.
The temp name starts with a dot and ends in ``.tmp``, which every vault scan ignores.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
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


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` atomically.

    ``exclusive``: fail with ``FileExistsError`` instead of replacing an existing file (used
    for new notes, so a file that appeared meanwhile is never overwritten).
    """
    folder = path.parent
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if not exclusive else _DEFAULT_MODE
    except FileNotFoundError:
        mode = _DEFAULT_MODE
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=folder)
        tmp = Path(tmp_name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
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
