"""Turn watchdog file events in the vault into a debounced "the vault changed" signal.

Only markdown notes matter; Obsidian's own folder, trash folders and sync-tool litter are
ignored so that Obsidian saving its workspace does not trigger a sync.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

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
        self.on_change: Callable[[], object] | None = None
        """Called after every recorded change (the loop's wake-up: it sleeps until then)."""
        self.on_links: Callable[[], object] | None = None
        """Called when a link to a folder was made, a watched link went, or a folder came
        into the vault (it may hold links): the links into the vault may have changed."""
        self.links: frozenset[str] = frozenset()
        """The paths of the links into the vault that are watched (kept by ``VaultWatch``)."""

    def _rel(self, path: str | bytes) -> str:
        p = self._plain(path)
        return p[len(self.root) + 1 :] if p.startswith(self.root + "/") else p

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path] + ([event.dest_path] if getattr(event, "dest_path", "") else [])
        rels = [self._rel(p) for p in paths]
        if event.event_type in ("created", "moved") and self.on_links is not None:
            # a folder linked in (made, or a link renamed into place: ``mv -T``): its notes
            # are new to the daemon, and inotify does not follow the link (a hidden one, as
            # the ``.tmp`` link of ``mv -T``, is not read by the vault's walk: no pass)
            made = self._plain(paths[-1])
            hidden = any(part.startswith(".") for part in rels[-1].split("/"))
            if not hidden and os.path.islink(made) and os.path.isdir(made):
                self.on_links()
                self.mark_full()
                return
        if event.event_type in ("moved", "deleted") and self._plain(paths[0]) in self.links:
            # a linked folder unlinked (inotify sees a file, not a folder): its notes left
            # the vault, and its watch must stop passing events on under the link's path
            if self.on_links is not None:
                self.on_links()
            self.mark_full()
            return
        if event.is_directory:
            if event.event_type in ("created", "moved") and self.on_links is not None:
                self.on_links()  # a folder moved in may hold links to folders elsewhere
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
            self._changed()

    @staticmethod
    def _plain(path: str | bytes) -> str:
        return path.decode() if isinstance(path, bytes) else path

    def mark_full(self) -> None:
        """Something happened that names no single note (a folder moved, the watcher
        failed): the next pass scans the whole vault."""
        with self._lock:
            self.last_change = time.monotonic()
            self.events += 1
            self.full = True
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

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


def linked_folders(root: str) -> list[tuple[str, str]]:
    """The folders linked into the vault from outside it, as the vault's walk follows them
    (``VaultStore._walk``: a link leaving the vault is read as a folder of the vault, one
    inside it is read at its own place, a folder reached twice once): each as (the link's
    path, the real folder). Only folders are listed; notes are not looked at."""
    root_real = os.path.realpath(root)
    inner = root_real.rstrip(os.sep) + os.sep
    seen = {root_real}
    found: list[tuple[str, str]] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden folders are not walked
            try:
                if not entry.is_dir():
                    continue
                link = entry.is_symlink()
            except OSError:
                continue
            if link:
                real = os.path.realpath(entry.path)
                if real == root_real or real.startswith(inner) or real in seen:
                    continue
                seen.add(real)
                found.append((entry.path, real))
            stack.append(entry.path)
    return found


class _Relay(FileSystemEventHandler):
    """The events of a folder linked into the vault, passed on with the paths the vault's
    walk reads them by (under the link): inotify does not follow a link into its folder,
    so a symlinked ``Papers/`` gave no event at all, and the daemon, trusting its watcher,
    missed every edit there until its periodic full pass."""

    def __init__(self, link: str, real: str, handler: FileSystemEventHandler) -> None:
        self.link = link.rstrip("/")
        self.real = real.rstrip("/")
        self.handler = handler

    def _map(self, path: str | bytes) -> str:
        p = path.decode() if isinstance(path, bytes) else path
        if p == self.real or p.startswith(self.real + "/"):
            return self.link + p[len(self.real) :]
        return p

    def dispatch(self, event: FileSystemEvent) -> None:
        dest = getattr(event, "dest_path", "")
        self.handler.dispatch(
            dataclasses.replace(
                event, src_path=self._map(event.src_path), dest_path=self._map(dest) if dest else ""
            )
        )


_WATCHDOG_NOISE = r"Callback with id '[^']*' (already exists|does not exist) for watch"
"""watchdog's inotify observer warns (a ``RuntimeWarning`` with a dump of its watch tables,
~2 KB) when a folder moved out of the vault comes back: it re-adds its callback for the
folder's watch, and goes on watching. Filled the daemon's service log, each time."""


def start_observer(root: str, handler: VaultSignal) -> Any:
    """Start watchdog's platform observer (inotify, FSEvents, ...) on the vault. Folders
    linked into it are watched afterwards, one by one (``watch_linked``): one that cannot
    be watched must not take the vault's own watch down with it."""
    warnings.filterwarnings("ignore", message=_WATCHDOG_NOISE, category=RuntimeWarning)
    obs = Observer()
    obs.schedule(handler, root, recursive=True)
    try:
        obs.start()
    except BaseException:
        with contextlib.suppress(Exception):  # no emitter thread or handle left behind
            obs.stop()
        raise
    return obs


def watch_linked(obs: Any, link: str, real: str, handler: FileSystemEventHandler) -> Any:
    """Watch the folder ``real``, linked into the vault at ``link``, on the running
    observer ``obs``: the watch (to unschedule when the link goes), or None (logged) when it
    cannot be watched (the kernel's watch limit, a folder that cannot be read or went
    away)."""
    try:
        return obs.schedule(_Relay(link, real, handler), real, recursive=True)
    except Exception as exc:  # watchdog raises OSError, or its own errors for the limit
        log.warning(
            "watch: cannot watch %s (linked into the vault as %s): %s; its edits are found "
            "by walking the vault on every poll",
            real,
            link,
            exc,
        )
        return None


class _OverflowSeen(logging.Handler):
    """watchdog reports a kernel queue overflow (events dropped) only in its log; this hears
    it so the daemon scans the vault for what was dropped."""

    def __init__(self, on_overflow: Any) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.on_overflow()


class _StopRace(logging.Filter):
    """Drop watchdog's ERROR that an emitter stopped while it was reading events: a race in
    watchdog's own shutdown, met whenever the daemon stops watching a folder that was
    unlinked from the vault. Nothing is lost (the daemon scans after such a change), and a
    user reading "ERROR" would think something broke."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRace())  # every watcher, stop

REMOTE_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "9p", "ceph", "afs", "glusterfs", "lustre"}
)
"""Filesystems whose edits made on another machine raise no local inotify event."""


def remote_filesystem(root: str, mounts: str | None = None) -> bool:
    """Whether ``root`` lies on a network or FUSE filesystem (by the longest mount point in
    ``/proc/self/mounts`` that holds it): there the watcher misses edits made elsewhere, so
    it is never trusted alone. False where there is no such table (not Linux)."""
    if mounts is None:
        try:
            with open("/proc/self/mounts", encoding="utf-8") as fh:
                mounts = fh.read()
        except OSError:
            return False
    path = os.path.realpath(root)
    best, fstype = -1, ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, fstype = len(point), fields[2]
    return fstype in REMOTE_FS or fstype.startswith("fuse")


def _identity(root: str) -> tuple[int, int] | None:
    try:
        st = os.stat(root)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class VaultWatch:
    """The vault's watcher and whether its events can be trusted.

    While it runs on the vault root it was started on (same device and inode), its emitter is
    alive and the kernel dropped nothing, every note change arrives as an event: ``healthy``
    is True and the daemon needs no periodic walk of the vault (only the reconcile pass). On
    a network filesystem it never is: edits made on another machine raise no event here.
    ``check()`` notices the rest (the watcher died; the root was deleted, unmounted or
    replaced, as when a drive goes away and comes back or a sync tool re-creates the folder;
    an overflow), restarts the watcher where the root is, and returns False exactly once per
    such loss so the caller scans everything."""

    def __init__(self, root: str, handler: VaultSignal) -> None:
        self.root = root
        self.handler = handler
        self._observer: Any = None
        self._identity: tuple[int, int] | None = None
        self._remote = False
        self._links: dict[str, tuple[str, Any, bool]] = {}
        """Each folder linked into the vault: link path -> (real folder, its watch or None
        when it cannot be watched, whether its events can be trusted)."""
        self._relink = threading.Event()  # links may have changed: re-read them on check()
        self._lost = threading.Event()
        self._overflow = _OverflowSeen(self._lost.set)
        self.restarts = 0

    def start(self) -> VaultWatch:
        logging.getLogger("watchdog").addHandler(self._overflow)
        self._start()
        return self

    def _start(self) -> None:
        self._identity = _identity(self.root)
        self._remote = self._identity is not None and remote_filesystem(self.root)
        if self._identity is None:
            self._observer = None  # no vault root (a drive away): nothing to watch yet
            return
        self._links = {}
        self._relink.clear()
        try:
            self._observer = start_observer(self.root, self.handler)
        except OSError as exc:
            log.warning("watch: cannot watch %s: %s", self.root, exc)
            self._observer = None
        self._refresh_links()
        # The observer's thread only marks the links stale: it holds the observer's lock
        # while it hands an event over, and (un)scheduling a watch takes that lock too, so
        # the watches change on the loop's thread, in check() (which the loop calls before
        # the full pass that such an event asks for). Done on the observer's thread, a
        # check() changing watches at the same moment deadlocked the two.
        self.handler.on_links = self._relink.set

    @property
    def _blind(self) -> bool:
        """A linked folder that cannot be watched, or that lies on a network filesystem
        (edits made elsewhere give no event): the watcher runs on for everything else, but
        is not trusted alone (the daemon walks the vault on its polls)."""
        return not all(trusted for _, _, trusted in self._links.values())

    def _refresh_links(self) -> None:
        """Watch each folder linked into the vault as its walk reads it now, and stop
        watching the ones unlinked or linked elsewhere since: at start, when a link is
        made, and on the check after a folder came in (it may hold links) or a link went.
        A watch left on a folder no longer linked passed its events on under a path of the
        vault that was no longer there."""
        if self._observer is None:
            self.handler.links = frozenset()
            return
        now = dict(linked_folders(self.root))
        for link, (real, watch, _) in list(self._links.items()):
            if now.get(link) != real:
                del self._links[link]
                if watch is not None:
                    with contextlib.suppress(Exception):  # its folder went meanwhile
                        self._observer.unschedule(watch)
        for link, real in now.items():
            if link not in self._links:
                watch = watch_linked(self._observer, link, real, self.handler)
                trusted = watch is not None and not remote_filesystem(real)
                self._links[link] = (real, watch, trusted)
        self.handler.links = frozenset(self._links)

    def stop(self) -> None:
        logging.getLogger("watchdog").removeHandler(self._overflow)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)

    def _running(self) -> bool:
        obs = self._observer
        if obs is None or not obs.is_alive():
            return False
        return all(e.is_alive() for e in getattr(obs, "emitters", ()))

    @property
    def healthy(self) -> bool:
        """Every change since the last ``check()`` came (or comes) as an event."""
        if self._identity is None or self._remote or self._blind:
            return False
        if self._lost.is_set() or not self._running():
            return False
        return _identity(self.root) == self._identity

    def check(self) -> bool:
        """True while nothing was lost; else restart the watcher (if the root is there) and
        return False once, so the caller scans the whole vault."""
        if self._relink.is_set():
            self._relink.clear()
            self._refresh_links()
        if self._lost.is_set():
            self._lost.clear()
            return False
        now = _identity(self.root)
        if now is not None and now == self._identity and self._running():
            return True
        if now is None and self._identity is None:
            return True  # still away: already reported when it went
        if self._observer is not None:
            with contextlib.suppress(Exception):  # a stopped emitter or an old root's watches
                self._observer.stop()
        self._start()
        self.restarts += 1
        return False
