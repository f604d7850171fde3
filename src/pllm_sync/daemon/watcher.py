"""Turn watchdog file events in the vault into a debounced "the vault changed" signal.

Only markdown notes matter; Obsidian's own folder, trash folders and sync-tool litter are
ignored so that Obsidian saving its workspace does not trigger a sync.
"""

from __future__ import annotations

import threading
import time
from pathlib import PurePosixPath
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

IGNORED_DIRS = frozenset({".obsidian", ".trash", ".git", ".pllm-sync-trash"})


def is_relevant(relpath: str) -> bool:
    """True for a note path a sync should look at (not litter, not Obsidian's config)."""
    p = PurePosixPath(relpath)
    if any(part in IGNORED_DIRS for part in p.parts[:-1]):
        return False
    name = p.name
    if not name.endswith(".md") or name.startswith((".", "~$", ".#")):
        return False
    return ".sync-conflict-" not in name and not name.endswith((".tmp.md", "~"))


class VaultSignal(FileSystemEventHandler):
    """Records which notes changed and when; the loop waits for a quiet period, then takes
    the paths (a pass reads those notes, not the whole vault). A folder moved or deleted
    names no files, so it asks for a full scan instead."""

    def __init__(self, root: str, ignore_folders: tuple[str, ...] = ()) -> None:
        self.root = root.rstrip("/")
        self.ignore_folders = tuple(f.strip("/") + "/" for f in ignore_folders if f)
        self._lock = threading.Lock()
        self.last_change: float | None = None
        self.events = 0
        self.paths: set[str] = set()
        self.full = False

    def _rel(self, path: str | bytes) -> str:
        p = path.decode() if isinstance(path, bytes) else path
        return p[len(self.root) + 1 :] if p.startswith(self.root + "/") else p

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path] + ([event.dest_path] if getattr(event, "dest_path", "") else [])
        rels = [self._rel(p) for p in paths]
        if event.is_directory:
            if event.event_type in ("moved", "deleted") and not all(
                r.split("/", 1)[0] in IGNORED_DIRS for r in rels
            ):
                self.mark_full()
            return
        relevant = [r for r in rels if is_relevant(r) and not r.startswith(self.ignore_folders)]
        if relevant:
            with self._lock:
                self.last_change = time.monotonic()
                self.events += 1
                self.paths.update(relevant)

    def mark_full(self) -> None:
        """Something happened that names no single note (a folder moved, the watcher
        failed): the next pass scans the whole vault."""
        with self._lock:
            self.last_change = time.monotonic()
            self.events += 1
            self.full = True

    def quiet_in(self, debounce: float) -> float | None:
        """Seconds until the pending changes have been quiet for ``debounce`` (None: none
        pending), so the loop wakes exactly then instead of on its next tick."""
        with self._lock:
            if self.last_change is None:
                return None
            return max(0.0, self.last_change + debounce - time.monotonic())

    def take_changes(self, debounce: float) -> tuple[set[str], bool] | None:
        """``(paths, full)`` once changes happened and nothing changed for ``debounce`` s."""
        with self._lock:
            if self.last_change is None or time.monotonic() - self.last_change < debounce:
                return None
            out = (self.paths, self.full)
            self.last_change, self.paths, self.full = None, set(), False
            return out


def start_observer(root: str, handler: VaultSignal) -> Any:
    """Start watchdog's platform observer (inotify, FSEvents, ...) on the vault."""
    obs = Observer()
    obs.schedule(handler, root, recursive=True)
    obs.start()
    return obs
