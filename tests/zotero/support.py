"""Shared pieces of the Zotero store tests: catalogs, an engine-like import, library checks."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import httpx2

from pllm_sync.config import ZoteroConfig, default_config
from pllm_sync.model import Catalog, Link, Paper, PaperIds, Section, Venue, VenueKind, paper_id_for
from pllm_sync.record import record_from_paper, section_key
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.errors import ZoteroWriteError
from pllm_sync.zotero.mapping import item_pllm_id, item_to_record
from pllm_sync.zotero.store import NewItem, ZoteroStore

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@cache
def real_catalog() -> Catalog:
    """Both default lists from the bundled snapshots (offline)."""
    from pllm_sync.catalog.loader import load_catalog

    return load_catalog(replace(default_config().catalog, offline=True))


_WORDS = [
    "personalized",
    "language",
    "model",
    "alignment",
    "memory",
    "retrieval",
    "preference",
    "user",
    "profile",
    "agent",
    "benchmark",
    "reward",
    "federated",
    "prompt",
    "tuning",
    "dialogue",
    "persona",
    "recommendation",
    "editing",
    "steering",
    "multimodal",
    "evaluation",
    "safety",
    "reasoning",
    "efficient",
    "adapters",
    "privacy",
]


def synthetic_catalog(
    n_papers: int = 300, seed: int = 7, fanout: tuple[int, int] = (4, 4)
) -> Catalog:
    """A catalog shaped like the real ones: two lists, a 3-level taxonomy, every kind of
    paper (arXiv preprints, conference papers with arXiv, OpenReview, ACL, journals with a
    DOI, title-only), some in several sections, some with code and extra links."""
    rng = random.Random(seed)
    taxonomies: dict[str, Section] = {}
    leaves: list[Section] = []
    for li, source in enumerate(("list-a", "list-b")):
        root = Section(name=f"Awesome List {li + 1}", slug=source, path=(f"Awesome List {li + 1}",))
        for i in range(fanout[0]):
            mid = root.child(f"Topic {li + 1}.{i + 1} {rng.choice(_WORDS).title()}")
            for j in range(fanout[1]):
                leaves.append(mid.child(f"Subtopic {i + 1}.{j + 1} {rng.choice(_WORDS)}"))
        taxonomies[source] = root
    papers: list[Paper] = []
    for n in range(n_papers):
        words = rng.sample(_WORDS, 6)
        title = f"{words[0].title()}: {' '.join(words[1:])} study {n}"
        kind = n % 6
        arxiv = f"{2300 + n % 60:04d}.{10000 + n:05d}" if kind in (0, 1, 5) else None
        ids = PaperIds(arxiv=arxiv)
        url: str | None = f"https://arxiv.org/abs/{arxiv}" if arxiv else None
        venue: Venue | None = None
        year = 2022 + n % 4
        if kind == 0:
            venue = Venue(
                raw=f"arXiv'{year % 100}", name="arXiv", year=year, kind=VenueKind.PREPRINT
            )
            url = f"https://arxiv.org/pdf/{arxiv}v2"
        elif kind == 1:
            venue = Venue(
                raw=f"EMNLP'{year % 100} Findings",
                name="EMNLP",
                year=year,
                kind=VenueKind.CONFERENCE,
                findings=True,
            )
        elif kind == 2:
            forum = f"F{n:09d}x"
            ids = PaperIds(openreview=forum)
            url = f"https://openreview.net/pdf?id={forum}"
            venue = Venue(
                raw=f"ICLR'{year % 100}", name="ICLR", year=year, kind=VenueKind.CONFERENCE
            )
        elif kind == 3:
            acl = f"{year}.acl-long.{n}"
            ids = PaperIds(acl=acl)
            url = f"https://aclanthology.org/{acl}.pdf"
            venue = Venue(raw=f"ACL'{year % 100}", name="ACL", year=year, kind=VenueKind.CONFERENCE)
        elif kind == 4:
            ids = PaperIds(doi=f"10.1145/{3600000 + n}")
            url = f"https://dl.acm.org/doi/10.1145/{3600000 + n}"
            venue = Venue(raw="TOIS", name="TOIS", year=year, kind=VenueKind.JOURNAL)
        else:
            venue = Venue(
                raw=f"PERSONALIZE@ACL'{year % 100}",
                name="PERSONALIZE",
                year=year,
                kind=VenueKind.WORKSHOP,
                workshop=True,
            )
        if n % 17 == 0:
            url, ids, venue = None, PaperIds(), None
        secs = [rng.choice(leaves)]
        if n % 5 == 0:
            secs.append(rng.choice(leaves))
        authors = tuple(
            f"{rng.choice(['Ana', 'Bo', 'Chen', 'Dana', 'Émile'])} {rng.choice(['Li', 'Smith', 'van Dijk', 'Ng'])}"
            for _ in range(n % 4)
        )
        links = (Link("dataset", f"https://huggingface.co/datasets/x/d{n}"),) if n % 9 == 0 else ()
        papers.append(
            Paper(
                id=paper_id_for(ids, title),
                title=title,
                method=words[0].title() + "X" if n % 3 else None,
                venue=venue,
                year=year if venue else None,
                url=url,
                code_url=f"https://github.com/example/repo{n}" if n % 2 == 0 else None,
                links=links,
                ids=ids,
                sections=tuple(dict.fromkeys(s.path for s in secs)),
                authors=authors,
            )
        )
    return Catalog(papers=papers, taxonomies=taxonomies)


def make_store(
    emu: ZoteroEmulator,
    *,
    key: str = "TESTKEY",
    library_id: str = "1",
    sleeps: list[float] | None = None,
    endpoint: str | None = None,
    timeout: float = 30,
    sleep: Callable[[float], None] | None = None,
) -> ZoteroStore:
    cfg = ZoteroConfig(library_id=library_id, endpoint=endpoint or emu.base_url)
    record = sleeps if sleeps is not None else []
    return ZoteroStore(
        cfg,
        key,
        client=httpx2.Client(trust_env=False, timeout=timeout),
        sleep=sleep or record.append,
    )


@dataclass
class SyncState:
    """What an engine would persist between runs."""

    library_version: int | None = None
    collections: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)


def run_import(
    store: ZoteroStore, catalog: Catalog, state: SyncState, *, keep_partial: bool = False
) -> None:
    """An engine-like import: check, read, make the tree, create the papers it lacks.

    ``state`` only takes what the store *returned*; with ``keep_partial`` it also takes what
    a failed call reported as done (``ZoteroWriteError.partial`` / ``.report``)."""
    store.check_access()
    snap = store.read(state.library_version)
    state.library_version = snap.library_version
    try:
        state.collections = store.ensure_collections(catalog.taxonomies, state.collections)
    except ZoteroWriteError as exc:
        if keep_partial and isinstance(exc.partial, dict):
            state.collections = {**state.collections, **exc.partial}
        raise
    paths = store.collection_paths(state.collections)
    by_section = {section_key(p): k for k, p in paths.items()}
    new = [p for p in catalog.papers if p.id not in state.items]
    if new:
        entries = [
            NewItem(p, record_from_paper(p), [by_section[section_key(s)] for s in p.sections])
            for p in new
        ]
        try:
            report = store.create_papers(entries)
        except ZoteroWriteError as exc:
            if keep_partial and exc.report is not None:
                state.items.update({pid: w.key for pid, w in exc.report.results.items()})
            raise
        assert report.ok, report.failures
        state.items.update({pid: w.key for pid, w in report.results.items()})
    state.library_version = store.library_version


def min_writes(catalog: Catalog, notes: int = 0) -> int:
    """The fewest write requests an import can make: ⌈objects/50⌉ per tree level, then
    ⌈(items + code attachments + notes)/50⌉."""
    depths: Counter[int] = Counter({0: 1})

    def walk(s: Section, d: int) -> None:
        depths[d] += 1
        for c in s.children:
            walk(c, d + 1)

    for root in catalog.taxonomies.values():
        walk(root, 1)
    objects = len(catalog.papers) + sum(1 for p in catalog.papers if p.code_url) + notes
    return sum(math.ceil(n / 50) for n in depths.values()) + math.ceil(objects / 50)


def writes(emu: ZoteroEmulator) -> list[Any]:
    return [r for r in emu.request_log if r.method in WRITE_METHODS]


def check_library(emu: ZoteroEmulator, catalog: Catalog, root: str = "pllm-sync") -> None:
    """The library holds exactly the catalog: one item per paper with the right record, one
    code link per paper with code, one collection per section node, no duplicates."""
    items = emu.get_items()
    cols = emu.get_collections()
    live_cols = {k: c for k, c in cols.items() if not c.get("deleted")}
    # collections: one per (parent, name); the tree has every section path
    seen = Counter((c.get("parentCollection") or None, c["name"]) for c in live_cols.values())
    dupes = [k for k, n in seen.items() if n > 1]
    assert not dupes, f"duplicate collections: {dupes}"

    def path_of(key: str) -> tuple[str, ...]:
        names: list[str] = []
        cur: str | None = key
        while cur:
            names.append(live_cols[cur]["name"])
            cur = live_cols[cur].get("parentCollection") or None
        return tuple(reversed(names))

    paths = {k: path_of(k) for k in live_cols}
    want_paths = {(root, *s.path) for t in catalog.taxonomies.values() for s in t.walk()} | {
        (root,)
    }
    assert set(paths.values()) == want_paths
    section_paths = {k: p[1:] for k, p in paths.items() if len(p) > 1}

    tops = {k: d for k, d in items.items() if not d.get("parentItem")}
    ids = Counter(item_pllm_id(d) for d in tops.values())
    assert all(n == 1 for n in ids.values()), [i for i, n in ids.items() if n > 1]
    assert set(ids) == {p.id for p in catalog.papers}
    by_id = {item_pllm_id(d): d for d in tops.values()}
    kids: dict[str, list[dict[str, Any]]] = {}
    for d in items.values():
        if d.get("parentItem"):
            kids.setdefault(d["parentItem"], []).append(d)
    for p in catalog.papers:
        d = by_id[p.id]
        children = kids.get(d["key"], [])
        rec = item_to_record(d, children, section_paths)
        want = record_from_paper(p)
        diffs = {k: (want[k], rec[k]) for k in want if want[k] != rec[k]}
        assert not diffs, (p.id, diffs)
        assert len(children) == (1 if p.code_url else 0), (p.id, children)
