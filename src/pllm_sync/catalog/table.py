"""Table-style catalogs: ``| Method | Paper Title | Published At | Link |`` rows.

Columns are mapped by header name, never by position: the upstream table list used
``Paper Title | Affiliation | Published At | Link`` and ``Method | Paper Title | ...`` in the
same file, and later added a ``Domain`` column. A table with no title column (``Related
Workshops``) is not a paper table. A table with no header row (``## System (Agent)`` in
2025-09) reuses the previous paper table's columns, with a warning.

Every row of a paper table either becomes an entry or produces a warning naming its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import CatalogWarning, SectionPath
from .entry import Entry
from .links import find_links
from .markdown_text import strip_markdown
from .rowlinks import assemble
from .titles import clean_title
from .venues import parse_venue

_SEPARATOR_CELL = re.compile(r"^\s*:?-{1,}\s*:?\s*$")
_METHOD_HEADERS = frozenset(
    {
        "method",
        "methods",
        "name",
        "keyword",
        "keywords",
        "model",
        "abbr",
        "abbreviation",
        "acronym",
        "short name",
        "method name",
        "alias",
    }
)
_VENUE_HEADERS = frozenset(
    {"venue", "conference", "conf", "publication", "journal", "where", "published", "pub"}
)
_LINK_HEADERS = frozenset(
    {"link", "links", "url", "urls", "resources", "resource", "paper link", "pdf", "code"}
)


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def split_row(line: str) -> list[str]:
    """Cells of a pipe-table row (leading/trailing pipe optional, ``\\|`` kept in the cell)."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(s)]


def is_separator(line: str) -> bool:
    cells = split_row(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(c) for c in cells) and "-" in line


def column_role(header: str) -> str:
    k = strip_markdown(header).lower().strip()
    if "workshop" in k:
        return "workshop"
    if "title" in k:
        return "title"
    if k in _METHOD_HEADERS:
        return "method"
    if "published" in k or "venue" in k or k in _VENUE_HEADERS:
        return "venue"
    if k in _LINK_HEADERS or "link" in k:
        return "link"
    if "affiliation" in k or "institution" in k:
        return "affiliation"
    if "author" in k:
        return "authors"
    return re.sub(r"[^a-z0-9]+", "_", k).strip("_") or "column"


@dataclass(frozen=True)
class Columns:
    """Column index by role for one table."""

    roles: tuple[str, ...]

    @classmethod
    def from_header(cls, cells: list[str]) -> Columns:
        roles = [column_role(c) for c in cells]
        if "title" not in roles and "paper" in (strip_markdown(c).lower() for c in cells):
            roles = [
                "title" if strip_markdown(c).lower() == "paper" else r
                for c, r in zip(cells, roles, strict=True)
            ]
        return cls(tuple(roles))

    @classmethod
    def guess(cls, cells: list[str]) -> Columns:
        """Roles for a headerless row: the link cell holds ``](http``, a short venue-looking
        cell before it is the venue, the longest remaining text is the title, and a cell
        before the title is the method."""
        roles = ["column"] * len(cells)
        link = next((i for i, c in enumerate(cells) if "](http" in c), None)
        if link is None:
            return cls(tuple(roles))  # no link, no evidence this is a paper table
        roles[link] = "link"
        texts = [i for i in range(len(cells)) if roles[i] == "column" and cells[i]]
        if texts:
            title = max(texts, key=lambda i: len(cells[i]))
            roles[title] = "title"
            for i in texts:
                if i < title and roles[i] == "column":
                    roles[i] = "method"
                    break
            for i in texts:
                if i > title and roles[i] == "column":
                    v = parse_venue(cells[i])
                    if v is not None and (v.year or v.name):
                        roles[i] = "venue"
                        break
        return cls(tuple(roles))

    def index(self, role: str) -> int | None:
        try:
            return self.roles.index(role)
        except ValueError:
            return None

    @property
    def is_paper_table(self) -> bool:
        return "title" in self.roles and "workshop" not in self.roles


def _words(text: str) -> int:
    return len(strip_markdown(text).split())


def _misplaced_title(cells: list[str], cols: Columns) -> int | None:
    """Index of the cell that really holds the title when the title cell holds a short
    name (one or two words) and a free-text column right after it holds a sentence."""
    ti = cols.index("title")
    if ti is None or cols.index("method") is not None or _words(cells[ti]) > 2:
        return None
    nxt = ti + 1
    if (
        nxt < len(cells)
        and cols.roles[nxt] not in ("venue", "link", "title")
        and _words(cells[nxt]) >= 4
        and "](" not in cells[nxt]
    ):
        return nxt
    return None


def parse_row(
    source: str,
    lineno: int,
    line: str,
    cols: Columns,
    section: SectionPath,
) -> tuple[Entry | None, list[CatalogWarning]]:
    """One data row of a paper table -> an entry, or None with a warning saying why."""
    warnings: list[CatalogWarning] = []

    def warn(msg: str) -> None:
        warnings.append(CatalogWarning(source, lineno, msg, line.strip()))

    cells = split_row(line)
    if not any(cells):
        warn("empty table row; skipped")
        return None, warnings
    n = len(cols.roles)
    link_i = cols.index("link")
    if len(cells) > n:
        surplus = [c for c in cells[n:] if c]
        cells = cells[:n]
        if surplus:
            if link_i is not None:
                cells[link_i] = " ".join([cells[link_i], *surplus])
                warn(
                    f"row has {n + len(surplus)} cells but the header has {n}; "
                    "extra cells read as links"
                )
            else:
                warn(f"row has more cells than the header ({n}); extra cells ignored")
    elif len(cells) < n:
        warn(f"row has only {len(cells)} cells but the header has {n}; missing cells left empty")
        cells = cells + [""] * (n - len(cells))

    def cell(role: str) -> str:
        i = cols.index(role)
        return cells[i] if i is not None else ""

    title_raw = cell("title")
    method_raw = cell("method")
    swapped = _misplaced_title(cells, cols)
    if swapped is not None:
        # ``| REGEN | Beyond Retrieval: ... |`` under a ``Paper Title | Affiliation`` header:
        # the row follows another table's layout. Take the long text as the title.
        method_raw, title_raw = title_raw, cells[swapped]
        cells[swapped] = ""
        warn("row does not match the table header; the long text is taken as the title")
    title, aliases, problems = clean_title(title_raw)
    if not title:
        warn("table row has no paper title; skipped")
        return None, warnings
    for p in problems:
        warn(p)
    link_text = cell("link")
    venue_raw = cell("venue")
    if not strip_markdown(venue_raw) and link_text:
        # ``|  MiLP | Title |   |   Arxiv'24   [![Paper](...)`` - venue typed into the Link cell.
        lead = link_text.split("[", 1)[0]
        if strip_markdown(lead):
            venue_raw = lead.strip()
            warn("venue found in the Link cell")
    found = find_links(link_text)
    if link_i is None or not found:
        # A list without a Link column may link the title itself.
        found = found + find_links(title_raw)
    rl = assemble(found)
    for p in rl.problems:
        warn(p)
    method = strip_markdown(method_raw) or None
    extra: list[tuple[str, str]] = []
    for i, role in enumerate(cols.roles):
        if role not in ("title", "method", "venue", "link") and cells[i].strip():
            extra.append((role, strip_markdown(cells[i])))
    entry = Entry(
        source=source,
        line=lineno,
        section=section,
        style="table",
        title=title,
        aliases=aliases,
        method=method,
        venue=parse_venue(venue_raw),
        url=rl.url,
        code_url=rl.code_url,
        links=rl.others,
        ids=rl.ids,
        extra=tuple(extra),
        raw=line.strip(),
    )
    return entry, warnings
