"""``build_catalog`` and ``load_catalog``: from parsed documents / configured sources to one
deduplicated ``Catalog``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..config import CatalogConfig
from ..model import Catalog
from .entry import ParsedDocument
from .identity import papers_from_entries
from .parser import parse_document
from .selection import distinct_roots, select_sections
from .sources import SourceFetch, fetch_source, resolve_source

log = logging.getLogger(__name__)


@dataclass
class LoadedCatalog(Catalog):
    """A ``Catalog`` plus how each source was read (ETag / Last-Modified for the sync state,
    whether the text came from the network, the cache or the bundled snapshot)."""

    fetches: list[SourceFetch] = field(default_factory=list)
    documents: list[ParsedDocument] = field(default_factory=list)


def build_catalog(docs: list[ParsedDocument]) -> Catalog:
    """Identity and dedup across sections and lists (docs in order: first listing wins the
    title, the most 'published' venue wins the venue)."""
    docs = distinct_roots(docs)
    entries = [e for d in docs for e in d.entries]
    papers, identity_warnings = papers_from_entries(entries)
    warnings = [w for d in docs for w in d.warnings] + identity_warnings
    taxonomies = {d.source: d.taxonomy for d in docs}
    return Catalog(papers=papers, taxonomies=taxonomies, warnings=warnings)


def load_catalog(cfg: CatalogConfig, *, only: str | None = None) -> LoadedCatalog:
    """Read every configured source (or just ``only``: a name, path or URL), parse, dedup."""
    sources = [resolve_source(cfg, only)] if only else list(cfg.sources)
    fetches = [fetch_source(s, timeout=cfg.timeout_seconds, offline=cfg.offline) for s in sources]
    docs = [
        select_sections(parse_document(f.text, f.name), s.include, s.exclude)
        for s, f in zip(sources, fetches, strict=True)
    ]
    docs = distinct_roots(docs)
    cat = build_catalog(docs)
    if cat.warnings:
        log.info("catalog: %d warnings (run `pllm-sync catalog` to list them)", len(cat.warnings))
    return LoadedCatalog(
        papers=cat.papers,
        taxonomies=cat.taxonomies,
        warnings=cat.warnings,
        fetches=fetches,
        documents=docs,
    )
