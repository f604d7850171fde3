"""Zotero store cost: requests and wall time of a full import into an empty library, of a
no-op rerun, and of an incremental read after one edit, against the Web API emulator over
real HTTP with the real pyzotero client.

Run: ``python benchmarks/bench_zotero.py [n_synthetic]`` (default 5000). Prints, for both
default lists (bundled snapshots) and a synthetic catalog: objects written, write requests
vs the minimum (⌈objects/50⌉ per collection-tree level, then ⌈items+children/50⌉), all
requests, and times. Asserts nothing.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from collections import Counter
from dataclasses import replace

import httpx2

from pllm_sync.catalog.loader import load_catalog
from pllm_sync.config import ZoteroConfig, default_config
from pllm_sync.model import Catalog, Paper, PaperIds, Section, Venue, VenueKind, paper_id_for
from pllm_sync.record import record_from_paper, section_key
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.store import NewItem, ZoteroStore


def synthetic(n: int, seed: int = 1) -> Catalog:
    rng = random.Random(seed)
    root = Section(name="Synthetic List", slug="synthetic", path=("Synthetic List",))
    leaves = [
        root.child(f"Area {i}").child(f"Topic {i}.{j}").child(f"Sub {i}.{j}.{k}")
        for i in range(6)
        for j in range(5)
        for k in range(4)
    ]
    papers = []
    for i in range(n):
        title = f"Synthetic paper {i} on {rng.choice(['memory', 'alignment', 'agents'])}"
        arxiv = f"{2300 + i % 60:04d}.{10000 + i:05d}" if i % 3 else None
        ids = PaperIds(arxiv=arxiv)
        conf = i % 2 == 0
        papers.append(
            Paper(
                id=paper_id_for(ids, title),
                title=title,
                method=f"M{i}" if i % 4 else None,
                venue=Venue(
                    raw="NeurIPS'24" if conf else "arXiv'24",
                    name="NeurIPS" if conf else "arXiv",
                    year=2024,
                    kind=VenueKind.CONFERENCE if conf else VenueKind.PREPRINT,
                ),
                year=2024,
                url=f"https://arxiv.org/abs/{arxiv}" if arxiv else f"https://example.org/{i}",
                code_url=f"https://github.com/x/r{i}" if i % 3 == 0 else None,
                ids=ids,
                sections=(rng.choice(leaves).path,),
                authors=("Ada Lovelace", "Alan Turing")[: i % 3],
            )
        )
    return Catalog(papers=papers, taxonomies={"synthetic": root})


def minimum_writes(cat: Catalog) -> tuple[int, int]:
    depths: Counter[int] = Counter({0: 1})

    def walk(s: Section, d: int) -> None:
        depths[d] += 1
        for c in s.children:
            walk(c, d + 1)

    for r in cat.taxonomies.values():
        walk(r, 1)
    objects = len(cat.papers) + sum(1 for p in cat.papers if p.code_url)
    return sum(math.ceil(v / 50) for v in depths.values()) + math.ceil(objects / 50), objects


def store_for(emu: ZoteroEmulator) -> ZoteroStore:
    cfg = ZoteroConfig(library_id=str(emu.user_id), endpoint=emu.base_url)
    return ZoteroStore(cfg, emu.api_key, client=httpx2.Client(trust_env=False, timeout=60))


def run(name: str, cat: Catalog) -> None:
    with ZoteroEmulator() as emu:
        t0 = time.perf_counter()
        store = store_for(emu)
        store.check_access()
        store.read(None)
        mapping = store.ensure_collections(cat.taxonomies, {})
        by_section = {section_key(p): k for k, p in store.collection_paths(mapping).items()}
        report = store.create_papers(
            [
                NewItem(p, record_from_paper(p), [by_section[section_key(s)] for s in p.sections])
                for p in cat.papers
            ]
        )
        t_import = time.perf_counter() - t0
        assert report.ok, report.failures[:3]
        made = [r for r in emu.request_log if r.method != "GET"]
        minimum, objects = minimum_writes(cat)
        since = store.library_version

        emu.clear_log()
        t0 = time.perf_counter()
        again = store_for(emu)
        again.check_access()
        snap = again.read(since)
        again.ensure_collections(cat.taxonomies, mapping)
        t_noop = time.perf_counter() - t0
        noop_requests = len(emu.request_log)
        noop_writes = sum(1 for r in emu.request_log if r.method != "GET")

        key = next(iter(report.results.values())).key
        emu.edit_item(key, {"title": "edited", "version": emu.get_items()[key]["version"]})
        t0 = time.perf_counter()
        inc = store_for(emu)
        inc_snap = inc.read(since)
        t_inc = time.perf_counter() - t0

        print(
            f"\n== {name}: {len(cat.papers)} papers, {len(mapping)} collections, "
            f"{objects} item objects"
        )
        print(
            f"import : {len(made)} write requests (minimum {minimum}, ratio "
            f"{len(made) / minimum:.2f}), {store.request_count} requests in all, "
            f"{t_import:.2f} s ({1000 * t_import / len(cat.papers):.2f} ms/paper)"
        )
        print(
            f"no-op  : {noop_requests} requests, {noop_writes} writes, unchanged={snap.unchanged},"
            f" {1000 * t_noop:.1f} ms"
        )
        print(
            f"1 edit : {inc.request_count} requests, {len(inc_snap.items)} objects read, "
            f"{1000 * t_inc:.1f} ms"
        )


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    real = load_catalog(replace(default_config().catalog, offline=True))
    run("both default lists", real)
    run("synthetic", synthetic(n))


if __name__ == "__main__":
    main()
