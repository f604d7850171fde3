"""A whole enrichment run: batching, the cache (a warm run asks nothing), failing services,
preprint re-checks."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.config import MetadataConfig
from pllm_sync.metadata.cache import CitekeyRegistry, ResponseCache
from pllm_sync.metadata.resolver import Resolver
from pllm_sync.model import Paper, PaperIds, SourceRef

from .server import MetaServer, all_recorded_entries, recorded_json

DAY = 86400.0


def _cfg(url: str, **kw: Any) -> MetadataConfig:
    return replace(
        MetadataConfig(
            arxiv_url=f"{url}/arxiv/query",
            semanticscholar_url=f"{url}/s2",
            arxiv_interval_seconds=0.0,
            semanticscholar_interval_seconds=0.0,
            backoff_seconds=0.0,
            connect_timeout_seconds=1.0,
            timeout_seconds=5.0,
        ),
        **kw,
    )


def _papers(entries: dict[str, str]) -> list[Paper]:
    out = []
    for n, aid in enumerate(sorted(entries)):
        title = entries[aid].split("<title>", 1)[1].split("</title>", 1)[0]
        out.append(
            Paper(
                id=f"arxiv:{aid}",
                title=" ".join(title.split()),
                ids=PaperIds(arxiv=aid),
                sources=(SourceRef("list", n + 1),),
            )
        )
    out.append(Paper(id="title:abc", title="Augmenting large language models with chemistry tools"))
    return out


@pytest.fixture
def setup(meta: MetaServer, tmp_path: Path) -> tuple[MetaServer, list[Paper]]:
    meta.arxiv_entries = all_recorded_entries()
    hit = recorded_json("semanticscholar/paper-search-match_title_found.json")["data"][0]
    meta.s2_titles = {"augmenting large language models with chemistry tools": hit}
    return meta, _papers(meta.arxiv_entries)


def test_cold_then_warm(setup: tuple[MetaServer, list[Paper]], tmp_path: Path) -> None:
    meta, papers = setup
    now = [1_000_000.0]
    cache = ResponseCache(tmp_path / "c.sqlite3")
    reg = CitekeyRegistry(tmp_path / "k.sqlite3")
    r = Resolver(_cfg(meta.base_url), cache, reg, clock=lambda: now[0])
    out, report = r.enrich(papers)
    arxiv_papers = len(papers) - 1
    assert meta.requests("/arxiv") == 1  # all ids in one batch of up to 100
    assert meta.requests("/s2/paper/batch") == 1 and meta.requests("/s2/paper/search") == 1
    assert report.requests == 3 and report.fetched == arxiv_papers * 2 + 1
    assert sum(1 for p in out if p.authors) == len(papers)
    assert all(p.citekey for p in out)
    titled = out[-1]
    assert titled.authors and titled.id == "title:abc"

    r2 = Resolver(_cfg(meta.base_url), cache, reg, clock=lambda: now[0] + DAY)
    out2, report2 = r2.enrich(papers)
    assert report2.requests == 0 and meta.requests() == 3  # a second run asks nothing
    assert [p.citekey for p in out2] == [p.citekey for p in out]
    assert out2 == out


def test_preprints_are_rechecked_on_their_own_interval(
    setup: tuple[MetaServer, list[Paper]], tmp_path: Path
) -> None:
    meta, papers = setup
    cache = ResponseCache(tmp_path / "c.sqlite3")
    now = [1_000_000.0]
    cfg = _cfg(meta.base_url, preprint_recheck_days=7.0, cache_days=30.0, missing_recheck_days=7.0)
    Resolver(cfg, cache, clock=lambda: now[0]).enrich(papers)
    before = meta.requests()
    now[0] += 8 * DAY
    _, report = Resolver(cfg, cache, clock=lambda: now[0]).enrich(papers)
    # arXiv answers are still fresh; the Semantic Scholar ones (none found: preprints) are not
    assert meta.requests("/arxiv") == 1
    assert report.requests == meta.requests() - before == 1
    now[0] += 31 * DAY
    _, report = Resolver(cfg, cache, clock=lambda: now[0]).enrich(papers, refresh=False)
    assert meta.requests("/arxiv") == 2


def test_refresh_asks_again(setup: tuple[MetaServer, list[Paper]], tmp_path: Path) -> None:
    meta, papers = setup
    cache = ResponseCache(tmp_path / "c.sqlite3")
    Resolver(_cfg(meta.base_url), cache).enrich(papers)
    _, report = Resolver(_cfg(meta.base_url), cache).enrich(papers, refresh=True)
    assert report.requests == 3


def test_offline_goes_on_says_so_once_and_fills_in_later(
    setup: tuple[MetaServer, list[Paper]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    meta, papers = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    cache = ResponseCache(tmp_path / "c.sqlite3")
    notified: set[str] = set()
    caplog.set_level(logging.INFO, logger="pllm_sync")
    for _ in range(2):  # e.g. two passes of the daemon
        out, report = Resolver(_cfg(dead), cache, notified=notified).enrich(papers)
        assert out == papers
        assert report.failed_services == ["arXiv", "Semantic Scholar"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "cannot be reached now" in warnings[0].getMessage()
    out, report = Resolver(_cfg(meta.base_url), cache, notified=notified).enrich(papers)
    assert not report.failed_services and all(p.authors for p in out)


@pytest.mark.parametrize("route", ["/arxiv/query", "/s2/paper/batch"])
def test_a_broken_answer_from_one_service_leaves_the_other(
    setup: tuple[MetaServer, list[Paper]], tmp_path: Path, route: str
) -> None:
    meta, papers = setup
    meta.queued[route] = [(200, b"<<<garbage", {})]
    out, report = Resolver(_cfg(meta.base_url), ResponseCache(tmp_path / "c.sqlite3")).enrich(
        papers
    )
    assert len(report.failed_services) == 1
    assert any(p.authors for p in out)
