"""The daemon as the local API sees it (``pllm_sync.api.backend.Backend``).

Reads come straight from the state database (thread-safe, WAL). Anything that changes data
(a sync, a conflict choice) becomes a job on the worker loop, so the API can never race a
pass: it returns the job at once and the front end follows it by id or by events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from .. import __version__
from ..api import API_VERSION
from ..api.backend import ConflictClosed
from ..api.events import EventBus
from ..record import CATALOG_FIELDS, SECTION_SEP
from ..sync.state import ConflictRow, PaperState, StateDB
from .loop import WatchLoop

JSONABLE = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """State values as JSON: sets become sorted lists, tuples lists."""
    if isinstance(value, JSONABLE):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


class DaemonBackend:
    def __init__(
        self,
        loop: WatchLoop,
        state: StateDB,
        events: EventBus,
        *,
        vault_root: str,
        zotero: str | None,
        zotero_link: Callable[[str], str] | None = None,
        stream_info: Callable[[], dict[str, Any]] | None = None,
        apply_merged: Callable[[str, str, Any], None] | None = None,
    ) -> None:
        self.loop = loop
        self.state = state
        self.events = events
        self.vault_root = vault_root
        self.zotero = zotero
        self.zotero_link = zotero_link
        self.stream_info = stream_info
        self.apply_merged = apply_merged
        self.started_at = time.time()

    # ------------------------------------------------------------------ status and runs
    def status(self) -> dict[str, Any]:
        current = self.loop.current
        return {
            "api_version": API_VERSION,
            "daemon": {
                "pid": os.getpid(),
                "version": __version__,
                "started_at": self.started_at,
                "vault": self.vault_root,
                "zotero": self.zotero,
                "stream": self.stream_info() if self.stream_info else {"connected": False},
            },
            "running": current.to_json() if current is not None else None,
            "queue": self.loop.queued(),
            "last_runs": [j.to_json() for j in self.loop.recent_jobs(10)],
            "conflicts": len(self.state.list_conflicts(open_only=True)),
        }

    def start_sync(self, dry_run: bool) -> dict[str, Any]:
        job = self.loop.submit(self.loop.new_job("api", dry_run=dry_run, paths=None))
        return job.to_json()

    def get_run(self, run_id: str) -> dict[str, Any]:
        job = self.loop.get_job(run_id)
        if job is None:
            raise LookupError(f"no run {run_id!r} (the daemon remembers its last runs only)")
        return job.to_json()

    # ------------------------------------------------------------------ conflicts
    def _conflict(self, c: ConflictRow, paper: PaperState | None) -> dict[str, Any]:
        listed = None
        if paper is not None and paper.catalog_base is not None and c.field in CATALOG_FIELDS:
            listed = paper.catalog_base.get(c.field)
        base = paper.base if paper is not None else None
        return {
            "id": c.id,
            "paper": c.pllm_id,
            "title": str(base.get("title")) if base and base.get("title") else None,
            "note_path": paper.note_path if paper is not None else None,
            "field": c.field,
            "base": jsonable(c.base),
            "zotero": jsonable(c.zotero),
            "vault": jsonable(c.vault),
            "list": jsonable(listed),
            "open": c.open,
            "resolution": c.resolution,
        }

    def conflicts(self) -> list[dict[str, Any]]:
        rows = self.state.list_conflicts(open_only=True)
        return [self._conflict(c, self.state.get_paper(c.pllm_id)) for c in rows]

    def resolve(self, conflict_id: int, take: str | None, value: Any) -> dict[str, Any]:
        row = self.state.get_conflict(conflict_id)
        if row is None:
            raise LookupError(f"no conflict with id {conflict_id}")
        if not row.open:
            raise ConflictClosed(f"conflict {conflict_id} is already resolved ({row.resolution})")
        choice = f"take-{take}" if take else "merged"
        if take is None and self.apply_merged is None:
            raise ValueError("this daemon cannot write merged values; take a side instead")

        def record_choice() -> None:
            # Same rule as `pllm-sync conflicts resolve`: make the losing value the base, so
            # the pass sees only the winner as changed and carries it over. A merged value is
            # written into the vault copy's side of the comparison: the base becomes the
            # Zotero value and the note is given the merged one, so the vault "wins" with it.
            now = self.state.get_conflict(conflict_id)
            if now is None or not now.open:
                return
            paper = self.state.get_paper(row.pllm_id)
            with self.state.transaction():
                if paper is not None and paper.base is not None:
                    loser = now.vault if take == "zotero" else now.zotero
                    paper.base = {**paper.base, row.field: loser}
                    self.state.put_paper(paper)
                self.state.resolve_conflict(conflict_id, choice)
            if take is None and self.apply_merged is not None:
                self.apply_merged(row.pllm_id, row.field, value)
            self.events.publish(
                "conflict.resolved", conflict=conflict_id, paper=row.pllm_id, resolution=choice
            )

        job = self.loop.submit(
            self.loop.new_job(f"resolve conflict {conflict_id}", paths=None, before=record_choice)
        )
        conflict = self._conflict(row, self.state.get_paper(row.pllm_id))
        return {"conflict": conflict, "run": job.to_json()}

    # ------------------------------------------------------------------ papers
    def _last_runs_by_paper(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for run in reversed(self.state.list_runs(limit=20)):
            plan = run.plan if isinstance(run.plan, dict) else {}
            for a in plan.get("actions") or []:
                if isinstance(a, dict) and a.get("id"):
                    out[str(a["id"])] = run.id
        return out

    def _paper(
        self, p: PaperState, conflicts: list[ConflictRow], last_runs: dict[str, int]
    ) -> dict[str, Any]:
        base = p.base or p.catalog_base or {}
        sections = sorted(str(s) for s in base.get("sections") or ())
        lists = sorted({s.split(SECTION_SEP, 1)[0] for s in sections})
        catalog = (
            "removed" if p.tombstone else "listed" if p.catalog_base is not None else "not listed"
        )
        link = None
        if p.zotero_key and self.zotero_link is not None:
            link = self.zotero_link(p.zotero_key)
        return {
            "id": p.pllm_id,
            "title": str(base["title"]) if base.get("title") else None,
            "note_path": p.note_path,
            "zotero_key": p.zotero_key,
            "zotero_link": link,
            "lists": lists,
            "sections": sections,
            "status": str(base["status"]) if base.get("status") else None,
            "catalog": catalog,
            "last_run": last_runs.get(p.pllm_id),
            "conflicts": [self._conflict(c, p) for c in conflicts],
        }

    def papers(self, query: str, limit: int) -> list[dict[str, Any]]:
        words = query.lower().split()
        found: list[PaperState] = []
        for p in self.state.all_papers().values():
            title = str((p.base or p.catalog_base or {}).get("title") or "")
            hay = " ".join((p.pllm_id, title, p.note_path or "", p.zotero_key or "")).lower()
            if all(w in hay for w in words):
                found.append(p)
        found.sort(key=lambda p: p.pllm_id)
        found = found[:limit]
        open_ = self.state.list_conflicts(open_only=True)
        last_runs = self._last_runs_by_paper()
        return [
            self._paper(p, [c for c in open_ if c.pllm_id == p.pllm_id], last_runs) for p in found
        ]

    def paper(self, pllm_id: str) -> dict[str, Any]:
        p = self.state.get_paper(pllm_id)
        if p is None:
            raise LookupError(f"no paper with id {pllm_id!r}")
        rows = self.state.list_conflicts(open_only=True, pllm_id=pllm_id)
        return self._paper(p, rows, self._last_runs_by_paper())
