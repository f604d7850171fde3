"""The run lock: one pllm-sync run (a sync, a pull, the watch daemon) per vault at a time.

It is an operating-system lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on a small
file next to the state database, not a row in the database: the kernel drops the lock when
the holding process ends however it ends (a crash, ``kill -9``, a reboot), so a stale lock
never needs clearing by hand, and a reused process id can never make a dead run look alive.
The file also holds who took the lock (command, pid, host, time) so a refused run can name
the holder. We use the standard library rather than the ``filelock`` package: the two calls
needed are small, and ``filelock`` would add a dependency for the same system calls.

Within one process the lock is re-entrant (a second handle on the same file shares the
hold), as the daemon's threads and the tests open the state more than once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import SafetyAbort

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class LockInfo:
    owner: str
    pid: int
    hostname: str
    acquired_at: float


_GUARD = threading.Lock()
_HELD: dict[str, list[int]] = {}
"""Lock file (real path) -> [file descriptor, how many handles in this process hold it]."""


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def try_lock(fd: int, *, shared: bool = False) -> bool:
    """Take the OS lock on ``fd`` without waiting; False when another holder has it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover - Windows
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover - Windows
        return False
    return True  # pragma: no cover - Windows


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return
    import msvcrt  # pragma: no cover - Windows

    os.lseek(fd, 0, os.SEEK_SET)  # pragma: no cover - Windows
    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # pragma: no cover


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the OS lock on the file at ``path`` (made if missing) for a block, waiting for
    it: a short step that one process at a time may take (a moved vault's state adopted
    once, not twice by two runs starting together). Without ``flock`` (Windows) nothing is
    held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_info(fd: int) -> LockInfo | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8") or "null")
        return LockInfo(
            str(data["owner"]), int(data["pid"]), str(data["hostname"]), float(data["at"])
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None


def held_error(info: LockInfo | None, path: Path) -> SafetyAbort:
    """The refusal for a lock another process holds, naming it and what to do about it: a
    daemon goes on until stopped (and syncs by itself meanwhile); a run ends by itself."""
    if info is None:
        who, hint = "another process", "wait for it to finish, or stop it first"
    else:
        who = f"{info.owner}, pid {info.pid} on {info.hostname}"
        if info.owner == "watch":
            hint = (
                f"the daemon (pid {info.pid}) syncs this vault by itself; to run this command "
                "instead, stop it first"
            )
        else:
            hint = f"wait for that `{info.owner}` to finish, then run this again"
    return SafetyAbort(
        f"another pllm-sync ({who}) is running on this vault (lock {path})",
        hint=f"{hint}; the lock goes away by itself when that process ends",
    )


class RunLock:
    """The run lock kept in the file at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mine = False

    def _key(self) -> str:
        return os.path.realpath(self.path)

    def acquire(self, owner: str) -> None:
        """Take the lock, or raise ``SafetyAbort`` naming who holds it."""
        key = self._key()
        with _GUARD:
            if self._mine:
                return
            held = _HELD.get(key)
            if held is not None:  # this process already holds it: share the hold
                held[1] += 1
                self._mine = True
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            import socket  # here, not at the top: `status` only reads the lock

            # made before the lock is taken: the holder's name is in the file a moment after
            # (a run refused in that moment once could only say "another process")
            info_bytes = json.dumps(
                {
                    "owner": owner,
                    "pid": os.getpid(),
                    "hostname": socket.gethostname(),
                    "at": time.time(),
                }
            ).encode("utf-8")
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not try_lock(fd):
                info = _read_info(fd)
                for _ in range(20):  # the holder took it an instant ago: it writes its name next
                    if info is not None:
                        break
                    time.sleep(0.005)
                    info = _read_info(fd)
                os.close(fd)
                raise held_error(info, self.path)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, info_bytes)
            _HELD[key] = [fd, 1]
            self._mine = True

    def release(self) -> None:
        """Release our hold (the OS lock goes when this process's last hold goes)."""
        key = self._key()
        with _GUARD:
            if not self._mine:
                return
            self._mine = False
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] > 0:
                return
            del _HELD[key]
            fd = held[0]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            _unlock(fd)
            os.close(fd)

    def holder(self) -> LockInfo | None:
        """Who holds the lock now (None when nobody does)."""
        key = self._key()
        with _GUARD:
            held = _HELD.get(key)
            if held is not None:
                return _read_info(held[0])
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            if try_lock(fd, shared=True):
                _unlock(fd)
                return None
            return _read_info(fd)
        finally:
            os.close(fd)
