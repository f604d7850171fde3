"""What the parsers produce: one ``Entry`` per catalog row, and a ``ParsedDocument`` per source.

An entry is one line (or table row) of one list as written there; a ``Paper`` is the real
paper behind one or more entries. Keeping the two apart lets the identity step see every
listing (with its line number) before deciding which ones are the same paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import CatalogWarning, Link, PaperIds, Section, SectionPath, SourceRef, Venue
from .identity import arxiv_year
from .links import link_kind


@dataclass(frozen=True)
class Entry:
    """One catalog row. ``title`` is cleaned display text; ``aliases`` are older titles the
    row itself mentions (``(old title) <br> new title``), used only for matching."""

    source: str
    line: int
    section: SectionPath
    style: str  # "table", "bullet", "html" (an HTML table row) or "heading" (one per paper)
    title: str
    aliases: tuple[str, ...] = ()
    method: str | None = None
    authors: tuple[str, ...] = ()
    venue: Venue | None = None
    tag_year: int | None = None
    url: str | None = None
    code_url: str | None = None
    links: tuple[Link, ...] = ()
    ids: PaperIds = field(default_factory=PaperIds)
    extra: tuple[tuple[str, str], ...] = ()  # other table columns, e.g. ("domain", "Humanity")
    raw: str = ""

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.source, self.line)

    @property
    def year(self) -> int | None:
        """Venue year, else the bullet tag's year, else the year of the arXiv id."""
        if self.venue is not None and self.venue.year:
            return self.venue.year
        if self.tag_year:
            return self.tag_year
        return arxiv_year(self.ids.arxiv)

    @property
    def link_kinds(self) -> tuple[tuple[str, str], ...]:
        """Every link of the entry as ``(kind, url)``: the paper URL, the code URL, then the
        others; kinds from ``links.link_kind`` (arxiv, pdf, doi, openreview, acl, paper,
        code, project, dataset, video, other)."""
        out: list[tuple[str, str]] = []
        if self.url:
            out.append((link_kind("paper", self.url), self.url))
        if self.code_url:
            out.append(("code", self.code_url))
        out.extend((link_kind(lk.role, lk.url), lk.url) for lk in self.links)
        return tuple(out)

    @property
    def titles(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)


@dataclass
class ParsedDocument:
    """One source's parse: its entries in document order, its taxonomy, its warnings."""

    source: str
    title: str
    entries: list[Entry]
    taxonomy: Section
    warnings: list[CatalogWarning]
    lines: int = 0

    def entries_by_section(self) -> dict[SectionPath, list[Entry]]:
        out: dict[SectionPath, list[Entry]] = {}
        for e in self.entries:
            out.setdefault(e.section, []).append(e)
        return out

    def warned_lines(self) -> set[int]:
        return {w.line for w in self.warnings if w.line is not None}
