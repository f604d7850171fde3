"""ZoteroStore: the sync engine's only door to a Zotero library.

Reads follow the Web API sync protocol (zotero-api.md §1.6): a full snapshot on the first
run, then ``since``-based increments that cost one request when nothing changed (a 304 to
``If-Modified-Since-Version``), with a restart when the library moves under the read.
Writes go through ``batch.BatchWriter`` (50 per request, client keys, write tokens, version
preconditions, every ``failed`` entry handled). Item shapes come from ``mapping``,
collection-tree planning from ``collections``.

State the caller must keep between runs: the snapshot's ``library_version`` (or, after
writes, ``store.library_version``), the slug-path → collection key mapping, and per paper
its item key. Nothing else is needed for a rerun to converge: a rerun that lost all of it
finds its own items again by ``pllm-sync-id`` and its collections by name.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..config import ZoteroConfig
from ..model import Paper, Section, SectionPath
from ..record import Record
from .batch import MAX_BATCH, BatchWriter, OpOutcome, WriteOp
from .client import Clock, Sleep, ZoteroHttp
from .collections import Node, plan_level, section_paths, tree_nodes
from .errors import ZoteroWriteError
from .lean import items_unchanged_since, since_params
from .mapping import (
    EXTRA_ID,
    build_item,
    code_attachment_item,
    find_code_attachment,
    find_pdf_attachment,
    find_pllm_note,
    is_regular_item,
    item_match_keys,
    item_pllm_id,
    new_key,
    note_item,
    paper_match_keys,
    pdf_attachment_item,
    set_extra,
)
from .notes_html import note_html
from .schema import validate_item

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

MAX_KEYS = 50
Settled = Callable[[str, "str | None"], None]
"""``create_papers``'s progress hook: (pllm id, item key when the paper landed whole)."""
MAX_READ_RESTARTS = 3
CHILDREN_FETCH_LIMIT = 30
"""More changed parents than this and an incremental read fetches all items instead of each
parent's children (one request per 100 items beats one request per parent)."""


# ---------------------------------------------------------------------------- values


@dataclass
class ZoteroSnapshot:
    """What a read saw. ``items`` holds changed top-level items with all their children
    (and the parents of changed children); on a full read, every item."""

    library_version: int
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_items: set[str] = field(default_factory=set)
    deleted_collections: set[str] = field(default_factory=set)
    unchanged: bool = False
    full: bool = False

    def children(self, key: str) -> list[dict[str, Any]]:
        return [d for d in self.items.values() if d.get("parentItem") == key]

    def top_level(self) -> dict[str, dict[str, Any]]:
        return {k: d for k, d in self.items.items() if is_regular_item(d)}


@dataclass
class NewItem:
    """A catalog paper to put in Zotero: the parent item, its code link and notes child."""

    paper: Paper
    record: Record
    collection_keys: list[str] = field(default_factory=list)
    notes_md: str = ""


@dataclass
class ItemChange:
    """A versioned PATCH of one object. ``base``: the data the change was computed from;
    with it, a concurrent edit to *other* fields does not block the write."""

    key: str
    version: int
    data: dict[str, Any]
    base: dict[str, Any] | None = None
    label: str = ""


@dataclass
class NoteUpsert:
    parent_key: str
    note_key: str | None
    note_version: int | None
    markdown: str
    base_html: str | None = None
    """The note's HTML the markdown was merged from; lets a stale write retry safely."""


@dataclass
class Written:
    key: str
    version: int | None
    action: str
    """created | adopted | existing | updated | unchanged | trashed"""
    ref: str | None = None
    children: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    """``"code"``/``"note"`` → (key, version) of children made or found."""
    data: dict[str, Any] | None = None


@dataclass
class WriteFailure:
    key: str | None
    code: int
    message: str
    title: str = ""
    ref: str | None = None

    def __str__(self) -> str:
        what = f"{self.title!r}" if self.title else (self.key or "?")
        return f"{what}: {self.message} ({self.code})"


@dataclass
class WriteReport:
    results: dict[str, Written] = field(default_factory=dict)
    """By pllm id for ``create_papers``; by key for the other writes."""
    failures: list[WriteFailure] = field(default_factory=list)
    requests: int = 0
    library_version: int | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    def versions(self) -> dict[str, int | None]:
        return {w.key: w.version for w in self.results.values()}


# ---------------------------------------------------------------------------- store


class _Settling:
    """``create_papers``'s progress: calls ``on_settled`` for each paper as soon as its
    outcome is final, with the same test ``_paper_report`` makes at the end, on the same
    outcomes. Papers are added as they are planned (``add``); ``hook`` takes each outcome
    the writer records."""

    def __init__(
        self,
        store: ZoteroStore,
        plan: list[tuple[NewItem, str, str, dict[str, str]]],
        on_settled: Settled,
    ) -> None:
        self._store, self._plan, self._on_settled = store, plan, on_settled
        self._waiting: dict[str, list[int]] = {}  # object key -> plan entries waiting for it
        self._left: list[int] = []  # by plan entry: how many of its objects are unanswered
        self._outcomes: dict[str, OpOutcome] = {}
        self._lock = threading.Lock()  # entries are added by the planner, outcomes by the sender

    def add(self, first: int, ops: list[WriteOp], refused: list[WriteFailure]) -> None:
        """The entries ``plan[first:]`` were just planned, with ``ops``; ``refused``, the
        entries the schema check refused (final before anything is sent, as is an entry
        with nothing to write)."""
        with self._lock:
            for f in refused:
                if f.ref:
                    self._on_settled(f.ref, None)
            sent = {op.key for op in ops}
            for i in range(first, len(self._plan)):
                _e, key, _action, kids = self._plan[i]
                parts = {k for k in (key, *kids.values()) if k in sent}
                self._left.append(len(parts))
                for k in parts:
                    self._waiting.setdefault(k, []).append(i)
                if not parts:
                    self._settle(i)

    def _settle(self, i: int) -> None:
        e, key, action, kids = self._plan[i]
        done = self._store._paper_written(e, key, action, kids, self._outcomes, WriteReport())
        self._on_settled(e.paper.id, done.key if done is not None else None)

    def hook(self, o: OpOutcome) -> None:
        with self._lock:
            self._outcomes[o.key] = o
            left = self._left
            for i in self._waiting.pop(o.key, ()):
                left[i] -= 1
                if not left[i]:
                    self._settle(i)


class _Sender:
    """Sends ``create_papers``' chunks in order from a thread of its own, so the next chunk
    is planned (items built and checked against the schema) while Zotero answers this one:
    at 5,000 papers the planning took ~0.35 s between requests that the server's ~0.8 s
    could hide. At most ``depth`` chunks wait; an exception of the writer (a failed write,
    the run cancelled by a settle hook) stops the sending and is raised to the planner at
    its next ``send`` or at ``close``."""

    def __init__(self, writer: BatchWriter, depth: int = 2) -> None:
        self._writer = writer
        self._queue: queue.Queue[list[WriteOp] | None] = queue.Queue(maxsize=depth)
        self._stop = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pllm-zotero-send", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._stop or self.error is not None:
                continue  # drained unsent, so a waiting ``send`` never blocks for good
            try:
                self._writer.write(chunk)
            except BaseException as exc:  # raised in the planner's thread
                self.error = exc

    def send(self, chunk: list[WriteOp]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def close(self, *, abandon: bool = False) -> None:
        """Wait for every chunk sent (``abandon``: only for the one in flight, the planner
        stopped) and raise the writer's exception, if any."""
        self._stop = self._stop or abandon
        self._queue.put(None)
        self._thread.join()
        if self.error is not None and not abandon:
            raise self.error


class ZoteroStore:
    def __init__(
        self,
        config: ZoteroConfig,
        api_key: str,
        *,
        client: httpx2.Client | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        attempts: int = 4,
        retry_delay: float = 1.0,
    ) -> None:
        self.config = config
        self.http = ZoteroHttp(
            config,
            api_key,
            client=client,
            sleep=sleep,
            clock=clock,
            attempts=attempts,
            retry_delay=retry_delay,
        )
        self._items: dict[str, dict[str, Any]] = {}
        self._items_complete = False
        self._collections: dict[str, dict[str, Any]] = {}
        self._collections_complete = False
        self._nodes: dict[str, Node] = {}

    @property
    def request_count(self) -> int:
        """HTTP requests this store has made (reads and writes, retries included)."""
        return self.http.request_count

    @property
    def library_version(self) -> int | None:
        """The safe ``since`` for the next read: every change up to it was read or written
        by this store. After a 412 the library moved on unseen, and this stays behind."""
        return self.http.read_version

    @property
    def local(self) -> bool:
        """True for the desktop's local API (its write key comes with the access check)."""
        return bool(self.config.local)

    def check_access(self, write: bool = True) -> None:
        """Verify key, library and permissions before anything else (one request)."""
        self.http.check_access(write)

    # ------------------------------------------------------------------ reads

    def unchanged_since(self, since: int) -> bool:
        """One conditional request: True when nothing in the library changed since the
        version ``since`` (Zotero answers 304), False when something did. The daemon asks
        this every poll: first through the lean request on a kept-alive connection
        (``lean.py``; the httpx2 stack costs several times more CPU per request), then, for
        any answer but a clean 304, through the client as before."""
        http = self.http
        if items_unchanged_since(http, since, keep=True):
            return True
        resp = http.request(
            "GET",
            f"{http.prefix}/items",
            params={"since": since, "format": "versions", "includeTrashed": 1, "limit": 1},
            headers={"If-Modified-Since-Version": str(since)},
        )
        if resp.status_code == 304:
            return True
        if resp.status_code != 200:
            raise http.fail(resp, "checking for changes")
        return False

    def read(self, since: int | None, *, expect_unchanged: bool = False) -> ZoteroSnapshot:
        """A full snapshot (``since=None``) or the changes since a library version.
        ``expect_unchanged`` (a settled sync): ask first with one lean request (``lean.py``);
        only its 304 is taken, any other answer is asked again here as usual."""
        if self.http.local:
            since = None  # no /deleted locally: list everything; what is gone was deleted
        if since is not None and expect_unchanged and items_unchanged_since(self.http, since):
            snap0 = ZoteroSnapshot(library_version=since, unchanged=True)
            self._absorb(snap0)
            self.http.read_version = self.http.last_version = since
            return snap0
        snap: ZoteroSnapshot | None = None
        for attempt in range(MAX_READ_RESTARTS):
            snap, versions = self._read_full() if since is None else self._read_since(since)
            if snap.unchanged or len(set(versions)) <= 1:
                break
            log.info("Zotero library changed during the read (%s); reading again", versions)
            snap = None
            self.http.backoff.pause(self.http.retry_delay * (attempt + 1))
        if snap is None:
            # A full read falls back to listing keys first (immune to paging shifts); an
            # incremental one is consistent from its first version on: anything newer is
            # simply read again next time.
            snap = self._read_full_by_keys() if since is None else self._read_since(since)[0]
        self._absorb(snap)
        self.http.read_version = snap.library_version
        self.http.last_version = snap.library_version
        return snap

    def _absorb(self, snap: ZoteroSnapshot) -> None:
        if snap.full:
            self._items = dict(snap.items)
            self._collections = dict(snap.collections)
            self._items_complete = self._collections_complete = True
            return
        self._items.update(snap.items)
        self._collections.update(snap.collections)
        for k in snap.deleted_items:
            self._items.pop(k, None)
        for k in snap.deleted_collections:
            self._collections.pop(k, None)

    def _read_full(self) -> tuple[ZoteroSnapshot, list[int]]:
        zot = self.http.zot
        items, v1 = self.http.pz_all(
            lambda: zot.items(includeTrashed=1, limit=100), "reading all items"
        )
        cols, v2 = self.http.pz_all(
            lambda: zot.collections(includeTrashed=1, limit=100), "reading all collections"
        )
        versions = v1 + v2
        snap = ZoteroSnapshot(
            library_version=versions[0] if versions else 0,
            items={str(r["data"]["key"]): r["data"] for r in items},
            collections={str(r["data"]["key"]): r["data"] for r in cols},
            full=True,
        )
        return snap, versions

    def _read_full_by_keys(self) -> ZoteroSnapshot:
        """Full read immune to paging shifts: list every key first, then fetch by key."""
        zot = self.http.zot
        item_versions = self.http.pz(
            lambda: zot.item_versions(includeTrashed=1), "listing all items"
        )
        first = self.http.last_version or 0
        col_versions = self.http.pz(
            lambda: zot.collection_versions(includeTrashed=1), "listing all collections"
        )
        items, _ = self._fetch("items", list(item_versions))
        cols, _ = self._fetch("collections", list(col_versions))
        return ZoteroSnapshot(
            library_version=first,
            items={k: r["data"] for k, r in items.items()},
            collections={k: r["data"] for k, r in cols.items()},
            full=True,
        )

    def _fetch(self, kind: str, keys: list[str]) -> tuple[dict[str, dict[str, Any]], list[int]]:
        """Full objects (``data`` + ``meta``) for ``keys``, 50 per request."""
        zot = self.http.zot
        out: dict[str, dict[str, Any]] = {}
        versions: list[int] = []
        for i in range(0, len(keys), MAX_KEYS):
            part = ",".join(keys[i : i + MAX_KEYS])
            if kind == "items":
                call = partial(zot.items, itemKey=part, includeTrashed=1, limit=100)
            else:
                call = partial(zot.collections, collectionKey=part, includeTrashed=1, limit=100)
            rows: list[dict[str, Any]] = self.http.pz(call, f"reading changed {kind}")
            if self.http.last_version is not None:
                versions.append(self.http.last_version)
            for r in rows:
                out[str(r["data"]["key"])] = r
        return out, versions

    def _read_since(self, since: int) -> tuple[ZoteroSnapshot, list[int]]:
        http = self.http
        resp = http.request(
            "GET",
            f"{http.prefix}/items",
            params=since_params(since),
            headers={"If-Modified-Since-Version": str(since)},
        )
        if resp.status_code == 304:
            return ZoteroSnapshot(library_version=since, unchanged=True), [since]
        zot = http.zot  # pyzotero only once there is something to read
        if resp.status_code != 200:
            raise http.fail(resp, "reading item versions")
        item_versions: dict[str, int] = http.json_of(resp, "reading item versions")
        versions = [http.last_version or since]
        col_versions: dict[str, int] = http.pz(
            lambda: zot.collection_versions(since=since, includeTrashed=1),
            "reading collection versions",
        )
        versions.append(http.last_version or since)
        deleted: dict[str, list[str]] = http.pz(
            lambda: zot.deleted(since=since), "reading deletions"
        )
        versions.append(http.last_version or since)

        fetched, v = self._fetch("items", sorted(item_versions))
        versions += v
        # Complete the families: parents of changed children, and every changed parent's
        # children (an edit to a parent does not touch its children's versions).
        missing_parents = sorted(
            {
                str(r["data"]["parentItem"])
                for r in fetched.values()
                if r["data"].get("parentItem") and r["data"]["parentItem"] not in fetched
            }
        )
        more, v = self._fetch("items", missing_parents)
        versions += v
        fetched.update(more)
        have: Counter[str] = Counter(
            str(c["data"]["parentItem"])
            for c in fetched.values()
            if c["data"].get("parentItem") and not c["data"].get("deleted")
        )
        need = []
        for r in fetched.values():
            if r["data"].get("parentItem"):
                continue
            key = str(r["data"]["key"])
            if int((r.get("meta") or {}).get("numChildren", 0) or 0) > have[key]:
                need.append(key)
        if len(need) > CHILDREN_FETCH_LIMIT:
            everything, v = http.pz_all(
                lambda: zot.items(includeTrashed=1, limit=100), "reading all items"
            )
            versions += v
            wanted = set(need)
            for r in everything:
                if r["data"].get("parentItem") in wanted:
                    fetched.setdefault(str(r["data"]["key"]), r)
        else:
            for key in need:
                kids, v = http.pz_all(
                    partial(zot.children, key, includeTrashed=1, limit=100),
                    "reading child items",
                )
                versions += v
                for r in kids:
                    fetched.setdefault(str(r["data"]["key"]), r)

        cols, v = self._fetch("collections", sorted(col_versions))
        versions += v
        snap = ZoteroSnapshot(
            library_version=versions[0],
            items={k: r["data"] for k, r in fetched.items()},
            collections={k: r["data"] for k, r in cols.items()},
            deleted_items=set(deleted.get("items") or ()),
            deleted_collections=set(deleted.get("collections") or ()),
        )
        return snap, versions

    def _load_items(self) -> None:
        if not self._items_complete:
            items, _ = self.http.pz_all(
                lambda: self.http.zot.items(includeTrashed=1, limit=100), "reading all items"
            )
            self._items = {str(r["data"]["key"]): r["data"] for r in items}
            self._items_complete = True

    def _load_collections(self) -> None:
        if not self._collections_complete:
            cols, _ = self.http.pz_all(
                lambda: self.http.zot.collections(includeTrashed=1, limit=100),
                "reading all collections",
            )
            self._collections = {str(r["data"]["key"]): r["data"] for r in cols}
            self._collections_complete = True

    # ------------------------------------------------------------------ collections

    def ensure_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]:
        """Make the collection tree match ``taxonomies``; return slug path → key for the root
        and every node (plus ``known`` entries whose collections still exist)."""
        self._load_collections()
        nodes = tree_nodes(self.config.root_collection, taxonomies)
        self._nodes = {n.slug: n for n in nodes}
        mapping: dict[str, str] = {}
        claimed: set[str] = set()
        writer = BatchWriter(self.http, "collections")
        failed: list[str] = []
        for depth in sorted({n.depth for n in nodes}):
            level = [n for n in nodes if n.depth == depth]
            for n in level:
                if n.parent is not None and n.parent not in mapping:
                    failed.append(n.name)
            ops = plan_level(level, mapping, self._collections, known, claimed)
            if not ops:
                continue
            try:
                writer.write(ops)
            except ZoteroWriteError as exc:
                self._absorb_collections(writer.outcomes)
                exc.partial = self._confirmed(mapping, writer.outcomes)
                raise
            self._absorb_collections(writer.outcomes)
            bad = {k for k, o in writer.outcomes.items() if not o.ok}
            for slug in [s for s, k in mapping.items() if k in bad]:
                failed.append(mapping.pop(slug))
        for slug, key in known.items():
            c = self._collections.get(key)
            if (
                slug not in mapping
                and c is not None
                and not c.get("deleted")
                and key not in mapping.values()
            ):
                mapping[slug] = key
        if failed:
            msgs = [
                f"{o.op.label if o.op else o.key}: {o.message}"
                for o in writer.outcomes.values()
                if not o.ok
            ]
            raise ZoteroWriteError(
                f"could not create {len(failed)} Zotero collection(s): " + "; ".join(msgs[:5]),
                hint="fix the cause shown and run again; collections already made are reused",
                partial=mapping,
            )
        return mapping

    def find_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]:
        """``ensure_collections`` without writing (a key that may only read): slug path →
        key for the part of the tree that exists."""
        self._load_collections()
        nodes = tree_nodes(self.config.root_collection, taxonomies)
        self._nodes = {n.slug: n for n in nodes}
        mapping: dict[str, str] = {}
        claimed: set[str] = set()
        for depth in sorted({n.depth for n in nodes}):
            plan_level(
                [n for n in nodes if n.depth == depth], mapping, self._collections, known, claimed
            )
        return {slug: key for slug, key in mapping.items() if key in self._collections}

    def writable(self) -> bool:
        """Whether the key may write to this library (the local API: always; it asks)."""
        if self.http.local:
            return True
        info = self.http.key_info()
        access = info.get("access") or {}
        if self.config.library_type == "user":
            return bool((access.get("user") or {}).get("write"))
        groups = access.get("groups") or {}
        grant = groups.get(str(self.config.library_id)) or groups.get("all") or {}
        return bool(grant.get("write"))

    def _absorb_collections(self, outcomes: Mapping[str, OpOutcome]) -> None:
        for key, o in outcomes.items():
            if o.ok:
                base = self._collections.get(key, {})
                data = o.data or {**base, **(o.op.obj if o.op else {}), "version": o.version}
                self._collections[key] = dict(data)

    def _confirmed(
        self, mapping: Mapping[str, str], outcomes: Mapping[str, OpOutcome]
    ) -> dict[str, str]:
        return {
            s: k
            for s, k in mapping.items()
            if (k in self._collections and k not in outcomes) or (k in outcomes and outcomes[k].ok)
        }

    def collection_names(self) -> set[str]:
        """The names of the library's live collections (read once, then kept: the pull's
        ``ensure_collections`` reads the same listing)."""
        self._load_collections()
        return {str(c.get("name")) for c in self._collections.values() if not c.get("deleted")}

    def collection_paths(self, mapping: Mapping[str, str]) -> dict[str, SectionPath]:
        """Collection key → section path for ``item_to_record`` and ``record_to_item_changes``."""
        return section_paths(mapping, self._nodes, self._collections)

    # ------------------------------------------------------------------ item writes

    def _write(
        self, ops: list[WriteOp], on_outcome: Callable[[OpOutcome], None] | None = None
    ) -> tuple[dict[str, OpOutcome], BatchWriter]:
        writer = BatchWriter(self.http, "items", on_outcome=on_outcome)
        try:
            writer.write(ops)
        finally:
            self._keep_written(writer)
        return writer.outcomes, writer

    def _keep_written(self, writer: BatchWriter) -> None:
        """Keep the objects ``writer`` wrote as this store's copies of them."""
        for key, o in writer.outcomes.items():
            if o.ok:
                base = self._items.get(key, {})
                data = o.data or {**base, **(o.op.obj if o.op else {}), "version": o.version}
                self._items[key] = dict(data)

    def create_papers(
        self, entries: Iterable[NewItem], *, on_settled: Settled | None = None
    ) -> WriteReport:
        """Create (or adopt, or find again) one item per entry, with its code link and notes.

        An item already carrying the entry's ``pllm-sync-id`` is *existing*: only what is
        missing (collection memberships, the code attachment, the notes child) is added. A
        library item without an id that matches by arXiv id, DOI or normalised title is
        *adopted*: it gets the id and the memberships. Everything else is *created*.

        ``on_settled(pid, key)`` is called once per entry as soon as its outcome is final,
        while later chunks are still being written: ``key`` is the item key the report will
        hold for it in ``results``, or None when it will not be there (a part failed). It lets
        the engine write a new paper's note while Zotero is still busy with the next ones.
        """
        start = self.request_count
        entries = list(entries)
        self._load_items()
        by_id: dict[str, str] = {}
        by_match: dict[str, str] = {}
        children: dict[str, list[dict[str, Any]]] = {}
        ordered = sorted(
            self._items.values(), key=lambda d: (str(d.get("dateAdded") or ""), str(d["key"]))
        )
        for d in ordered:
            if d.get("parentItem"):
                children.setdefault(str(d["parentItem"]), []).append(d)
                continue
            if not is_regular_item(d):
                continue
            pid = item_pllm_id(d)
            if pid:
                if pid not in by_id or (
                    self._items[by_id[pid]].get("deleted") and not d.get("deleted")
                ):
                    by_id[pid] = str(d["key"])
            elif not d.get("deleted"):
                for mk in item_match_keys(d):
                    by_match.setdefault(mk, str(d["key"]))
        taken = set(self._items)

        def fresh_key() -> str:
            k = new_key(taken)
            taken.add(k)
            return k

        report = WriteReport()
        ops: list[WriteOp] = []  # planned, not sent yet
        plan: list[tuple[NewItem, str, str, dict[str, str]]] = []  # entry, key, action, kids
        adopted: set[str] = set()

        def plan_one(e: NewItem) -> None:
            """Plan one entry: its ops go to ``ops``, the entry to ``plan`` (or the schema
            check's refusal to ``report``)."""
            pid = e.paper.id
            title = e.record.get("title") or e.paper.title
            kids: dict[str, str] = {}
            if pid in by_id:
                key, action = by_id[pid], "existing"
                cur = self._items[key]
                patch = self._collections_patch(cur, e.collection_keys)
            else:
                key = next(
                    (
                        by_match[mk]
                        for mk in (paper_match_keys(e.paper) if by_match else ())
                        if mk in by_match and by_match[mk] not in adopted
                    ),
                    "",
                )
                if key:
                    action = "adopted"
                    adopted.add(key)
                    cur = self._items[key]
                    patch = self._collections_patch(cur, e.collection_keys)
                    patch["extra"] = set_extra(str(cur.get("extra") or ""), {EXTRA_ID: [pid]})
                else:
                    action = "created"
                    key = fresh_key()
                    cur = build_item(e.paper, e.record, key=key, collection_keys=e.collection_keys)
                    problems = validate_item(cur)
                    if problems:
                        report.failures.append(
                            WriteFailure(key, 400, "; ".join(problems), title=title, ref=pid)
                        )
                        return
                    ops.append(WriteOp(obj=cur, label=title, ref=pid))
                    patch = {}
            if patch:
                ops.append(
                    WriteOp(
                        obj={"key": key, "version": cur.get("version"), **patch},
                        label=title,
                        ref=pid,
                        base=dict(cur),
                    )
                )
            existing_kids = children.get(key, []) if action != "created" else []
            code = e.record.get("code")
            att = find_code_attachment(existing_kids)
            if att is not None:
                kids["code"] = str(att["key"])
            elif code:
                kids["code"] = fresh_key()
                ops.append(
                    WriteOp(obj=code_attachment_item(key, code, kids["code"]), label=title, ref=pid)
                )
            pdf = e.paper.pdf_url
            if pdf and find_pdf_attachment(existing_kids) is None:
                ops.append(
                    WriteOp(obj=pdf_attachment_item(key, pdf, fresh_key()), label=title, ref=pid)
                )
            note = find_pllm_note(existing_kids)
            if note is not None:
                kids["note"] = str(note["key"])
            elif e.notes_md.strip():
                kids["note"] = fresh_key()
                ops.append(
                    WriteOp(obj=note_item(key, e.notes_md, kids["note"]), label=title, ref=pid)
                )
            plan.append((e, key, action, kids))

        settling = None if on_settled is None else _Settling(self, plan, on_settled)
        writer = BatchWriter(
            self.http, "items", on_outcome=None if settling is None else settling.hook
        )
        # Planned and sent a chunk at a time: the first request goes out once 50 objects are
        # planned, not all of them. At 5,000 papers, building every item first held back the
        # first answer, and with it every note the engine writes meanwhile, by seconds; now
        # later entries are planned while the engine writes the notes of the earlier ones.
        # The chunks are the ones one ``write`` of every op sends (a retried object goes
        # again before the next chunk instead of at the end).
        # From two chunks on, a thread of its own sends them (see _Sender).
        sender = _Sender(writer) if len(entries) > MAX_BATCH else None
        send = writer.write if sender is None else sender.send
        rest = iter(entries)
        try:
            try:
                for e in rest:
                    first, refused, sent = len(plan), len(report.failures), len(ops)
                    plan_one(e)
                    if settling is not None:
                        settling.add(first, ops[sent:], report.failures[refused:])
                    if len(ops) >= MAX_BATCH:
                        chunk, ops[:] = ops[:MAX_BATCH], ops[MAX_BATCH:]
                        send(chunk)
                if ops:
                    send(ops)
                    ops = []
                if sender is not None:
                    sender.close()
            except BaseException:
                if sender is not None:
                    sender.close(abandon=True)
                raise
            finally:
                self._keep_written(writer)
        except ZoteroWriteError as exc:
            for e in rest:  # the report covers every entry, as when all were planned first
                plan_one(e)
            exc.report = self._paper_report(plan, exc.partial or {}, report, start, partial=True)
            raise
        return self._paper_report(plan, writer.outcomes, report, start)

    def _collections_patch(self, cur: Mapping[str, Any], wanted: list[str]) -> dict[str, Any]:
        have = list(cur.get("collections") or ())
        add = [c for c in wanted if c not in have]
        return {"collections": have + add} if add else {}

    def _paper_report(
        self,
        plan: list[tuple[NewItem, str, str, dict[str, str]]],
        outcomes: Mapping[str, OpOutcome],
        report: WriteReport,
        start: int,
        partial: bool = False,
    ) -> WriteReport:
        for e, key, action, kids in plan:
            w = self._paper_written(e, key, action, kids, outcomes, report)
            if w is not None:
                report.results[e.paper.id] = w
        report.requests = self.request_count - start
        report.library_version = self.library_version
        return report

    def _paper_written(
        self,
        e: NewItem,
        key: str,
        action: str,
        kids: dict[str, str],
        outcomes: Mapping[str, OpOutcome],
        report: WriteReport,
    ) -> Written | None:
        """What one paper's writes achieved: its ``Written`` when every part landed, else
        None (its failures added to ``report``)."""
        pid = e.paper.id
        title = str(e.record.get("title") or e.paper.title)
        o = outcomes.get(key)
        if o is not None and not o.ok:
            report.failures.append(WriteFailure(key, o.code or 0, o.message, title, pid))
            return None
        if o is None and action == "created":
            return None  # never sent (the run stopped first)
        data = self._items.get(key)
        w = Written(
            key=key,
            version=(o.version if o is not None else None) or (data or {}).get("version"),
            action=action,
            ref=pid,
            data=data,
        )
        complete = True
        for role, ck in kids.items():
            co = outcomes.get(ck)
            if co is not None and not co.ok:
                report.failures.append(
                    WriteFailure(key, co.code or 0, f"{role}: {co.message}", title, pid)
                )
                complete = False
            elif (co is not None and co.ok) or (co is None and ck in self._items):
                w.children[role] = (ck, self._items.get(ck, {}).get("version"))
            else:
                complete = False  # never sent: the run stopped first
        # Only a paper with all its parts is reported done; the rest is found again by
        # its pllm-sync-id on the next run, which adds the missing parts.
        return w if complete else None

    def _generic_report(
        self, ops: list[WriteOp], outcomes: Mapping[str, OpOutcome], start: int, action: str
    ) -> WriteReport:
        report = WriteReport()
        for op in ops:
            o = outcomes.get(op.key)
            if o is None:
                continue
            if o.ok:
                report.results[op.key] = Written(
                    op.key, o.version, action, ref=op.ref, data=self._items.get(op.key)
                )
            else:
                report.failures.append(
                    WriteFailure(op.key, o.code or 0, o.message, op.label, op.ref)
                )
        report.requests = self.request_count - start
        report.library_version = self.library_version
        return report

    def _run(self, ops: list[WriteOp], action: str) -> WriteReport:
        start = self.request_count
        try:
            outcomes, _ = self._write(ops)
        except ZoteroWriteError as exc:
            exc.report = self._generic_report(ops, exc.partial or {}, start, action)
            raise
        return self._generic_report(ops, outcomes, start, action)

    def update_items(self, changes: Iterable[ItemChange]) -> WriteReport:
        """Apply versioned PATCH-semantics changes, 50 per request; stale ones are re-read and
        retried when safe, else reported (code 412) for the next sync to merge."""
        ops = [
            WriteOp(
                obj={**c.data, "key": c.key, "version": c.version},
                label=c.label or str((c.base or {}).get("title") or ""),
                base=c.base,
            )
            for c in changes
            if c.data
        ]
        return self._run(ops, "updated")

    def upsert_notes(self, notes: Iterable[NoteUpsert]) -> WriteReport:
        """Create or update pllm-sync's notes children; results are keyed by note key."""
        ops = []
        taken = set(self._items)
        for n in notes:
            if n.note_key is None:
                key = new_key(taken)
                taken.add(key)
                ops.append(WriteOp(obj=note_item(n.parent_key, n.markdown, key), ref=n.parent_key))
            else:
                ops.append(
                    WriteOp(
                        obj={
                            "key": n.note_key,
                            "version": n.note_version,
                            "note": note_html(n.markdown),
                        },
                        ref=n.parent_key,
                        base=None if n.base_html is None else {"note": n.base_html},
                    )
                )
        return self._run(ops, "updated")

    def upsert_note(
        self, parent_key: str, note_key: str | None, note_version: int | None, markdown: str
    ) -> tuple[str, int | None]:
        report = self.upsert_notes([NoteUpsert(parent_key, note_key, note_version, markdown)])
        if report.failures:
            f = report.failures[0]
            raise ZoteroWriteError(
                f"could not write the notes of item {parent_key}: {f.message}",
                hint="run the sync again; a conflicting edit is merged then",
                report=report,
            )
        w = next(iter(report.results.values()))
        return w.key, w.version

    def trash(self, keys: Iterable[str]) -> WriteReport:
        """Move items to Zotero's trash (``deleted: 1``); never deletes permanently."""
        keys = list(dict.fromkeys(keys))
        unknown = [k for k in keys if k not in self._items]
        if unknown:
            writer = BatchWriter(self.http, "items")
            self._items.update(writer.fetch(unknown))
        ops = [
            WriteOp(
                obj={"key": k, "version": self._items[k].get("version"), "deleted": 1},
                label=str(self._items[k].get("title") or ""),
                force=True,
            )
            for k in keys
            if k in self._items and not self._items[k].get("deleted")
        ]
        report = self._run(ops, "trashed")
        for k in keys:
            if k not in self._items:
                report.failures.append(WriteFailure(k, 404, "no such item in Zotero"))
            elif k not in report.results and not any(f.key == k for f in report.failures):
                report.results[k] = Written(k, self._items[k].get("version"), "unchanged")
        return report

    # ------------------------------------------------------------------ reads by key

    def fetch_items(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Current ``data`` of the given items (trashed included), 50 keys per request.

        The engine uses it for items the change feed did not return (unchanged in Zotero)
        that a run must nevertheless update; unknown keys are simply absent."""
        wanted = [k for k in dict.fromkeys(keys) if k]
        rows, _ = self._fetch("items", wanted)
        out = {k: r["data"] for k, r in rows.items()}
        self._items.update(out)
        return out

    def fetch_children(self, parent_key: str) -> list[dict[str, Any]]:
        """The current children (notes, attachments) of one item: one request per 100."""
        zot = self.http.zot
        rows, _ = self.http.pz_all(
            partial(zot.children, parent_key, includeTrashed=1, limit=100),
            "reading an item's children",
        )
        out = [r["data"] for r in rows]
        for d in out:
            self._items[str(d["key"])] = d
        return out
