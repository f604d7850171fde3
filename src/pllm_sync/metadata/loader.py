"""Enrichment as part of loading the catalog: the engine's ``catalog_loader`` hook.

The sync engine only ever sees the enriched papers, so enrichment needs no engine code: it
is one more upstream, and the merge's catalog rules carry it to Zotero and the vault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..catalog import load_catalog
from ..config import CatalogConfig, MetadataConfig
from ..model import Catalog
from ..paths import app_dirs
from .cache import CitekeyRegistry, ResponseCache
from .resolver import MetadataReport, Resolver, enrich_catalog

log = logging.getLogger(__name__)

CACHE_FILE = "metadata.sqlite3"
CITEKEYS_FILE = "citekeys.sqlite3"


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
        cache = ResponseCache(dirs.cache / CACHE_FILE)
        registry = CitekeyRegistry(dirs.data / CITEKEYS_FILE)
        try:
            resolver = Resolver(mcfg, cache, registry, notified=notified)
            report = enrich_catalog(catalog, resolver, refresh=refresh, show=show)
        finally:
            cache.close()
            registry.close()
        log.info("%s", report.summary())
        if reports is not None:
            reports.append(report)
        return catalog

    return load
