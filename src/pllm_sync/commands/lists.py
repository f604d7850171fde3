"""``pllm-sync lists``: the paper lists you follow, and ``lists add`` / ``lists remove``.

The followed lists are ``catalog.sources`` in the config file; these commands edit it in
place (comments kept, see ``config_edit``). Adding reads the list first, so a list that
cannot be read is never written to the config. Removing retires the papers no other list
has on the next ``pull``/``sync``, by the ordinary rule for papers that leave the catalog
(tombstones: nothing is deleted).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..errors import PllmSyncError

if TYPE_CHECKING:  # the catalog stack loads only when a command runs (`--help` stays fast)
    from pathlib import Path

    from ..catalog import ParsedDocument
    from ..catalog.following import ListSummary
    from ..config import Config


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lists",
        help="show, add or remove the paper lists you follow",
        description="Without a subcommand: one line per followed list (papers, sections, "
        "last fetch, warnings), read from the cached copies (--refresh fetches them).",
    )
    p.add_argument("--refresh", action="store_true", help="fetch every list now")
    p.set_defaults(func=run_show)
    sub = p.add_subparsers(dest="lists_command", metavar="SUBCOMMAND")
    a = sub.add_parser(
        "add",
        help="follow a list: URL, PATH or github:owner/repo",
        description="Follow a paper list. github:owner/repo (or a github.com repository URL) "
        "means the README on the repository's default branch.",
    )
    a.add_argument(
        "spec",
        metavar="URL|PATH|github:owner/repo",
        help="the list to follow: a URL, a local markdown file, or a GitHub repository's README",
    )
    a.add_argument("--name", help="the list's name (its collection/index notes; never change it)")
    a.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only sections matching this glob (repeatable), e.g. 'Benchmark*'",
    )
    a.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out sections matching this glob (repeatable)",
    )
    a.set_defaults(func=run_add)
    r = sub.add_parser(
        "remove",
        help="stop following a list; papers no other list has are retired on the next pull",
    )
    r.add_argument("name", help="the name `pllm-sync lists` shows for the list")
    r.set_defaults(func=run_remove)


def _config_file(args: argparse.Namespace, cfg: Config) -> Path:
    """The file the lists live in: the config in force, else a new one at the default place."""
    from pathlib import Path

    from ..paths import app_dirs

    if cfg.path is not None:
        return cfg.path
    if args.config:
        return Path(args.config).expanduser()
    return app_dirs().config / "config.yaml"


def _fmt_patterns(s: ListSummary) -> str:
    parts = []
    if s.include:
        parts.append("include " + ", ".join(s.include))
    if s.exclude:
        parts.append("exclude " + ", ".join(s.exclude))
    return "; ".join(parts)


def render(summaries: list[ListSummary]) -> str:
    head = (
        f"{'NAME':<28}  {'PAPERS':>6}  {'SECTIONS':>8}  {'WARNINGS':>8}  {'LAST FETCH':<25}  SOURCE"
    )
    lines = [head, "-" * len(head)]
    for s in summaries:

        def n(v: int | None) -> str:
            return "-" if v is None else str(v)

        last = s.last_fetch or ("never" if s.origin != "bundled" else "bundled snapshot")
        lines.append(
            f"{s.name[:28]:<28}  {n(s.papers):>6}  {n(s.sections):>8}  {n(s.warnings):>8}  "
            f"{last[:25]:<25}  {s.location}"
        )
        extra = _fmt_patterns(s)
        if extra:
            lines.append(f"{'':<28}  sections: {extra}")
        if s.problem:
            lines.append(f"{'':<28}  not read: {s.problem}")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    from ..catalog.following import summarise
    from ..config import load_config

    cfg = load_config(args.config)
    summaries = [summarise(s, cfg.catalog, refresh=args.refresh) for s in cfg.catalog.sources]
    print(render(summaries))
    where = cfg.path or "the embedded defaults (no config file)"
    print(f"{len(summaries)} lists followed, from {where}", file=sys.stderr)
    return 0


def run_add(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..catalog.following import named, new_source, read_list
    from ..catalog.identity import papers_from_entries
    from ..config import load_config

    cfg = load_config(args.config)
    path = _config_file(args, cfg)
    src = named(new_source(args.spec, args.name, cfg.catalog.github_raw_base))
    entry: dict[str, Any] = dict(src.entry)
    if args.include:
        entry["include"] = list(args.include)
    if args.exclude:
        entry["exclude"] = list(args.exclude)
    taken = {s.name for s in cfg.catalog.sources}
    if src.name in taken:
        raise PllmSyncError(
            f"a list named {src.name!r} is already followed (in {path}); nothing was changed",
            hint="give this one another name with --name",
        )
    # Read it before touching the config: a list that cannot be read is not followed.
    source = replace(src.as_source(), include=tuple(args.include), exclude=tuple(args.exclude))
    fetch, doc = read_list(source, cfg.catalog, refresh=True)
    papers, _ = papers_from_entries(doc.entries)
    from ..config_edit import add_source

    add_source(path, entry)
    sections = sum(1 for _ in doc.taxonomy.walk()) - 1
    print(
        f"following {src.name!r} ({fetch.location}): {len(papers)} papers in {sections} "
        f"sections, {len(doc.warnings)} warnings; saved in {path}"
    )
    if not papers:
        for w in doc.warnings[:10]:
            print(f"warning: {w}", file=sys.stderr)
        print(
            "warning: no papers were found in this list (see the warnings above); "
            f"`pllm-sync lists remove {src.name}` stops following it",
            file=sys.stderr,
        )
    print("run `pllm-sync pull` to mirror it into Zotero and the vault")
    return 0


def _retired_by_removal(cfg: Config, name: str) -> tuple[int, int] | None:
    """(papers only ``name`` lists, papers it lists) in the combined catalog, from the
    cached copies (no network); None when some list has no readable copy."""
    from ..catalog import build_catalog
    from ..catalog.following import read_list

    docs: list[ParsedDocument] = []
    for s in cfg.catalog.sources:
        try:
            docs.append(read_list(s, cfg.catalog, refresh=False)[1])
        except PllmSyncError:
            return None
    everything = {p.id: p for p in build_catalog(docs).papers}
    rest = {p.id for p in build_catalog([d for d in docs if d.source != name]).papers}
    mine = [p for p in everything.values() if any(r.source == name for r in p.sources)]
    return sum(1 for p in mine if p.id not in rest), len(mine)


def run_remove(args: argparse.Namespace) -> int:
    from ..config import load_config

    cfg = load_config(args.config)
    path = _config_file(args, cfg)
    known = any(s.name == args.name for s in cfg.catalog.sources)
    counts = _retired_by_removal(cfg, args.name) if known else None
    from ..config_edit import remove_source

    remove_source(path, args.name)
    print(f"stopped following {args.name!r} (removed from {path})")
    if counts is not None:
        only, total = counts
        print(
            f"{only} of its {total} papers are in no other list: the next `pllm-sync pull` "
            "retires them like papers removed upstream (notes and items are kept, marked "
            "catalog: removed / tag pllm/removed); the others stay"
        )
    else:
        print("the next `pllm-sync pull` retires the papers no other list has")
    return 0
