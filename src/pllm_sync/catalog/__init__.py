"""Catalogs: read the curated paper lists, parse both styles, and dedup into one ``Catalog``.

Public API (docs/catalog.md has the rules):

- ``parse_document(text, source) -> ParsedDocument``: pure parse of one README.
- ``build_catalog(docs) -> Catalog``: identity + dedup across sections and lists.
- ``load_catalog(cfg, only=None) -> LoadedCatalog``: read sources (file, URL with ETag cache,
  bundled snapshot), parse and build; ``.fetches`` holds each source's ``SourceFetch``.
"""

from __future__ import annotations

from .entry import Entry, ParsedDocument
from .identity import ids_from_url, titles_match
from .loader import LoadedCatalog, build_catalog, load_catalog
from .parser import parse_document
from .sources import SourceFetch, bundled_text, fetch_source, resolve_source
from .venues import parse_venue

__all__ = [
    "Entry",
    "LoadedCatalog",
    "ParsedDocument",
    "SourceFetch",
    "build_catalog",
    "bundled_text",
    "fetch_source",
    "ids_from_url",
    "load_catalog",
    "parse_document",
    "parse_venue",
    "resolve_source",
    "titles_match",
]
