"""``parse_document``: one pass over a catalog README, line by line.

The scanner tracks only what decides whether a line can be an entry: fenced code (BibTeX
citations), HTML comments, HTML blocks (the ``<table>`` table of contents), blockquotes
(contribution templates, inclusion criteria), headings (section paths) and pipe tables
(header mapping). Table rows go to ``table.parse_row``; everything else that looks like an
entry goes to ``bullets.parse_bullet``. Style is decided per line, so a document may mix
tables and bullets.

Work is linear in the input: each line is visited once, lines longer than ``MAX_LINE`` are
reported and not parsed, and the link scanner matches brackets with a stack.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from ..model import CatalogWarning
from .bullets import BULLET, LONE_BULLET, classify, match_tag, parse_bullet, strip_bullets
from .entry import Entry, ParsedDocument
from .fields import parse_authors, sub_field
from .html_table import MAX_HTML_TABLE, html_table_rows
from .links import find_links, to_links
from .markdown_text import clean_heading, strip_comments, strip_heading_number, strip_markdown
from .table import Columns, is_separator, parse_cells, parse_row, split_row
from .taxonomy import HeadingStack, build_taxonomy
from .venues import date_tag_year, parse_venue

log = logging.getLogger(__name__)

MAX_LINE = 20_000
"""Longer lines are not catalog entries (real rows are < 2,000 characters); skipping them
keeps a hostile or corrupted file from costing more than a linear scan."""

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_TABLE_OPEN = re.compile(r"<table\b", re.IGNORECASE)
_HTML_TABLE_CLOSE = re.compile(r"</table\s*>", re.IGNORECASE)


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on \x0c, \x1c, \u2028..., which would shift
    # every line number after such a character away from what an editor shows.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _starts_block(line: str) -> bool:
    """True when ``line`` cannot continue the previous paragraph or list item."""
    s = line.strip()
    if not s or len(line) > MAX_LINE:
        return True
    if s[0] in "#|><" or s.startswith(("```", "~~~")):
        return True
    if BULLET.match(line) or LONE_BULLET.match(line):
        return True
    return match_tag(s) is not None


def parse_document(text: str, source: str) -> ParsedDocument:
    """Parse one catalog README. Pure: no IO, never raises on bad input (it warns)."""
    lines = _split_lines(text)
    n = len(lines)
    entries: list[Entry] = []
    warnings: list[CatalogWarning] = []
    headings = HeadingStack(source)
    fence: str | None = None
    in_comment = False
    in_html_table = False
    html_start = 0
    html_lines: list[str] = []
    table: Columns | None = None
    last_paper_cols: Columns | None = None

    def warn(lineno: int, msg: str, snippet: str = "") -> None:
        warnings.append(CatalogWarning(source, lineno, msg, snippet.strip()))

    i = 0
    while i < n:
        lineno = i + 1
        line = lines[i]
        i += 1
        if in_comment:
            end = line.find("-->")
            if end < 0:
                continue
            line = line[end + 3 :]
            in_comment = False
        if "<!--" in line:
            line = strip_comments(line)
            start = line.find("<!--")
            if start >= 0:
                line = line[:start]
                in_comment = True
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
            table = None
            continue
        if in_html_table:
            # As in CommonMark, an HTML block ends at its closing tag or at a blank line
            # (unless more HTML follows it), so a table that is never closed cannot hide
            # the rest of the file.
            html_lines.append(line)
            if _HTML_TABLE_CLOSE.search(line) or (not stripped and not _html_follows(lines, i)):
                in_html_table = False
                _read_html_table(source, html_start, html_lines, headings, entries, warnings)
            continue
        if not stripped:
            table = None
            continue
        if stripped.startswith("<") and _HTML_TABLE_OPEN.search(line):
            # Before the length check: a whole HTML table on one line is normal, and the
            # HTML tokenizer is linear.
            html_start, html_lines, table = lineno, [line], None
            if _HTML_TABLE_CLOSE.search(line):
                _read_html_table(source, html_start, html_lines, headings, entries, warnings)
            else:
                in_html_table = True
            continue
        if len(line) > MAX_LINE:
            table = None
            if "|" in line or "[" in line:
                warn(
                    lineno, f"line is {len(line)} characters long; not read as an entry", line[:120]
                )
            continue
        if stripped.startswith("#"):
            h = _HEADING.match(line)
            if h:
                table = None
                body = strip_heading_number(h.group(2) or "")
                cand = classify(body, False) if "](" in body else None
                if cand is not None and not headings.excluded():
                    # ``### 12. [Title](https://arxiv.org/abs/...)``: one heading per paper;
                    # the badge/link lines right under it belong to it, the summary not.
                    parts, raw_parts = [body], [line]
                    while i < n and lines[i].strip() and _only_links(lines[i]):
                        parts.append(lines[i].strip())
                        raw_parts.append(lines[i])
                        i += 1
                    entry, ws = parse_bullet(
                        source, lineno, " ".join(parts), cand, headings.path(), " ".join(raw_parts)
                    )
                    warnings.extend(ws)
                    if entry is not None:
                        entries.append(replace(entry, style="heading"))
                    continue
                headings.push(len(h.group(1)), clean_heading(h.group(2) or ""))
                continue
        if stripped.startswith(">"):
            table = None
            continue
        if stripped.startswith("<"):
            table = None
            continue
        if stripped.startswith("|") or (table is not None and "|" in stripped):
            # GFM: once a table has started, a row may omit its leading pipe.
            if is_separator(line):
                continue
            if table is None:
                cells = split_row(line)
                if i < n and is_separator(lines[i]):
                    table = Columns.from_header(cells)
                    if table.is_paper_table:
                        last_paper_cols = table
                    i += 1  # the separator row
                    continue
                if last_paper_cols is not None and len(last_paper_cols.roles) == len(cells):
                    table = last_paper_cols
                    how = "taken from the previous table"
                else:
                    table = Columns.guess(cells)
                    how = "guessed from the cells"
                if table.is_paper_table and not headings.excluded():
                    warn(lineno, f"table has no header row; columns {how}", line[:120])
            if table.is_paper_table and not headings.excluded():
                entry, ws = parse_row(source, lineno, line, table, headings.path())
                warnings.extend(ws)
                if entry is not None:
                    entries.append(entry)
            continue
        table = None
        body, bulleted = strip_bullets(line)
        if not body.strip() or LONE_BULLET.match(line):
            continue
        cand = classify(body, bulleted)
        if cand is None and bulleted and i < n and not _starts_block(lines[i]):
            # ``1. **Title**`` with its authors and links on the following lines.
            j, joined = i, [body]
            while j < n and j < i + 8 and not _starts_block(lines[j]) and "<!--" not in lines[j]:
                joined.append(lines[j].strip())
                j += 1
            cand = classify(" ".join(joined), bulleted)
        if cand is None:
            continue
        if headings.excluded():
            log.debug("%s:%d: entry-like line in a non-catalog section ignored", source, lineno)
            continue
        parts = [body.strip()]
        raw_parts = [line]
        while i < n and not _starts_block(lines[i]) and "<!--" not in lines[i]:
            parts.append(lines[i].strip())
            raw_parts.append(lines[i])
            i += 1
        entry, ws = parse_bullet(
            source, lineno, " ".join(parts), cand, headings.path(), " ".join(raw_parts)
        )
        warnings.extend(ws)
        if entry is not None and bulleted:
            i, entry = _sub_bullet_fields(lines, i, line, entry)
        if entry is not None:
            entries.append(entry)
    if in_html_table:
        _read_html_table(source, html_start, html_lines, headings, entries, warnings)
    if fence is not None:
        warn(n, "code block is never closed; the rest of the file was not read")
    if in_comment:
        warn(n, "HTML comment '<!--' is never closed; the rest of the file was not read")
    if not entries and ("](http" in text or "href=" in text):
        warn(
            1,
            "no paper entries found in this list; its entries may use a layout the reader "
            "does not know (see docs/catalog.md, 'Shapes the reader knows')",
        )
    root = headings.root_name
    fixed: list[Entry] = []
    for e in entries:
        if e.section[0] != root:  # entries above the H1 got the source name as root
            e = replace(e, section=(root, *e.section[1:]))
        fixed.append(e)
    taxonomy = build_taxonomy(source, root, [e.section for e in fixed])
    return ParsedDocument(
        source=source,
        title=root,
        entries=fixed,
        taxonomy=taxonomy,
        warnings=warnings,
        lines=n,
    )


def _html_follows(lines: list[str], i: int) -> bool:
    """True when the next non-blank line (from index ``i``) continues HTML markup."""
    for j in range(i, min(i + 3, len(lines))):
        s = lines[j].strip()
        if s:
            return s.startswith("<")
    return False


def _only_links(line: str) -> bool:
    """A line of badges/links only (``[![arXiv](..)](..) [![Code](..)](..)``)."""
    s = line.strip()
    if "](" not in s or s.startswith(("#", "|", ">")):
        return False
    found = find_links(s)
    rest = s
    for f in reversed(found):
        rest = rest[: f.start]
    return bool(found) and not strip_markdown(rest).strip(" |,;-·") and len(found) >= 1


def _read_html_table(
    source: str,
    start: int,
    block_lines: list[str],
    headings: HeadingStack,
    entries: list[Entry],
    warnings: list[CatalogWarning],
) -> None:
    """Entries from one ``<table>`` block (rows as cells; header from ``<th>`` cells)."""
    block = "\n".join(block_lines)
    if len(block) > MAX_HTML_TABLE:
        warnings.append(
            CatalogWarning(source, start, f"HTML table of {len(block)} characters not read", "")
        )
        return
    if headings.excluded() or "href" not in block:
        return
    cols: Columns | None = None
    header_seen = warned = False
    for row in html_table_rows(block):
        lineno = start + row.line - 1
        if row.header:
            cols, header_seen = Columns.from_header(row.cells), True
            continue
        if not header_seen:
            cols = Columns.guess(row.cells)
            if cols.is_paper_table and not warned:
                warned = True
                warnings.append(
                    CatalogWarning(
                        source, lineno, "HTML table has no header row; columns guessed", ""
                    )
                )
        if cols is None or not cols.is_paper_table:
            continue
        raw = " | ".join(row.cells)
        entry, ws = parse_cells(
            source, lineno, list(row.cells), raw, cols, headings.path(), style="html"
        )
        warnings.extend(ws)
        if entry is not None:
            entries.append(entry)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _sub_bullet_fields(lines: list[str], i: int, head: str, entry: Entry) -> tuple[int, Entry]:
    """Nested ``- Authors: ...`` / ``- Venue: ...`` / ``- TL;DR: ...`` bullets under an entry
    describe it; read them into the entry (and not as entries of their own)."""
    depth = _indent(head)
    authors, venue, tag_year, links = entry.authors, entry.venue, entry.tag_year, list(entry.links)
    while i < len(lines):
        line = lines[i]
        if not line.strip() or _indent(line) <= depth or len(line) > MAX_LINE:
            break
        body, bulleted = strip_bullets(line)
        f = sub_field(body) if bulleted else None
        if f is None:
            break
        key, value = f
        if key == "authors" and not authors:
            authors = parse_authors(value)
        elif key == "venue" and venue is None:
            venue = parse_venue(strip_markdown(value))
            tag_year = tag_year or (venue.year if venue else None)
        elif key == "date" and tag_year is None:
            tag_year = date_tag_year(strip_markdown(value))
        elif key == "links":
            links.extend(lk for lk in to_links(find_links(value)) if lk.url != entry.url)
        i += 1
    return i, replace(
        entry, authors=authors, venue=venue, tag_year=tag_year, links=tuple(dict.fromkeys(links))
    )
