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
from .fields import parse_authors, strip_decorations
from .links import ROLE_WORDS, FoundLink, find_links, is_web_url, role_for
from .markdown_text import has_br, split_br, strip_markdown
from .rowlinks import assemble
from .titles import clean_title
from .venues import date_tag_year, parse_venue

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
_MORE_LINK_HEADERS = frozenset(
    {
        "paper",
        "papers",
        "arxiv",
        "repo",
        "repository",
        "github",
        "project",
        "project page",
        "homepage",
        "demo",
        "video",
        "videos",
        "website",
        "dataset",
        "data",
        "blog",
        "slides",
        "huggingface",
    }
)
"""Columns that hold only links (``[[pdf]](url)``, ``[![arXiv](badge)](url)``) when the
table has its own title column; without one a ``Paper`` column is the title."""
_NAME_HEADERS = frozenset({"benchmark", "benchmarks", "dataset", "datasets", "model", "models"})
"""Headers of the naming column of tables without a title column (``| Benchmark | Focus |``)."""
_DATE_HEADERS = frozenset({"date", "time", "release", "release date", "year", "published date"})


def is_separator(cells: list[str]) -> bool:
    """A pipe table's delimiter row (``|---|:---:|``)."""
    return bool(cells) and all(_SEPARATOR_CELL.match(c) for c in cells) and any(cells)


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
    if k in _DATE_HEADERS:
        return "date"
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
        keys = [strip_markdown(c).lower().strip() for c in cells]
        named_col = next((i for i, k in enumerate(keys) if k in _NAME_HEADERS), None)
        if "title" not in roles and "paper" in keys and named_col is not None:
            # ``| Model | ... | Paper | Code |``: the model names the row, Paper is its link.
            roles[named_col] = "title"
        if "title" not in roles and "paper" in keys:
            roles = ["title" if k == "paper" else r for k, r in zip(keys, roles, strict=True)]
        if "title" not in roles and "workshop" not in roles:
            named = next((i for i, k in enumerate(keys) if k in _NAME_HEADERS), None)
            if named is None:
                named = next((i for i, r in enumerate(roles) if r == "method"), None)
            if named is not None:
                roles[named] = "title"
        if "title" in roles:
            roles = [
                "link" if k in _MORE_LINK_HEADERS and r != "title" else r
                for k, r in zip(keys, roles, strict=True)
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


def parse_cells(
    source: str,
    lineno: int,
    cells: list[str],
    line: str,
    cols: Columns,
    section: SectionPath,
    *,
    style: str = "table",
) -> tuple[Entry | None, list[CatalogWarning]]:
    """One data row of a paper table, given as cells (a pipe-table row from the token
    stream, or an HTML ``<tr>`` made markdown) -> an entry, or None with a warning."""
    warnings: list[CatalogWarning] = []

    def warn(msg: str) -> None:
        warnings.append(CatalogWarning(source, lineno, msg, line.strip()[:500]))

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
        return " ".join(c for c, r in zip(cells, cols.roles, strict=True) if r == role and c)

    title_raw = cell("title")
    method_raw = cell("method")
    swapped = _misplaced_title(cells, cols)
    if swapped is not None:
        # ``| REGEN | Beyond Retrieval: ... |`` under a ``Paper Title | Affiliation`` header:
        # the row follows another table's layout. Take the long text as the title.
        method_raw, title_raw = title_raw, cells[swapped]
        cells[swapped] = ""
        warn("row does not match the table header; the long text is taken as the title")
    title_raw, authors = _title_part(title_raw)
    title_raw = _without_role_links(_without_description(title_raw))
    title_raw, tag_method, _org = strip_decorations(title_raw)
    if tag_method and not strip_markdown(method_raw):
        method_raw = tag_method
    title, aliases, problems = clean_title(title_raw)
    if not title:
        warn("table row has no paper title; skipped")
        return None, warnings
    for p in problems:
        warn(p)
    link_text = cell("link")
    venue_raw = _SHORTCODE.sub("", cell("venue")).strip()
    if not strip_markdown(venue_raw) and link_text:
        # ``|  MiLP | Title |   |   Arxiv'24   [![Paper](...)`` - venue typed into the Link cell.
        lead = _SHORTCODE.sub("", link_text.split("[", 1)[0])
        if strip_markdown(lead).strip(" -–—/"):
            venue_raw = lead.strip()
            warn("venue found in the Link cell")
    # The title's own link is the paper's; the link columns add the rest.
    found = _title_links(cell("title")) + find_links(link_text)
    rl = assemble(found)
    for p in rl.problems:
        warn(p)
    method = strip_markdown(method_raw) or None
    extra: list[tuple[str, str]] = []
    tag_year = None
    for i, role in enumerate(cols.roles):
        if role not in ("title", "method", "venue", "link") and cells[i].strip():
            extra.append((role, strip_markdown(cells[i])))
        if role == "date" and tag_year is None:
            tag_year = date_tag_year(strip_markdown(cells[i]))
        if role == "authors" and not authors:
            authors = parse_authors(cells[i])
    entry = Entry(
        source=source,
        line=lineno,
        section=section,
        style=style,
        title=title,
        aliases=aliases,
        method=method,
        authors=authors,
        venue=parse_venue(venue_raw),
        tag_year=tag_year,
        url=rl.url,
        code_url=rl.code_url,
        links=rl.others,
        ids=rl.ids,
        extra=tuple(extra),
        raw=line.strip()[:2000],
    )
    return entry, warnings


_SHORTCODE = re.compile(r":[a-z0-9_+\-]{1,40}:")
"""``:heavy_minus_sign:`` and friends: emoji placeholders, not text."""
_NUMBERED = re.compile(r"^\s*(?:\*\*|__)?\s*\d{1,3}\)\s+")
_DESCRIPTION = re.compile(r"\S(?:\s{2,}(?=[A-Z])|\s+(?:-{1,2}|–|—)\s+(?=[a-z]))")
"""Where a description starts after a title in the same cell: two spaces before a sentence
(``Title  This paper ...``, the lost line break) or a dash before a lowercase verb
(``Title - proposes a ...``)."""


def _without_description(raw: str) -> str:
    """``1) Title  This paper introduces ...`` / ``Title - proposes ...``: a title with its
    description in the same cell -> ``Title``; a title that merely contains a dash
    (``MINT-1T``, ``Title - A Survey``) is kept."""
    text = _NUMBERED.sub("", raw, count=1) if _NUMBERED.match(raw) else raw
    m = _DESCRIPTION.search(text)
    if m is None:
        return text
    head, tail = text[: m.start() + 1], text[m.end() :]
    if head.count("[") != head.count("]") or head.count("(") != head.count(")"):
        return text  # never cut inside a link
    if len(strip_markdown(tail)) >= 30 and 1 <= len(head.split()) <= 40:
        return head
    return text


def _without_role_links(raw: str) -> str:
    """``SciSafeEval [[paper](u)] [[GitHub](u)]``: the role links of a naming cell are links,
    not part of its title."""
    if "](" not in raw:
        return raw
    out = raw
    for f in reversed(find_links(raw)):
        key = strip_markdown(f.label).lower().strip("[]() ")
        if f.badge or key in ROLE_WORDS or key in ("huggingface", "hugging face", "leaderboard"):
            end = raw.find(")", raw.find("](", f.start)) + 1
            if end > f.start:
                out = out[: f.start] + out[end:]
    return re.sub(r"\[\s*\]", "", out).strip()


def _title_part(raw: str) -> tuple[str, tuple[str, ...]]:
    """The title of a cell such as ``![Star](..) <br> [**Title**](url) <br> Doe, Roe``: the
    ``<br>`` part holding the title link, and the names after it. Cells without a linked
    part (``(old title) <br> new title``) are left to ``clean_title``."""
    if not has_br(raw):
        return raw, ()
    parts = split_br(raw)
    for i, part in enumerate(parts):
        if any(not f.badge and is_web_url(f.url) for f in find_links(part)):
            authors = parse_authors(parts[i + 1]) if i + 1 < len(parts) else ()
            return part, authors
    return raw, ()


def _title_links(raw: str) -> list[FoundLink]:
    """Links written on the title itself; the first one is the paper's (by its URL's role)."""
    out: list[FoundLink] = []
    for f in find_links(raw):
        if f.badge or not is_web_url(f.url):
            out.append(f)
            continue
        role = role_for("", f.url)
        label = "paper" if role in ("link", "website") and not out else role
        out.append(FoundLink(label, f.url, start=f.start, problem=f.problem))
    return out
