"""The daemon's single worker loop.

Every pass is an ordinary engine run, so the daemon can never do anything a one-shot
``sync`` would not. Passes never overlap: vault changes (debounced, naming the changed
notes), Zotero stream updates and polls, catalog refreshes, periodic full reconciles and
requests from the local API all become jobs on one queue, served by this one loop in order.
Jobs that wait together are merged (a burst of saves and a Zotero update make one pass).
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import WatchConfig
from .watcher import VaultSignal

log = logging.getLogger(__name__)

KEEP_JOBS = 200
"""Finished jobs the loop remembers for the API (``/v1/runs/{id}``)."""

IDLE_WAKE = 5.0
"""The longest the idle loop sleeps: it wakes for what is due (a poll, a refresh, a
debounced change; a vault event, a stream update or a submitted job wake it at once) and at
least this often to check on the vault watcher. It used to wake every 0.2 s: ~1 ms of CPU a
second, as much as the idle daemon's whole budget."""


RETRY_FIRST = 30.0
"""Seconds after a failed pass before the daemon tries a full pass again by itself; doubled
after each failure in a row, up to the reconcile interval."""


@dataclass
class Job:
    """One pass: why, what it may read, and (once run) what it did."""

    id: str
    reason: str
    pull: bool = False
    dry_run: bool = False
    paths: set[str] | None = None  # vault paths that changed; None = scan the whole vault
    before: Callable[[], None] | None = None  # e.g. record a conflict choice first
    status: str = "queued"  # queued | running | done | failed
    queued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    state_run_id: int | None = None
    plan: dict[str, Any] | None = None
    applied: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    progress: dict[str, Any] | None = None  # {"step", "done", "total"} while it runs

    def mergeable(self, other: Job) -> bool:
        return (
            self.status == "queued"
            and self.pull == other.pull
            and self.dry_run == other.dry_run
            and self.before is None
            and other.before is None
        )

    def absorb(self, other: Job) -> None:
        if self.paths is None or other.paths is None:
            self.paths = None
        else:
            self.paths |= other.paths
        if other.reason not in self.reason.split(" + "):
            self.reason = f"{self.reason} + {other.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "status": self.status,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "state_run_id": self.state_run_id,
            "plan": self.plan,
            "applied": self.applied,
            "errors": list(self.errors),
            "progress": self.progress,
        }


@dataclass
class LoopStats:
    passes: int = 0
    pulls: int = 0
    failures: int = 0
    own_writes_skipped: int = 0
    reasons: list[str] = field(default_factory=list)


class WatchLoop:
    """Decides when to run a pass; ``run_pass(job)`` does the work.

    ``is_own_write(path)`` says whether a changed note holds exactly what the daemon last
    wrote or read (by content hash): such events never cause a pass. ``stream_connected()``
    says whether Zotero's streaming API is up; while it is, Zotero is polled only at the
    reconcile interval."""

    def __init__(
        self,
        cfg: WatchConfig,
        signal_: VaultSignal,
        run_pass: Callable[[Job], None],
        *,
        tick: float = IDLE_WAKE,
        is_own_write: Callable[[str], bool] | None = None,
        stream_connected: Callable[[], bool] | None = None,
        on_queued: Callable[[Job], object] | None = None,
        zotero_seen: Callable[[], int | None] | None = None,
        watcher_ok: Callable[[], bool] | None = None,
        recheck_at: Callable[[], float | None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.signal = signal_
        self.run_pass = run_pass
        self.tick = tick
        self.is_own_write = is_own_write
        self.stream_connected = stream_connected or (lambda: False)
        self.on_queued = on_queued
        self.zotero_seen = zotero_seen or (lambda: None)
        self.watcher_ok = watcher_ok
        self.recheck_at = recheck_at or (lambda: None)
        """When notes held by the deletion grace must be looked at again (``time.monotonic``):
        no event may come for them, so the loop runs a pass then."""
        self.stop_event = threading.Event()
        self.stopped_by: int | None = None
        self.stats = LoopStats()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._queue: list[Job] = []
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._ids = itertools.count(1)
        self._zotero_changed = False
        self._zotero_announced: int | None = None
        self._force_full = False
        self._retry_at: float | None = None  # a full pass again after a failed one, ...
        self._retries = 0  # ... later each time it fails again (30 s, 60 s, ... reconcile)
        self.current: Job | None = None
        signal_.on_change = self._wake.set  # a vault event wakes the sleeping loop

    # ------------------------------------------------------------------ from other threads
    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.stopped_by = signum
            self.stop_event.set()
            self._wake.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, handler)

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    def new_job(self, reason: str, **kw: Any) -> Job:
        return Job(id=f"r{next(self._ids)}", reason=reason, **kw)

    def submit(self, job: Job) -> Job:
        """Queue ``job``, or merge it into a compatible job already waiting; returns the job
        that will run."""
        with self._lock:
            for queued in self._queue:
                if queued.mergeable(job):
                    queued.absorb(job)
                    self._jobs[job.id] = queued  # the caller's id finds the merged job
                    self._wake.set()
                    return queued
            self._queue.append(job)
            self._remember(job)
        if self.on_queued is not None:
            self.on_queued(job)
        self._wake.set()
        return job

    def zotero_changed(self, version: int | None = None) -> None:
        """The stream said the library moved (to ``version``; None = maybe, e.g. after a
        reconnect): read Zotero's changes now, unless the daemon wrote that version itself."""
        with self._lock:
            self._zotero_changed = True
            if version is None:
                self._zotero_announced = -1  # unknown: always read
            elif self._zotero_announced != -1:
                self._zotero_announced = max(self._zotero_announced or 0, version)
        self._wake.set()

    def _take_zotero_change(self) -> bool:
        with self._lock:
            changed, announced = self._zotero_changed, self._zotero_announced
            self._zotero_changed, self._zotero_announced = False, None
        if not changed:
            return False
        seen = self.zotero_seen()
        if announced is not None and announced != -1 and seen is not None and announced <= seen:
            self.stats.own_writes_skipped += 1  # our own Zotero writes: nothing new to read
            return False
        return True

    def get_job(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent_jobs(self, n: int = 10) -> list[Job]:
        with self._lock:
            seen: dict[str, Job] = {}
            for j in reversed(self._jobs.values()):
                if j.status in ("done", "failed"):
                    seen.setdefault(j.id, j)
                if len(seen) >= n:
                    break
            return list(seen.values())

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > KEEP_JOBS:
            self._jobs.popitem(last=False)

    # ------------------------------------------------------------------ the worker
    def _do(self, job: Job) -> None:
        job.status, job.started_at = "running", time.time()
        self.current = job
        try:
            self.run_pass(job)
            job.status = "done" if not job.errors else "failed"
            self.stats.passes += 1
            self._retry_at, self._retries = None, 0
            self.stats.pulls += int(job.pull)
            self.stats.reasons.append(job.reason)
        except Exception as exc:  # keep the daemon alive; the next pass retries
            job.status = "failed"
            if str(exc) not in job.errors:  # (the pass itself may have said it already)
                job.errors.append(str(exc))
            self.stats.failures += 1
            self._force_full = True  # the edits it carried must not be forgotten
            # and retried by itself: events may not come (notes put back after the
            # mass-delete guard stopped a pass hold the bytes the state knows, so they were
            # taken for the daemon's own writes, and edits waited for the reconcile)
            wait = min(
                RETRY_FIRST * 2**self._retries, max(RETRY_FIRST, self.cfg.reconcile_minutes * 60)
            )
            self._retry_at, self._retries = time.monotonic() + wait, self._retries + 1
            log.error("watch: %s pass failed: %s", job.reason, exc)
        finally:
            job.finished_at = time.time()
            self.current = None

    def _vault_job(self) -> Job | None:
        changes = self.signal.take_changes(self.cfg.debounce_seconds)
        if changes is None:
            return None
        paths, full = changes
        if full:
            return self.new_job("vault change", paths=None)
        if self.is_own_write is not None:
            own = {p for p in paths if self.is_own_write(p)}
            if own:
                self.stats.own_writes_skipped += len(own)
                log.debug("watch: %d own writes, no pass for them", len(own))
            paths -= own
        return self.new_job("vault change", paths=paths) if paths else None

    def _next(self) -> Job | None:
        with self._lock:
            job = self._queue.pop(0) if self._queue else None
        if job is not None and self._force_full:
            job.paths, self._force_full = None, False  # after a failure: scan everything
        return job

    def run(self, *, max_seconds: float | None = None, max_passes: int | None = None) -> LoopStats:
        start = time.monotonic()
        reconcile = self.cfg.reconcile_minutes * 60
        last_read = start  # the last time Zotero was asked (poll or stream-driven read)
        next_pull = start + self.cfg.catalog_refresh_minutes * 60
        next_reconcile = start + reconcile
        first = self.new_job("start", pull=True)
        self._remember(first)
        self._do(first)
        while not self.stop_event.is_set():
            now = time.monotonic()
            if max_seconds is not None and now - start >= max_seconds:
                break
            if max_passes is not None and self.stats.passes >= max_passes:
                break
            if now >= next_pull:
                self.submit(self.new_job("catalog refresh", pull=True))
                next_pull = now + self.cfg.catalog_refresh_minutes * 60
                last_read = now
            if self.watcher_ok is not None and not self.watcher_ok():
                # The watcher died (and was restarted): events may be lost, scan everything.
                log.error("watch: the vault watcher failed; restarted it, scanning the vault")
                self.submit(self.new_job("watcher restarted", paths=None))
            vault_job = self._vault_job()
            if vault_job is not None:
                self.submit(vault_job)
            # The poll interval follows the stream: when it drops, polling resumes at once.
            if self._take_zotero_change():
                self.submit(self.new_job("zotero change", paths=set()))
                last_read = now
            elif now - last_read >= self._poll_interval():
                self.submit(self.new_job("zotero poll", paths=set()))
                last_read = now
            if now >= next_reconcile:
                self.submit(self.new_job("reconcile", paths=None))
                next_reconcile = now + reconcile
            if self._retry_at is not None and now >= self._retry_at and not self._queue:
                self._retry_at = None
                self.submit(self.new_job("retry after a failed pass", paths=None))
            recheck = self.recheck_at()
            if recheck is not None and now >= recheck:
                self.submit(self.new_job("deletion grace over", paths=set()))
            job = self._next()
            if job is not None:
                self._do(job)
                continue
            # Sleep until the next thing is due; events, updates and jobs wake it earlier.
            due_at = [last_read + self._poll_interval(), next_pull, next_reconcile]
            if recheck is not None:
                due_at.append(recheck)
            if self._retry_at is not None:
                due_at.append(self._retry_at)
            if max_seconds is not None:
                due_at.append(start + max_seconds)
            wait = min(self.tick, max(0.0, min(due_at) - time.monotonic()))
            due = self.signal.quiet_in(self.cfg.debounce_seconds)
            if due is not None:
                wait = min(wait, due + 0.001)
            self._wake.wait(wait + 0.001)  # set since the last clear(): returns at once
            self._wake.clear()
        return self.stats

    def _poll_interval(self) -> float:
        """Poll often while the stream is down; with the stream up, polling is only the
        safety net."""
        if self.stream_connected():
            return max(self.cfg.zotero_poll_seconds, self.cfg.reconcile_minutes * 60)
        return self.cfg.zotero_poll_seconds
