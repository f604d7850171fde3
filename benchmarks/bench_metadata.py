"""Metadata enrichment: requests per 100 papers (cold cache, warm cache) and the time to enrich
both default lists against a local server that enforces arXiv's 3 s spacing.

Run: ``python benchmarks/bench_metadata.py [n_papers]``. Prints figures; asserts nothing.
The local server (tests/metadata/server.py) answers every id; on the arXiv route it refuses
(HTTP 503) any request that comes less than 3 s after the previous one, and the run reports
how many it refused (the client's spacing should make that 0).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from metadata.server import MetaServer, fake_entry, serve  # noqa: E402
from pllm_sync.catalog import load_catalog  # noqa: E402
from pllm_sync.config import MetadataConfig, default_config  # noqa: E402
from pllm_sync.metadata.cache import CitekeyRegistry, ResponseCache  # noqa: E402
from pllm_sync.metadata.resolver import Resolver  # noqa: E402
from pllm_sync.model import Paper, PaperIds, normalize_title  # noqa: E402


class SpacedServer(MetaServer):
    """Answers everything; refuses arXiv calls closer than ``spacing`` seconds."""

    spacing: float = 3.0
    last: float | None = None
    refused: int = 0

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        if path.startswith("/arxiv/"):
            now = time.monotonic()
            if self.last is not None and now - self.last < self.spacing - 0.05:
                self.refused += 1
                return 503, b"", {"Retry-After": "3"}
            self.last = now
        return super().answer(method, path, body)


def s2_object(p: Paper) -> dict[str, Any]:
    return {
        "paperId": p.id,
        "title": p.title,
        "abstract": "An abstract.",
        "authors": [{"authorId": "1", "name": "Ada Lovelace"}],
        "year": 2024,
        "externalIds": {"ArXiv": p.ids.arxiv} if p.ids.arxiv else {},
        "venue": "arXiv.org",
    }


def load(server: MetaServer, papers: list[Paper]) -> None:
    for p in papers:
        if p.ids.arxiv:
            server.arxiv_entries[p.ids.arxiv] = fake_entry(
                p.ids.arxiv, p.title, ["Ada Lovelace", "Alan Turing"], "An abstract.", ["cs.CL"]
            )
            server.s2[f"ARXIV:{p.ids.arxiv}"] = s2_object(p)
        elif p.ids.doi:
            server.s2[f"DOI:{p.ids.doi}"] = s2_object(p)
        else:
            server.s2_titles[normalize_title(p.title)] = s2_object(p)


def synthetic(n: int) -> list[Paper]:
    out = []
    for i in range(n):
        title = f"Personalised language model study number {i}"
        if i % 20 == 18:
            ids = PaperIds(doi=f"10.1234/bench.{i}")
        elif i % 20 == 19:
            ids = PaperIds()
        else:
            ids = PaperIds(arxiv=f"2401.{i:05d}")
        out.append(Paper(id=f"p{i}", title=title, ids=ids))
    return out


def cfg(url: str, **kw: Any) -> MetadataConfig:
    base = MetadataConfig(
        arxiv_url=f"{url}/arxiv/query",
        semanticscholar_url=f"{url}/s2",
        arxiv_interval_seconds=0.0,
        semanticscholar_interval_seconds=0.0,
        title_lookups=100_000,
    )
    return replace(base, **kw)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    tmp = Path(tempfile.mkdtemp())
    papers = synthetic(n)
    with serve(MetaServer()) as server:
        load(server, papers)
        cache = ResponseCache(tmp / "c.sqlite3")
        reg = CitekeyRegistry(tmp / "k.sqlite3")
        t0 = time.perf_counter()
        _, cold = Resolver(cfg(server.base_url), cache, reg).enrich(papers)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, warm = Resolver(cfg(server.base_url), cache, reg).enrich(papers)
        t_warm = time.perf_counter() - t0
    print(f"synthetic catalog: {n} papers (90% arXiv id, 5% DOI only, 5% title only)")
    print(
        f"cold: {cold.requests} requests = {cold.requests / n * 100:.1f} per 100 papers "
        f"(arXiv {server.requests('/arxiv')}, S2 batch {server.requests('/s2/paper/batch')}, "
        f"S2 title {server.requests('/s2/paper/search')}); {t_cold:.2f} s without spacing"
    )
    print(f"warm: {warm.requests} requests; {t_warm * 1000:.0f} ms")

    os.environ["PLLM_SYNC_HOME"] = str(tmp / "home")
    catalog = load_catalog(replace(default_config().catalog, offline=True))
    with serve(SpacedServer()) as spaced:
        load(spaced, catalog.papers)
        real = cfg(
            spaced.base_url,
            arxiv_interval_seconds=3.0,
            semanticscholar_interval_seconds=1.1,
        )
        cache = ResponseCache(tmp / "d.sqlite3")
        t0 = time.perf_counter()
        out, rep = Resolver(real, cache, CitekeyRegistry(tmp / "l.sqlite3")).enrich(catalog.papers)
        dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, rep2 = Resolver(real, cache).enrich(catalog.papers)
        dt2 = time.perf_counter() - t0
    with_arxiv = sum(1 for p in catalog.papers if p.ids.arxiv)
    print(
        f"both default lists: {len(catalog.papers)} papers ({with_arxiv} with arXiv id): "
        f"{rep.requests} requests (arXiv {spaced.requests('/arxiv')}, S2 batch "
        f"{spaced.requests('/s2/paper/batch')}, S2 title {spaced.requests('/s2/paper/search')}), "
        f"{dt:.1f} s at arXiv 3 s / S2 1.1 s spacing; refused for spacing: {spaced.refused}; "
        f"{sum(1 for p in out if p.authors)} papers with authors"
    )
    print(f"both default lists, warm: {rep2.requests} requests, {dt2 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
