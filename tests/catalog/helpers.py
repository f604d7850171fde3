"""Paths and small helpers shared by the catalog tests."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pllm_sync.catalog import ParsedDocument, parse_document

DATA = Path(__file__).resolve().parents[1] / "data"
CATALOGS = DATA / "catalogs"
SEEDS = DATA / "seeds"
LISTS = ("jiahongliu21", "vanillacreamer")
HEAD = {
    "jiahongliu21": CATALOGS / "jiahongliu21" / "2026-03-31_dd027af.md",
    "vanillacreamer": CATALOGS / "vanillacreamer" / "2026-06-09_3a6f690.md",
}


@dataclass(frozen=True)
class Version:
    seq: int
    sha: str
    path: Path
    mainline: bool


def versions(name: str) -> list[Version]:
    """Every saved README version of a list, in true commit order (``seq``), not file order."""
    with (CATALOGS / name / "versions.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out = [
        Version(int(r["seq"]), r["sha"], CATALOGS / name / r["file"], r["on_mainline"] == "yes")
        for r in rows
    ]
    return sorted(out, key=lambda v: v.seq)


def branch_versions(name: str) -> list[tuple[str, Path]]:
    """(parent sha, file) of each branch-only version."""
    tsv = CATALOGS / name / "branches" / "versions.tsv"
    if not tsv.exists():
        return []
    with tsv.open(encoding="utf-8") as f:
        return [(r["parent"], tsv.parent / r["file"]) for r in csv.DictReader(f, delimiter="\t")]


@cache
def parsed(path: Path, source: str) -> ParsedDocument:
    return parse_document(path.read_text(encoding="utf-8"), source)


def counts_by_section(doc: ParsedDocument) -> dict[tuple[str, ...], int]:
    """Entries per section, keyed by the path below the list title."""
    return {path[1:]: len(es) for path, es in doc.entries_by_section().items()}
