"""``parse_document``: one pass over a catalog README, line by line, guided by its blocks.

What a line *is* comes from markdown-it's token stream (``blocks.read_blocks``): fenced
code (BibTeX citations) and blockquotes (contribution templates) are skipped, ATX headings
open sections, a pipe table's header is where markdown-it starts a table, and raw
``<table>`` HTML blocks go whole to the ``html.parser`` reader. Within paragraphs and list
items the reader still decides per line whether a line starts an entry and which following
lines continue it; table rows go to ``table.parse_row``, everything else that looks like an
entry to ``bullets.parse_bullet``. HTML comments are removed line by line.

Work is linear in the input: markdown-it's block phase is linear, each line is visited
once, lines longer than ``MAX_LINE`` are reported and not parsed, and the link scanner
matches brackets with a stack.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from ..model import CatalogWarning
from .blocks import (
    MAX_LINE,
    Block,
    html_table_regions,
    line_kinds,
    read_blocks,
    split_cells,
    unclosed_fence,
)
from .bullets import BARE_URL as _BARE_URL
from .bullets import (
    LONE_BULLET,
    Candidate,
    classify,
    match_tag,
    parse_bullet,
)
from .entry import Entry, ParsedDocument
from .fields import parse_authors, strip_field_prefix, sub_field
from .html_table import MAX_HTML_TABLE, html_table_rows
from .links import find_links, is_paper_url, to_links
from .markdown_text import clean_heading, strip_comments, strip_heading_number, strip_markdown
from .table import Columns, is_separator, parse_cells
from .taxonomy import HeadingStack, build_taxonomy
from .venues import date_tag_year, parse_venue

log = logging.getLogger(__name__)


_BOLD_PARAGRAPH = re.compile(r"^(?:\*\*|__)(?=\S)[^*_]{8,}(?:\*\*|__)")
"""A paragraph that opens with a bold run (``**Title** <br />`` / ``**Title** \\``)."""
_LOOSE_FIELD = re.compile(r"^(?P<key>[A-Za-z][\w \-]{0,24}?)\s*[:：]?\s+(?P<url>https?://\S+)\s*$")
_SURVEY = re.compile(r"\b(?:survey|paper)\b", re.IGNORECASE)


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on \x0c, \x1c, \u2028..., which would shift
    # every line number after such a character away from what an editor shows.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass(frozen=True)
class TextBlocks:
    """Where the text of a paragraph or list item ends, from the token stream."""

    para_end: list[int]
    """Per line: the end (exclusive) of the paragraph holding it (the line itself when none)."""
    loose: dict[int, Block]
    """First line of a list item -> the item's second paragraph (a loose item)."""

    @classmethod
    def of(cls, blocks: list[Block], n: int) -> TextBlocks:
        para_end = list(range(1, n + 1))
        loose: dict[int, Block] = {}
        for k, b in enumerate(blocks):
            if b.kind in ("paragraph", "setext"):
                for j in range(b.start, min(b.end, n)):
                    para_end[j] = min(b.end, n)
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            if (
                b.head is not None
                and nxt is not None
                and nxt.kind == "paragraph"
                and nxt.head is None
                and nxt.depth == b.depth
                and nxt.start < b.item_end
            ):
                loose[b.start] = nxt
        return cls(para_end, loose)


def _starts_block(line: str) -> bool:
    """True when ``line``, a line of a paragraph (markdown-it has ended the paragraph at
    blank lines, list items, headings and fences), still does not continue the entry
    above it: it starts an entry of its own (a paragraph of ``**[2024 EMNLP]** ...``
    lines is several entries), is a marker-only ``+`` line, or is a line of markup."""
    s = line.strip()
    if not s or s[0] in "#|><" or LONE_BULLET.match(line):
        return True
    return match_tag(s) is not None


def parse_document(text: str, source: str) -> ParsedDocument:
    """Parse one catalog README. Pure: no IO, never raises on bad input (it warns)."""
    lines, in_comment = _without_comments(_split_lines(text))
    n = len(lines)
    entries: list[Entry] = []
    warnings: list[CatalogWarning] = []
    headings = HeadingStack(source)
    blocks = read_blocks(lines)
    html_tables = html_table_regions(lines, blocks)
    kinds = line_kinds(lines, blocks)
    table_rows = {r.line: r for b in blocks for r in b.rows}
    heading_at = {b.start: b for b in blocks if b.kind == "heading"}
    item_heads = {b.start: b for b in blocks if b.head is not None}
    paras = TextBlocks.of(blocks, n)
    table: Columns | None = None
    last_paper_cols: Columns | None = None

    def warn(lineno: int, msg: str, snippet: str = "") -> None:
        warnings.append(CatalogWarning(source, lineno, msg, snippet.strip()))

    i = 0
    while i < n:
        lineno = i + 1
        line = lines[i]
        i += 1
        stripped = line.strip()
        kind = kinds[i - 1]
        if kind == "code":
            table = None
            continue
        if not stripped:
            table = None
            continue
        html_end = html_tables.get(lineno - 1)
        if html_end is not None:
            # A raw ``<table>`` block, as markdown-it delimits it (blocks.html_table_regions).
            # Before the length check: a whole HTML table on one line is normal, and the
            # HTML tokenizer is linear.
            table = None
            _read_html_table(
                source, lineno, lines[lineno - 1 : html_end], headings, entries, warnings
            )
            i = html_end
            continue
        if len(line) > MAX_LINE:
            table = None
            if "|" in line or "[" in line:
                warn(
                    lineno, f"line is {len(line)} characters long; not read as an entry", line[:120]
                )
            continue
        if kind == "heading":
            h = heading_at.get(lineno - 1)
            if h is not None:
                table = None
                body = strip_heading_number(h.text)
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
                headings.push(h.level, clean_heading(h.text))
                continue
        if "](" in stripped and headings.announces() and _SURVEY.search(stripped):
            survey = _announced_survey(source, lineno, stripped, headings.root_name)
            if survey is not None:
                table = None
                entries.append(survey)
                continue
        if kind == "quote":
            table = None
            continue
        if kind == "html":
            table = None
            continue
        trow = table_rows.get(lineno - 1)
        if trow is not None:
            # A pipe-table row as markdown-it delimits the table (GFM: rows may omit the
            # outer pipes; the table ends at a blank line or another block).
            cells = list(trow.cells)
            if trow.header:
                table = Columns.from_header(cells)
                if table.is_paper_table:
                    last_paper_cols = table
                i += 1  # the separator row
                continue
            if table is None or is_separator(cells):
                continue
            if table.is_paper_table and not headings.excluded():
                entry, ws = parse_cells(source, lineno, cells, line, table, headings.path())
                warnings.extend(ws)
                if entry is not None:
                    entries.append(entry)
            continue
        if table is not None and (lineno - 2) in table_rows:
            table = None  # markdown-it ended the table here (a list item, a paragraph...)
        if stripped.startswith("|") or (table is not None and "|" in stripped):
            # Pipe rows that are no table to markdown-it: a header whose separator row has
            # another cell count, rows without a header (a paragraph).
            if is_separator(split_cells(line)):
                continue
            if table is None:
                cells = split_cells(line)
                # A header whose separator row has another number of cells is no table to
                # CommonMark (nor on GitHub), but its rows are still read, with a warning.
                ragged = i < n and is_separator(split_cells(lines[i]))
                if ragged:
                    table = Columns.from_header(cells)
                    if table.is_paper_table:
                        last_paper_cols = table
                        if not headings.excluded():
                            warn(
                                lineno,
                                f"table header has {len(cells)} cells but its separator row "
                                f"has {len(split_cells(lines[i]))}; GitHub does not show it as "
                                "a table",
                                line[:120],
                            )
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
                entry, ws = parse_cells(
                    source, lineno, split_cells(line), line, table, headings.path()
                )
                warnings.extend(ws)
                if entry is not None:
                    entries.append(entry)
            continue
        table = None
        item = item_heads.get(lineno - 1)
        # A list item's first line (``+ + x``, ``1. x``, ``1) x``: markers as markdown-it
        # reads them) is a bullet; any other line of a paragraph is read as it stands.
        body, bulleted = (item.head or "", True) if item is not None else (stripped, False)
        if not body.strip():
            continue
        body = strip_field_prefix(body)
        cand = classify(body, bulleted)
        bold_para = not bulleted and _BOLD_PARAGRAPH.match(body) is not None
        if cand is None and (bulleted or bold_para):
            # ``1. **Title**`` with its authors and links on the following lines (or in an
            # indented paragraph of the same list item), and paragraphs that open with a
            # bold title; a bounded look, so linear.
            ahead = _item_lines(lines, i, paras, bulleted, limit=8)
            if ahead:
                cand = classify(" ".join([body, *(lines[k].strip() for k in ahead)]), bulleted)
        fields: list[str] = []
        field_lines: list[int] = []
        if cand is None and bold_para:
            # ``**Title**`` then a list of ``- Paper: https://...`` / ``- Code: ...`` fields
            field_lines, fields = _field_list(lines, i, item_heads)
            if fields:
                cand = classify(" ".join([body, *fields]), False)
        if cand is None:
            continue
        more = _item_lines(lines, i, paras, bulleted)
        if headings.excluded():
            log.debug("%s:%d: entry-like line in a non-catalog section ignored", source, lineno)
            continue
        if fields:
            more, extra_text = field_lines, fields
        else:
            extra_text = []
        parts = [body.strip(), *(extra_text or (lines[k].strip() for k in more))]
        raw_parts = [line, *(lines[k] for k in more)]
        if more:
            i = more[-1] + 1
        entry, ws = parse_bullet(
            source, lineno, " ".join(parts), cand, headings.path(), " ".join(raw_parts)
        )
        warnings.extend(ws)
        if entry is not None and bulleted:
            i, entry = _sub_bullet_fields(i, item_heads[lineno - 1], item_heads, entry)
        if entry is not None:
            entries.append(entry)
    if unclosed_fence(lines, blocks):
        warn(n, "code block is never closed; the rest of the file was not read")
    if in_comment:
        warn(n, "HTML comment '<!--' is never closed; the rest of the file was not read")
    if not entries and text.replace("\ufeff", "").strip():
        warn(
            1,
            "no paper entries found in this list; it may not be a paper list, or its entries "
            "use a layout the reader "
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


def _without_comments(lines: list[str]) -> tuple[list[str], bool]:
    """``lines`` with HTML comments removed (a comment spanning lines leaves its lines
    empty, so line numbers stay), and whether the last comment is never closed. Done before
    markdown-it sees the text: commented-out entries and ``<!-- START -->`` markers are not
    part of any block."""
    out: list[str] = []
    in_comment = False
    for line in lines:
        if in_comment:
            end = line.find("-->")
            if end < 0:
                out.append("")
                continue
            line = line[end + 3 :]
            in_comment = False
        if "<!--" in line:
            line = strip_comments(line)
            start = line.find("<!--")
            if start >= 0:
                line = line[:start]
                in_comment = True
        out.append(line)
    return out, in_comment


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
    in_head = True
    for row in html_table_rows(block):
        lineno = start + row.line - 1
        if row.header or (in_head and _looks_like_header(row.cells)):
            # Consecutive header rows (a two-row header with rowspan/colspan): the last
            # one, with the spanned labels carried down, names the columns.
            cols, header_seen = Columns.from_header(row.cells), True
            continue
        in_head = False
        if not header_seen:
            # Without a header, only rows that link a paper host are read (layout tables
            # of prose and pictures are common in READMEs).
            if not any(is_paper_url(f.url) for c in row.cells for f in find_links(c)):
                continue
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


def _sub_bullet_fields(
    i: int, head: Block, items: dict[int, Block], entry: Entry
) -> tuple[int, Entry]:
    """Nested ``- Authors: ...`` / ``- Venue: ...`` / ``- TL;DR: ...`` bullets under an entry
    describe it; read them into the entry (and not as entries of their own). They are the
    list items nested in the entry's item (markdown-it's nesting), right below it."""
    authors, venue, tag_year, links = entry.authors, entry.venue, entry.tag_year, list(entry.links)
    while i < head.item_end:
        sub = items.get(i)
        f = sub_field(sub.head or "") if sub is not None and sub.depth > head.depth else None
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


def _item_lines(
    lines: list[str], i: int, text: TextBlocks, bulleted: bool, limit: int | None = None
) -> list[int]:
    """Indices of the lines that continue the entry started at ``i - 1``: the rest of its
    paragraph up to a line that starts another entry, and, for a list item, the item's next
    paragraph after one blank line (``* **Title** Venue`` / blank / ``  *Authors* [..]``)."""
    end = text.para_end[i - 1]
    stop = end if limit is None else min(end, i + limit)
    out: list[int] = []
    j = i
    while j < stop and not _starts_block(lines[j]):
        out.append(j)
        j += 1
    nxt = text.loose.get(i - 1) if bulleted and j == end else None
    if nxt is not None and nxt.start == end + 1 and not lines[end].strip():
        stop = nxt.end if limit is None else min(nxt.end, i + limit)
        j = nxt.start
        while j < stop and not _starts_block(lines[j]):
            out.append(j)
            j += 1
    return out


def _field_list(lines: list[str], i: int, items: dict[int, Block]) -> tuple[list[int], list[str]]:
    """After a bold title line (index ``i - 1``): an optional blank line, then list items
    of ``Key: value`` fields. Returns their indices and each as link text for the entry
    (``Paper: https://...`` -> ``[paper](https://...)``); nothing when no field has a URL."""
    j = i
    if j < len(lines) and not lines[j].strip():
        j += 1
    idx: list[int] = []
    out: list[str] = []
    while j < len(lines) and j < i + 40:
        if not lines[j].strip() and j + 1 in items:
            j += 1  # a loose list: fields separated by blank lines
            continue
        item = items.get(j)
        if item is None:
            break
        body = item.head or ""
        f = sub_field(body)
        if f is None:
            loose = _LOOSE_FIELD.match(body.strip())  # ``Homeoage: url``, ``Paper  url``
            f = ("links", loose.group("url")) if loose else None
        if f is None:
            break
        key, value = f
        idx.append(j)
        label = body.split(":", 1)[0].strip(" *_").lower()
        url = _BARE_URL.search(value)
        if "](" in value:
            out.append(value)
        elif url is not None:
            out.append(
                f"[{label if key != 'links' or label != 'link' else 'link'}]({url.group(0)})"
            )
        j += 1
    if not any("](" in t for t in out):
        return [], []
    return idx, out


def _looks_like_header(cells: list[str]) -> bool:
    """A first ``<td>`` row of short labels without links (``Model | Paper | Code``)."""
    return (
        len(cells) >= 2
        and all("](" not in c and len(c) <= 40 for c in cells)
        and Columns.from_header(cells).is_paper_table
    )


def _announced_survey(source: str, lineno: int, line: str, root: str) -> Entry | None:
    """``Our survey [**"A Survey of Large Language Models"**](https://arxiv.org/abs/...)``
    in a list's introduction or news: the survey the list is built on is one of its
    papers. Only a link of four words or more to a paper host, in a line saying "survey"."""
    for f in find_links(line):
        label = strip_markdown(f.label).strip(" \"“”'")
        if f.badge or not is_paper_url(f.url) or len(label.split()) < 4:
            continue
        if not (_SURVEY.search(label) or _SURVEY.search(line[: f.start])):
            continue
        entry, _ = parse_bullet(
            source,
            lineno,
            f"[{label}]({f.url})",
            Candidate(tagged=False, title_link=True),
            (root,),
            line,
        )
        return entry
    return None
