"""Batched writes that never duplicate and never overwrite a concurrent edit.

Every object goes out in a multi-object ``POST`` of at most 50, and:

- new objects carry client-made keys and ``version: 0``, so a create that is retried (after
  a lost response, a crash, or a rerun) cannot make a second copy: the server either
  answers 412 ``Write token already used`` for the same request, or reports the key as
  existing (per-index 412), and both are read back and treated as created;
- each request carries a ``Zotero-Write-Token`` (kept across transport retries of the same
  body) and ``If-Unmodified-Since-Version`` = the library version we last saw, so a write
  only lands on a library we know; on a library 412 the affected objects are re-read and the
  request retried, a bounded number of times;
- updates carry each object's own ``version``; a stale one (per-index 412) is re-read. If the
  fields we meant to change are untouched in the fresh copy (``base`` given), or the change
  already landed, it is retried or counted done; otherwise it is reported as a conflict,
  never forced — except for objects we own outright (``force``: our collections, trashing);
- every ``failed`` entry is handled: 429/5xx/lock are retried, a child whose parent failed is
  reported with the parent's title, the rest are reported with the object's title.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .client import ZoteroHttp
from .errors import ZoteroWriteError
from .mapping import _tag_set

log = logging.getLogger(__name__)

MAX_BATCH = 50
TRANSIENT_CODES = frozenset({429, 500, 502, 503, 504})
FAST_JSON_OBJECTS = 10
"""From this many objects a batch is encoded with orjson (a first pull sends ~150 of 50)."""


@dataclass
class WriteOp:
    """One object to write. ``obj`` has PATCH semantics (``key``, ``version`` + changes)."""

    obj: dict[str, Any]
    label: str = ""
    ref: str | None = None
    base: dict[str, Any] | None = None
    force: bool = False
    attempts: int = 0

    @property
    def key(self) -> str:
        return str(self.obj["key"])

    @property
    def create(self) -> bool:
        return self.obj.get("version") == 0

    @property
    def parent(self) -> str | None:
        p = self.obj.get("parentItem") or self.obj.get("parentCollection")
        return str(p) if p else None


@dataclass
class OpOutcome:
    key: str
    ok: bool
    version: int | None = None
    data: dict[str, Any] | None = None
    code: int | None = None
    message: str = ""
    op: WriteOp | None = None


@dataclass
class BatchWriter:
    """Writes ops of one kind (``items`` or ``collections``), recording every outcome."""

    http: ZoteroHttp
    kind: str
    max_op_attempts: int = 3
    max_precondition_retries: int = 3
    outcomes: dict[str, OpOutcome] = field(default_factory=dict)
    on_outcome: Callable[[OpOutcome], None] | None = None
    """Called with each outcome as soon as it is recorded (final: an object's outcome is
    recorded once), so a caller can act on what landed while later chunks are in flight."""

    def __post_init__(self) -> None:
        self._path = f"{self.http.prefix}/{self.kind}"
        self._title = "collection" if self.kind == "collections" else "item"

    # ------------------------------------------------------------------ driver

    def write(self, ops: Iterable[WriteOp]) -> dict[str, OpOutcome]:
        """Send ``ops`` in order (a parent always before its children), ≤50 per request.

        Each round takes ops from the front of the queue until a chunk is full, so a round
        costs the size of its chunk (plus children held back for a parent still queued), not
        the size of the whole queue: scheduling is linear in the number of ops."""
        pending: deque[WriteOp] = deque(ops)
        unresolved: Counter[str] = Counter(op.key for op in pending)
        while pending:
            chunk: list[WriteOp] = []
            in_chunk: set[str] = set()
            held: list[WriteOp] = []
            while pending and len(chunk) < MAX_BATCH:
                op = pending.popleft()
                parent = op.parent
                done = self.outcomes.get(parent) if parent else None
                if done is not None and not done.ok and not unresolved[parent or ""]:
                    unresolved[op.key] -= 1
                    self._fail(op, 409, f"not written because its parent failed ({done.message})")
                elif parent and unresolved[parent] and parent not in in_chunk:
                    held.append(op)
                else:
                    chunk.append(op)
                    in_chunk.add(op.key)
            if not chunk:
                for op in held:
                    self._fail(op, 409, "its parent could not be written")
                break
            pending.extendleft(reversed(held))
            for op in chunk:
                unresolved[op.key] -= 1
            again = self._post(chunk)
            for op in again:
                unresolved[op.key] += 1
            pending.extend(again)
        return self.outcomes

    # ------------------------------------------------------------------ outcomes

    def _ok(self, op: WriteOp, version: int | None, data: dict[str, Any] | None) -> None:
        out = self.outcomes[op.key] = OpOutcome(op.key, True, version, data, op=op)
        if self.on_outcome is not None:
            self.on_outcome(out)

    def _fail(self, op: WriteOp, code: int, message: str) -> None:
        # info, not warning: every failure reaches the user once, in the write report
        name = f" {op.label!r}" if op.label else ""
        log.info("Zotero %s %s%s not written: %s (%s)", self._title, op.key, name, message, code)
        out = self.outcomes[op.key] = OpOutcome(op.key, False, code=code, message=message, op=op)
        if self.on_outcome is not None:
            self.on_outcome(out)

    # ------------------------------------------------------------------ one request

    def _post(self, chunk: list[WriteOp]) -> list[WriteOp]:
        """POST one chunk (with precondition retries); returns the ops to send again."""
        requeue: list[WriteOp] = []
        live = list(chunk)
        for _round in range(self.max_precondition_retries + 1):
            if not live:
                return requeue
            token = secrets.token_hex(16)
            headers = {"Zotero-Write-Token": token, "Content-Type": "application/json"}
            isuv = self.http.last_version
            if isuv is not None:
                headers["If-Unmodified-Since-Version"] = str(isuv)
            objs = [op.obj for op in live]
            if len(objs) >= FAST_JSON_OBJECTS:
                import orjson  # here: importing it costs more than encoding a few objects

                # the very bytes httpx2 sends for ``json=`` (compact, UTF-8), ~10x faster
                body = orjson.dumps(objs)
                resp = self.http.request("POST", self._path, content=body, headers=headers)
            else:
                resp = self.http.request("POST", self._path, json_body=objs, headers=headers)
            if resp.status_code == 200:
                if isuv is not None and isuv == self.http.read_version:
                    # Nobody wrote between our last known version and this write.
                    self.http.read_version = self.http.last_version
                return requeue + self._report(
                    live, self.http.json_of(resp, f"writing to {self._path}")
                )
            if resp.status_code == 412:
                text = resp.text
                if "Write token" in text:
                    # An earlier attempt of this very request landed but its answer was lost.
                    log.info("write token already used: reading the objects back")
                    live = self._refresh(live)
                    continue
                log.info("library changed (%s); re-reading %d objects", text.strip(), len(live))
                live = self._refresh(live)
                self.http.backoff.pause(self.http.retry_delay * (_round + 1))
                continue
            err = self.http.fail(resp, f"writing {len(live)} {self.kind}")
            raise ZoteroWriteError(err.message, err.hint, partial=dict(self.outcomes))
        for op in live:
            self._fail(op, 412, "the library kept changing while writing; run again")
        return requeue

    def _report(self, live: list[WriteOp], report: dict[str, Any]) -> list[WriteOp]:
        requeue: list[WriteOp] = []
        stale: list[WriteOp] = []
        successful = report.get("successful") or {}
        unchanged = report.get("unchanged") or {}
        failed = report.get("failed") or {}
        for i, op in enumerate(live):
            idx = str(i)
            if idx in successful:
                s = successful[idx]
                self._ok(op, s.get("version"), s.get("data"))
            elif idx in unchanged:
                self._ok(op, op.obj.get("version") or None, None)
            elif idx in failed:
                f = failed[idx]
                code = int(f.get("code") or 0)
                msg = str(f.get("message") or "")
                if code == 412:
                    stale.append(op)
                elif code in TRANSIENT_CODES or (code == 409 and "lock" in msg.lower()):
                    op.attempts += 1
                    if op.attempts < self.max_op_attempts:
                        requeue.append(op)
                    else:
                        self._fail(op, code, msg)
                elif code == 409 and op.parent and op.parent in {o.key for o in requeue}:
                    requeue.append(op)  # its parent is being retried: follow it
                elif code == 409 and (refused := self._refused_parent(op)) is not None:
                    # The server saved nothing of the refused parent earlier in this batch,
                    # so it answers "Parent item … not found": name the parent's reason.
                    self._fail(op, code, f"not written because its parent failed ({refused})")
                else:
                    self._fail(op, code, msg)
            elif "success" in report and idx in (report.get("success") or {}):
                self._ok(op, None, None)
            else:
                self._fail(op, 0, "missing from Zotero's write report")
        if stale:
            requeue += self._refresh(stale)
        return requeue

    def _refused_parent(self, op: WriteOp) -> str | None:
        """The failure message of ``op``'s parent when it was refused already, else None."""
        done = self.outcomes.get(op.parent) if op.parent else None
        return done.message if done is not None and not done.ok else None

    # ------------------------------------------------------------------ re-reads

    def _refresh(self, ops: list[WriteOp]) -> list[WriteOp]:
        """Re-read ``ops`` and decide each: done, send again (fresh version), or conflict."""
        fresh = self.fetch([op.key for op in ops])
        again: list[WriteOp] = []
        for op in ops:
            f = fresh.get(op.key)
            if op.create:
                if f is not None:
                    self._ok(op, f.get("version"), f)  # created by an earlier attempt
                else:
                    again.append(op)
                continue
            if f is None:
                self._fail(op, 404, f"the {self._title} no longer exists in Zotero")
            elif f.get("version") == op.obj.get("version"):
                again.append(op)
            elif write_applied(op.obj, f):
                self._ok(op, f.get("version"), f)
            elif op.force or (op.base is not None and write_untouched(op.obj, op.base, f)):
                op.obj = {**op.obj, "version": f.get("version")}
                op.attempts += 1
                if op.attempts <= self.max_op_attempts:
                    again.append(op)
                else:
                    self._fail(op, 412, "kept changing in Zotero while writing")
            else:
                self._fail(
                    op,
                    412,
                    "changed in Zotero since it was read; it will be merged on the next sync",
                )
        return again

    def fetch(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Current data of ``keys`` (missing = does not exist), 50 keys per request."""
        out: dict[str, dict[str, Any]] = {}
        zot = self.http.zot
        for i in range(0, len(keys), MAX_BATCH):
            part = ",".join(keys[i : i + MAX_BATCH])
            if self.kind == "items":
                call = partial(zot.items, itemKey=part, includeTrashed=1, limit=100)
            else:
                call = partial(zot.collections, collectionKey=part, includeTrashed=1, limit=100)
            rows: list[dict[str, Any]] = self.http.pz(call, f"re-reading {self.kind}")
            for row in rows:
                data = row.get("data", row)
                out[str(data["key"])] = data
        return out


def _same(field: str, a: Any, b: Any) -> bool:
    if field == "tags":
        return _tag_set(a or ()) == _tag_set(b or ())
    if field == "collections":
        return set(a or ()) == set(b or ())
    if field == "deleted":
        return bool(a) == bool(b)
    if field == "parentCollection":
        return (a or False) == (b or False)
    return (a if a is not None else "") == (b if b is not None else "")


def write_applied(obj: dict[str, Any], fresh: dict[str, Any]) -> bool:
    """True when the item already holds every field ``obj`` writes (the write landed)."""
    return all(_same(k, v, fresh.get(k)) for k, v in obj.items() if k not in ("key", "version"))


def write_untouched(obj: dict[str, Any], base: dict[str, Any], fresh: dict[str, Any]) -> bool:
    """True when nobody changed, since ``base``, any field ``obj`` is about to write."""
    return all(_same(k, base.get(k), fresh.get(k)) for k in obj if k not in ("key", "version"))
