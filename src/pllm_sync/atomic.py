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
from pathlib import Path

from .errors import VaultError


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
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent
            )
        except OSError as exc:
            raise VaultError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check that the folder is writable and the disk is not full",
            ) from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), _DEFAULT_MODE)
                st = os.fstat(fh.fileno())
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
