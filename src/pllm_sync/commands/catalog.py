"""``pllm-sync catalog``: read the catalog sources and show the papers they list.

A read-only look at what a sync would mirror: no Zotero, no vault. Parse warnings go to
stderr, one per line as ``source:line: message | text``; the paper list goes to stdout as a
readable table or, with ``--format json``, as a JSON array of ``Paper.to_json()`` objects.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .hints import plural

if TYPE_CHECKING:  # the parser and its HTTP stack load only when the command runs
    from ..model import Paper


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "catalog",
        help="parse the catalog sources and list their papers",
        description="Read every catalog source (or one, with --source), parse and deduplicate "
        "it, and print the papers. Warnings about odd entries go to stderr.",
    )
    p.add_argument(
        "--source",
        metavar="NAME|PATH|URL",
        help="only this source: a configured name, a README file or an http(s) URL",
    )
    p.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table (default, for reading) or json (an array of papers)",
    )
    p.set_defaults(func=run)


def _cut(text: str, width: int) -> str:
    """Shorten to ``width`` characters, at a word boundary when one is near."""
    if len(text) <= width:
        return text
    cut = text[: max(width - 1, 0)]
    space = cut.rfind(" ")
    return (cut[:space] if space > width * 2 // 3 else cut) + "…"


def render_table(papers: list[Paper], width: int | None = None) -> str:
    """One line per paper: id, year, venue label, method, title (truncated to fit)."""
    import shutil

    total = width or shutil.get_terminal_size((140, 24)).columns
    widths = {"id": 24, "year": 4, "venue": 22, "method": 16}
    title_w = max(total - sum(widths.values()) - 2 * len(widths), 30)
    header = (
        f"{'ID':<24}  {'YEAR':<4}  {'VENUE':<22}  {'METHOD':<16}  TITLE",
        f"{'-' * 24}  {'-' * 4}  {'-' * 22}  {'-' * 16}  {'-' * min(title_w, 60)}",
    )
    rows = [
        f"{_cut(p.id, 24):<24}  {p.year or ''!s:<4}  "
        f"{_cut(p.venue.label() if p.venue else '', 22):<22}  "
        f"{_cut(p.method or '', 16):<16}  {_cut(p.title, title_w)}"
        for p in papers
    ]
    return "\n".join([*header, *rows])


def run(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog
    from ..config import load_config
    from .output import catalog_summary

    cfg = load_config(args.config)
    catalog = load_catalog(cfg.catalog, only=args.source)
    if not getattr(args, "quiet", False):
        for w in catalog.warnings:
            print(f"warning: {w}", file=sys.stderr)
    if args.format == "json":
        import json

        json.dump([p.to_json() for p in catalog.papers], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_table(catalog.papers))
    if not getattr(args, "quiet", False):
        sources = ", ".join(f"{f.name} ({f.origin})" for f in catalog.fetches)
        summary = catalog_summary(catalog.warnings)
        print(
            f"{plural(len(catalog.papers), 'paper')} from {sources}"
            + (f"; {summary}" if summary else ""),
            file=sys.stderr,
        )
    return 0
