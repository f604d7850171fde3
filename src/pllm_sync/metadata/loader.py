"""Enrichment as part of loading the catalog: the engine's ``catalog_loader`` hook.

The sync engine only ever sees the enriched papers, so enrichment needs no engine code: it
is one more upstream, and the merge's catalog rules carry it to Zotero and the vault.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..catalog import load_catalog
from ..config import CatalogConfig, MetadataConfig
from ..model import Catalog
from ..paths import app_dirs
from .cache import CitekeyRegistry, ResponseCache
from .resolver import MetadataReport, Resolver, enrich_catalog

log = logging.getLogger(__name__)

CACHE_FILE = "metadata.sqlite3"
CITEKEYS_FILE = "citekeys.sqlite3"


S = TypeVar("S", ResponseCache, CitekeyRegistry)


def _open(kind: type[S], path: Path, what: str, notified: set[str]) -> S | None:
    """Open a metadata database; a damaged or unwritable one only warns (once): the cache is
    replaced by one in memory for this run, and no new citation key is given until the
    registry can be read again (keys must never change, so none is guessed)."""
    try:
        return kind(path)
    except (sqlite3.Error, OSError) as exc:
        if what not in notified:
            notified.add(what)
            log.warning(
                "metadata: the %s file %s cannot be used (%s); %s",
                what,
                path,
                exc,
                "going on without it: delete the file to start it afresh",
            )
        return None


def enriching_loader(
    mcfg: MetadataConfig,
    *,
    refresh: bool = False,
    show: bool | None = None,
    base: Callable[..., Catalog] = load_catalog,
    reports: list[MetadataReport] | None = None,
) -> Callable[[CatalogConfig], Catalog]:
    """A catalog loader that enriches what ``base`` loads. Each call opens the cache, asks
    the services for what it lacks (a failing service is reported once per process, then
    only logged at info level), and appends its report to ``reports``."""
    notified: set[str] = set()

    def load(catalog_cfg: CatalogConfig, *args: Any, **kwargs: Any) -> Catalog:
        catalog = base(catalog_cfg, *args, **kwargs)
        dirs = app_dirs()
        cache = _open(ResponseCache, dirs.cache / CACHE_FILE, "cache", notified)
        if cache is None:
            cache = ResponseCache(Path(":memory:"))
        registry = _open(CitekeyRegistry, dirs.data / CITEKEYS_FILE, "citation keys", notified)
        try:
            resolver = Resolver(mcfg, cache, registry, notified=notified)
            report = enrich_catalog(catalog, resolver, refresh=refresh, show=show)
        finally:
            cache.close()
            if registry is not None:
                registry.close()
        log.info("%s", report.summary())
        if reports is not None:
            reports.append(report)
        return catalog

    return load
