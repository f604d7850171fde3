"""One enrichment run over a catalog: which answers are cached, which to ask for (in
batches, politely), and the enriched papers.

Failure policy: a service that cannot answer (offline, rate-limited past the retries, a
broken reply) is reported once, not asked again in this run, and the papers it would have
filled keep what the cache and the list give; the next run asks again. Nothing here ever
stops a sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..config import MetadataConfig
from ..model import Catalog, Paper, normalize_title
from ..progress import progress
from .arxiv import ArxivClient, ArxivEntry
from .cache import CitekeyRegistry, ResponseCache, is_fresh
from .citekey import base_key, unique_key
from .enrich import enrich_paper
from .http import PoliteClient, ServiceError
from .scholar import ScholarClient, ScholarPaper, api_key

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class MetadataReport:
    """What one run did (``pllm-sync enrich`` prints it; benchmarks count ``requests``)."""

    papers: int = 0
    enriched: int = 0
    requests: int = 0
    fetched: int = 0
    from_cache: int = 0
    failed_services: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    citekeys_new: int = 0

    def summary(self) -> str:
        s = (
            f"metadata: {self.enriched} of {self.papers} papers enriched; "
            f"{self.fetched} answers fetched in {self.requests} requests, "
            f"{self.from_cache} from the cache"
        )
        if self.citekeys_new:
            s += f"; {self.citekeys_new} new citation keys"
        if self.failed_services:
            s += f"; not reachable now: {', '.join(self.failed_services)} (filled in later)"
        return s


def _chunks(items: list[T], n: int) -> Iterator[list[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def scholar_key(paper: Paper) -> str:
    """How Semantic Scholar is asked about a paper (also its cache key)."""
    if paper.ids.arxiv:
        return f"ARXIV:{paper.ids.arxiv}"
    if paper.ids.doi:
        return f"DOI:{paper.ids.doi}"
    return f"TITLE:{normalize_title(paper.title)}"


def scholar_headers() -> dict[str, str]:
    """The API key header, looked up when Semantic Scholar is first asked (not when the
    resolver is built: a pull served from the cache never reads the keyring)."""
    key = api_key()
    return {"x-api-key": key} if key else {}


class Resolver:
    """Enriches a catalog's papers in place of the list's bare entries."""

    def __init__(
        self,
        cfg: MetadataConfig,
        cache: ResponseCache,
        registry: CitekeyRegistry | None = None,
        *,
        arxiv: ArxivClient | None = None,
        scholar: ScholarClient | None = None,
        clock: Callable[[], float] = time.time,
        notified: set[str] | None = None,
    ) -> None:
        self.cfg = cfg
        self.notified = notified if notified is not None else set()
        self.cache = cache
        self.registry = registry
        self.arxiv = arxiv or ArxivClient(
            cfg.arxiv_url,
            PoliteClient(
                "arXiv",
                min_interval=cfg.arxiv_interval_seconds,
                connect_timeout=cfg.connect_timeout_seconds,
                read_timeout=cfg.timeout_seconds,
                backoff=max(cfg.arxiv_interval_seconds, 0.01),
            ),
        )
        if scholar is None and cfg.semanticscholar_url:
            scholar = ScholarClient(
                cfg.semanticscholar_url,
                PoliteClient(
                    "Semantic Scholar",
                    min_interval=cfg.semanticscholar_interval_seconds,
                    connect_timeout=cfg.connect_timeout_seconds,
                    read_timeout=cfg.timeout_seconds,
                    backoff=cfg.backoff_seconds,
                    secret_headers=scholar_headers,
                ),
            )
        self.scholar = scholar
        self.clock = clock

    @property
    def requests(self) -> int:
        n = self.arxiv.http.requests
        return n + (self.scholar.http.requests if self.scholar else 0)

    # -------------------------------------------------------------- cache lookups

    def _fresh(self, entry: tuple[float, dict[str, Any] | None] | None, *, s2: bool) -> bool:
        if entry is None:
            return False
        at, payload = entry
        preprint = s2 and payload is not None and not payload.get("venue_kind")
        return is_fresh(
            at,
            found=payload is not None,
            preprint=preprint,
            ttl_days=self.cfg.cache_days,
            preprint_days=self.cfg.preprint_recheck_days,
            missing_days=self.cfg.missing_recheck_days,
            now=self.clock(),
        )

    def _failed(self, report: MetadataReport, service: str, exc: Exception) -> None:
        report.failed_services.append(service)
        level = logging.INFO if service in self.notified else logging.WARNING
        self.notified.add(service)
        log.log(
            level,
            "metadata: %s cannot be reached now (%s); the sync goes on with what is cached "
            "and fills in the rest on a later run",
            service,
            exc,
        )

    def _fetch(
        self,
        name: str,
        keys: list[str],
        batch: int,
        fetch: Callable[[list[str]], dict[str, Any]],
        prefix: str,
        report: MetadataReport,
        show: bool | None,
    ) -> None:
        batches = list(_chunks(keys, batch))
        for chunk in progress(batches, f"metadata ({name})", enabled=show):
            try:
                answers = fetch(chunk)
            except ServiceError as exc:
                self._failed(report, name, exc)
                return
            now = self.clock()
            items = [(prefix + k, None if v is None else v.to_json()) for k, v in answers.items()]
            self.cache.put_many(items, now)
            report.fetched += len(items)

    def _titles(
        self, keys: list[tuple[str, str]], report: MetadataReport, show: bool | None
    ) -> None:
        assert self.scholar is not None
        for key, title in progress(keys, "metadata (titles)", enabled=show):
            try:
                hit = self.scholar.match_title(title)
            except ServiceError as exc:
                self._failed(report, "Semantic Scholar", exc)
                return
            self.cache.put_many(
                [("s2:" + key, None if hit is None else hit.to_json())], self.clock()
            )
            report.fetched += 1

    # -------------------------------------------------------------- the run

    def enrich(
        self, papers: Iterable[Paper], *, refresh: bool = False, show: bool | None = None
    ) -> tuple[list[Paper], MetadataReport]:
        """The papers enriched (same order), fetching what the cache lacks."""
        papers = list(papers)
        report = MetadataReport(papers=len(papers))
        start = self.requests
        ax_cache = self.cache.all("arxiv:")
        s2_cache = self.cache.all("s2:")

        ax_ids = list(dict.fromkeys(p.ids.arxiv for p in papers if p.ids.arxiv))
        ax_need = [
            i for i in ax_ids if refresh or not self._fresh(ax_cache.get("arxiv:" + i), s2=False)
        ]
        if ax_need:
            self._fetch(
                "arXiv", ax_need, self.arxiv.batch, self.arxiv.fetch_batch, "arxiv:", report, show
            )
        report.from_cache = len(ax_ids) - len(ax_need)
        if self.scholar is not None:
            keys = list(dict.fromkeys(scholar_key(p) for p in papers))
            need = [k for k in keys if refresh or not self._fresh(s2_cache.get("s2:" + k), s2=True)]
            report.from_cache += len(keys) - len(need)
            by_id = [k for k in need if not k.startswith("TITLE:")]
            if by_id:
                self._fetch(
                    "Semantic Scholar",
                    by_id,
                    self.scholar.batch,
                    self.scholar.fetch_batch,
                    "s2:",
                    report,
                    show,
                )
            titles = {scholar_key(p): p.title for p in papers}
            by_title = [(k, titles[k]) for k in need if k.startswith("TITLE:")]
            if by_title and "Semantic Scholar" not in report.failed_services:
                self._titles(by_title[: self.cfg.title_lookups], report, show)
        report.requests = self.requests - start

        if report.fetched:  # read again what was just stored; unchanged when nothing was
            ax_cache = self.cache.all("arxiv:")
            s2_cache = self.cache.all("s2:")
        out: list[Paper] = []
        for p in papers:
            a_raw = ax_cache.get(f"arxiv:{p.ids.arxiv}") if p.ids.arxiv else None
            s_raw = s2_cache.get("s2:" + scholar_key(p))
            a = ArxivEntry.from_json(a_raw[1]) if a_raw and a_raw[1] else None
            s = ScholarPaper.from_json(s_raw[1]) if s_raw and s_raw[1] else None
            new, warns = enrich_paper(p, a, s, threshold=self.cfg.title_threshold)
            for w in warns:
                log.warning("metadata: %s", w)
            report.warnings.extend(warns)
            if new != p:
                report.enriched += 1
            out.append(new)
        if self.registry is not None:
            out, report.citekeys_new = assign_citekeys(out, self.registry)
        return out, report


def assign_citekeys(papers: list[Paper], registry: CitekeyRegistry) -> tuple[list[Paper], int]:
    """Give every paper with authors its citation key: the registered one if it has one, else
    a new unique one (registered at once, so it never changes)."""
    known = registry.all()
    taken = set(known.values())
    new: list[tuple[str, str]] = []
    out: list[Paper] = []
    for p in papers:
        key = known.get(p.id)
        if key is None and p.authors:
            key = unique_key(base_key(p.authors, p.title, p.year), taken)
            taken.add(key)
            known[p.id] = key
            new.append((p.id, key))
        out.append(replace(p, citekey=key) if key and key != p.citekey else p)
    if new:
        registry.add_many(new)
    return out, len(new)


def enrich_catalog(
    catalog: Catalog, resolver: Resolver, *, refresh: bool = False, show: bool | None = None
) -> MetadataReport:
    """Replace the catalog's papers by their enriched versions (same ids, same order)."""
    catalog.papers, report = resolver.enrich(catalog.papers, refresh=refresh, show=show)
    return report
