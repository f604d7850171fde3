"""How a front end finds the daemon, and how two daemons are kept off one vault and library.

``daemon-<config>.json`` in the state dir names the API url, pid, API version and the token
file; it is written (atomically, mode 600) when the API is up and removed on exit. A stale one
(its pid gone) reads as "not running". The lock is an OS file lock (``flock``) held for the
daemon's life (the run lock's implementation): the kernel drops it when the process dies,
even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from ..config import Config
from ..paths import app_dirs
from ..runlock import RunLock, pid_alive

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from typing import Any


def daemon_file(cfg: Config) -> Path:
    return app_dirs().data / f"daemon-{cfg.state_name}.json"


def lock_file(cfg: Config) -> Path:
    """One lock per vault and library, whichever config names them."""
    z = cfg.zotero
    ident = f"{Path(cfg.vault.path).resolve()}|{z.library_type}:{z.library_id}@{z.endpoint}"
    return app_dirs().data / f"daemon-{hashlib.sha1(ident.encode()).hexdigest()[:12]}.lock"


def write_daemon_file(cfg: Config, info: dict[str, Any]) -> Path:
    path = daemon_file(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    from ..atomic import atomic_write  # the daemon writes it; `status` only reads it

    atomic_write(path, (json.dumps(info, indent=2) + "\n").encode())
    os.chmod(path, 0o600)
    return path


def remove_daemon_file(cfg: Config) -> None:
    with contextlib.suppress(FileNotFoundError):
        daemon_file(cfg).unlink()


def read_daemon_file(cfg: Config) -> dict[str, Any] | None:
    """The running daemon's discovery info, or None (no file, unreadable, or pid gone)."""
    try:
        info = json.loads(daemon_file(cfg).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return None
    return info if pid_alive(info["pid"]) else None


class DaemonLock:
    """The OS file lock (:class:`pllm_sync.runlock.RunLock`) on this vault and library: a
    second daemon fails at once, even under another config naming the same pair."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = RunLock(path)

    def acquire(self) -> DaemonLock:
        self._lock.acquire("watch")
        return self

    def release(self) -> None:
        self._lock.release()
