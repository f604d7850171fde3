"""One pass of the daemon: run the engine for a job, report it as events, and remember the
hash of every note the state now knows, so the watcher events of the daemon's own writes
are recognised and cause no further pass."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import atomic
from .. import progress as progress_mod
from ..api.events import EventBus
from ..runtime import one_shot_gc
from ..sync.engine import JOURNAL_ACTIONS, RunOptions, SyncEngine
from ..sync.state import StateDB
from ..vault.store import VaultStore
from .loop import Job

log = logging.getLogger(__name__)

WARN_AGAIN = 3600.0
"""Seconds after which a pass's warning that still holds is logged again."""

WRITTEN_KEEP = 20_000
"""How many of its own recent writes the daemon remembers (paths, with content hashes)."""


class PassRunner:
    def __init__(
        self,
        engine: SyncEngine,
        state: StateDB,
        vault: VaultStore,
        events: EventBus,
        *,
        zotero_read_only: bool = False,
        full_poll_every: int = 10,
        after_pull: Callable[[Any], None] | None = None,
        delete_grace: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zotero_read_only = zotero_read_only
        self.delete_grace = delete_grace
        self.clock = clock
        self.vanished: dict[str, float] = {}
        """Paper id -> when a pass first found its note gone from the whole vault (held
        until ``delete_grace`` has passed: see ``WatchConfig.delete_grace_seconds``)."""
        self._held: set[str] = set()
        self._warned: dict[
            str, float
        ] = {}  # plan warning -> when it was last logged  # ... those the last pass left alone for it
        self.full_poll_every = full_poll_every
        self.after_pull = after_pull
        self.polls = 0
        self.watcher_healthy: Callable[[], bool] | None = None
        """Whether every vault change arrives as an event (``VaultWatch.healthy``): then a
        poll never walks the vault, the periodic whole pass is for an untrusted watcher."""
        self.engine = engine
        self.state = state
        self.vault = vault
        self.events = events
        self.known: dict[str, str] = {}
        self._known_at: tuple[int, int] | None = None  # the state's write count it was read at
        self.written: dict[str, str] = {}  # vault path -> hash of the bytes we last wrote
        self._conflicts: tuple[tuple[int, int], dict[int, Any]] | None = None
        self._root = str(vault.root.resolve())
        self._root_abs = os.path.abspath(vault.root)
        self.refresh_known()
        atomic.add_write_listener(self._on_write)

    def close(self) -> None:
        atomic.remove_write_listener(self._on_write)

    def _on_write(self, path: Path, data: bytes) -> None:
        # the path as written (a note in a folder linked into the vault lies outside the
        # vault once resolved), else resolved (a vault reached through a link)
        full = os.path.abspath(path)
        if full.startswith(self._root_abs + "/"):
            rel = full[len(self._root_abs) + 1 :]
        else:
            full = str(path.resolve())
            if not full.startswith(self._root + "/"):
                return
            rel = full[len(self._root) + 1 :]
        self.written.pop(rel, None)
        self.written[rel] = hashlib.sha256(data).hexdigest()
        while len(self.written) > WRITTEN_KEEP:
            self.written.pop(next(iter(self.written)))

    def refresh_known(self) -> None:
        """Note path -> the content hash the state holds for it (after the last pass)."""
        self._known_at = self.state.changes()  # taken first: a write after it moves it
        self.known = {
            p.note_path: p.note_sha256
            for p in self.engine.load_papers(reuse=True).values()
            if p.note_path and p.note_sha256
        }
        # a write of ours that a pass has since read past (the state holds other bytes
        # there: a full or Zotero pass took the user's edit without an event): forgotten,
        # so the user's undo back to it is not taken for our own write
        for rel in [r for r, h in self.written.items() if self.known.get(r, h) != h]:
            del self.written[rel]

    def is_own_write(self, rel: str) -> bool:
        """Nothing to sync at ``rel``: the file holds exactly the bytes the daemon last wrote
        there (a note, an index note, Home, the digest) or what the state knows the note
        holds, or it is gone and no paper's note lives there any more (e.g. the "deleted"
        half of a move the watcher reports late, after the pass that saw the new path).

        A write of ours is forgotten once the file is seen holding anything else: bytes
        that come back to it later (an undo, a revert, a restore from a copy) are the
        user's, and were once taken for the daemon's own until the next full pass."""
        current = atomic.file_sha256(str(self.vault.root / rel))
        ours = self.written.get(rel)
        if ours is not None:
            if current == ours:
                return True
            del self.written[rel]
        return current == self.known.get(rel)

    def recheck_at(self) -> float | None:
        """When a pass must look again at notes held by the deletion grace (on ``clock``),
        or None: the loop runs one then, as no event may come (the note stays gone)."""
        times = [self.vanished[p] for p in self._held if p in self.vanished]
        return min(times) + self.delete_grace if times else None

    def _open_conflicts(self) -> dict[int, Any]:
        """The open conflicts by id, read again only when the database was written since the
        last read (by a pass, or by ``conflicts resolve`` in another process): an idle poll
        asks twice and changes nothing."""
        stamp = self.state.changes()
        if self._conflicts is None or self._conflicts[0] != stamp:
            self._conflicts = (stamp, {c.id: c for c in self.state.list_conflicts(open_only=True)})
        return self._conflicts[1]

    def __call__(self, job: Job) -> None:
        if job.before is not None:
            job.before()
        before = self._open_conflicts()
        self.events.publish("run.started", run=job.to_json())
        quick = False
        if job.reason == "zotero poll":  # one conditional request when Zotero did not move;
            self.polls += 1  # without a trusted watcher every full_poll_every-th poll still
            trusted = self.watcher_healthy is not None and self.watcher_healthy()  # walks
            quick = trusted or self.polls % self.full_poll_every != 0
        had_papers = (
            job.pull and bool(self.engine.load_papers(reuse=True)) and self.state.pull_completed()
        )
        asked: set[str] = set()
        held: set[str] = set()

        def hold_vanished(pid: str) -> bool:
            asked.add(pid)
            now = self.clock()
            if now - self.vanished.setdefault(pid, now) < self.delete_grace:
                held.add(pid)
                return True
            return False

        opts = RunOptions(
            pull_catalog=job.pull,
            dry_run=job.dry_run,
            show_progress=False,
            changed_paths=frozenset(job.paths) if job.paths is not None else None,
            if_zotero_changed=quick,
            zotero_read_only=self.zotero_read_only,
            hold_vanished=hold_vanished if self.delete_grace > 0 else None,
        )

        def on_progress(step: str, done: int, total: int | None) -> None:
            job.progress = {"step": step, "done": done, "total": total}
            self.events.publish("run.progress", run=job.id, **job.progress)

        progress_mod.set_listener(on_progress)
        try:
            # as pull and sync (14 full collections, 1.1 s, of a 20,000-paper start pass
            # with the defaults), and swept: the daemon lives on, its garbage must not
            with one_shot_gc(sweep=True):
                res = self.engine.run(opts)
        except Exception as exc:
            # no pass again at once for what the grace held: a pass that fails (the delete
            # guard, say) would fail again, in a loop; the next event or timer looks again
            self._held = set()
            job.errors.append(str(exc))
            job.status = "failed"
            self.events.publish("error", run=job.id, message=str(exc))
            self.events.publish("run.done", run=job.to_json())
            raise
        finally:
            progress_mod.set_listener(None)
            # only when the state was written since: an idle poll would otherwise decode
            # every paper's stamp (~20 ms at 5,000 papers) for nothing, twelve times a minute
            if not job.dry_run and self.state.changes() != self._known_at:
                self.refresh_known()
        if res.collected and not job.dry_run:
            # a note found again, or its deletion applied: no longer waiting
            self.vanished = {p: t for p, t in self.vanished.items() if p in asked}
            self._held = held
        if res.saved_meanwhile:  # their events bring the next pass, which reads them first
            log.info(
                "watch (%s): %d notes saved during the pass, kept as saved",
                job.reason,
                len(res.saved_meanwhile),
            )
        if not job.dry_run:
            self._log_warnings(job, res.plan.warnings)
        plan = res.plan.to_json(limit=JOURNAL_ACTIONS)
        if res.guard is not None:  # a dry run: the deletions a real pass would stop at
            plan["warnings"] = [*plan["warnings"], f"{res.guard}"]
        job.plan, job.applied, job.state_run_id = plan, dict(res.applied), res.run_id
        job.errors.extend(res.errors)
        if job.pull and self.after_pull is not None:
            # after every pull pass, so the caller can release what it kept for it; the
            # actions only when they are news (not the first fill, not a dry run)
            self.after_pull(res.plan.actions if had_papers and not job.dry_run else [])
        after = self._open_conflicts()
        for cid in sorted(after.keys() - before.keys()):
            c = after[cid]
            self.events.publish("conflict.opened", conflict=cid, paper=c.pllm_id, field=c.field)
        for cid in sorted(before.keys() - after.keys()):
            self.events.publish("conflict.resolved", conflict=cid, paper=before[cid].pllm_id)
        changed = {k: v for k, v in res.applied.items() if v}
        # a pass that did nothing (every idle poll) at DEBUG: the idle daemon appends nothing
        # to its log file (12 lines a minute at a 5 s poll were its only disk writes)
        log.log(
            logging.INFO if changed or job.errors else logging.DEBUG,
            "watch (%s): %s",
            job.reason,
            changed or "nothing to do",
        )
        job.status = "done" if not job.errors else "failed"
        self.events.publish("run.done", run=job.to_json())

    def _log_warnings(self, job: Job, warnings: list[str]) -> None:
        """A pass's warnings (a deletion waiting out its grace, a note that cannot be
        read, copies of a note) into the daemon's log, each once an hour while it lasts:
        they were only in ``/v1/status``, so a log file showed nothing of a deletion
        pending; every pass repeats them, and the log must not grow with each poll."""
        now = time.monotonic()
        self._warned = {w: t for w, t in self._warned.items() if now - t < WARN_AGAIN}
        for w in warnings:
            if w not in self._warned:
                log.warning("watch (%s): %s", job.reason, w)
                self._warned[w] = now

    def apply_merged(self, pllm_id: str, field: str, value: Any) -> None:
        """Write a merged conflict value into the paper's note (the pass then carries it to
        Zotero, see ``DaemonBackend.resolve``)."""
        paper = self.state.get_paper(pllm_id)
        if paper is None or not paper.note_path:
            raise LookupError(f"paper {pllm_id} has no note to write the merged value into")
        note = self.vault.read_note(paper.note_path)
        self.vault.update_note(note, {field: value})
