"""``pllm-sync enrich [--refresh]``: fetch scholarly metadata for every listed paper and bring
it into Zotero and the vault (a pull with enrichment on, whatever the config says).

``--refresh`` asks the services again even for answers still fresh in the cache (use it after
fixing a link in a list, or to look for published versions now)."""

from __future__ import annotations

import argparse
from typing import Any

from .pull import _add_common, _run


def register(sub: Any) -> None:
    p = sub.add_parser(
        "enrich",
        help="fetch authors, abstracts, DOIs, venues and citation keys, then pull them in",
    )
    _add_common(p)
    p.add_argument(
        "--refresh",
        action="store_true",
        help="ask arXiv and Semantic Scholar again, ignoring cached answers",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return _run(args, pull_catalog=True, refresh=bool(args.refresh), force=True)
