"""``parse_document``: one walk over a catalog README's blocks, from markdown-it's tokens.

The block structure comes from markdown-it's token stream (``blocks.read_blocks``); the
reader visits the blocks in document order and dispatches on their kind: fenced and
indented code and blockquotes are skipped (BibTeX citations, contribution templates), ATX
headings open sections (or are one paper each), pipe tables give their rows and cells,
raw ``<table>`` HTML goes to the ``html.parser`` reader, and paragraphs (a list item's
text, or a paragraph of its own) give entries. Every entry goes through one of two
builders of the same ``Entry``: ``table.parse_cells`` (pipe and HTML table rows) and
``bullets.parse_bullet`` (list items, paragraphs, headings). HTML comments are removed
before markdown-it sees the text.

Inside a paragraph the reader still decides per line whether a line starts an entry (a
paragraph of several ``**[2024 EMNLP]** ...`` lines is several entries, a pipe row without
a table header is a row); the lines that continue an entry never leave its paragraph, its
list item's next paragraph, or its nested field items.

Work is linear in the input: markdown-it's block phase is linear, each line is visited
once, lines longer than ``MAX_LINE`` are reported and not parsed, and the link scanner
matches brackets with a stack.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from ..model import CatalogWarning
from .blocks import (
    MAX_LINE,
    Block,
    html_table_regions,
    read_blocks,
    split_cells,
    unclosed_fence,
)
from .bullets import (
    Candidate,
    classify,
    parse_bullet,
)
from .entry import Entry, ParsedDocument
from .fields import strip_field_prefix
from .html_table import MAX_HTML_TABLE, html_table_rows
from .items import ItemText, field_list, item_lines, sub_bullet_fields
from .links import find_links, is_paper_url
from .markdown_text import clean_heading, strip_comments, strip_heading_number, strip_markdown
from .table import Columns, is_separator, parse_cells
from .taxonomy import HeadingStack, build_taxonomy

log = logging.getLogger(__name__)


_BOLD_PARAGRAPH = re.compile(r"^(?:\*\*|__)(?=\S)[^*_]{8,}(?:\*\*|__)")
"""A paragraph that opens with a bold run (``**Title** <br />`` / ``**Title** \\``)."""
_SURVEY = re.compile(r"\b(?:survey|paper)\b", re.IGNORECASE)


def _split_lines(text: str) -> list[str]:
    # Not str.splitlines(): it also splits on \x0c, \x1c, \u2028..., which would shift
    # every line number after such a character away from what an editor shows.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_document(text: str, source: str) -> ParsedDocument:
    """Parse one catalog README. Pure: no IO, never raises on bad input (it warns)."""
    lines, in_comment = _without_comments(_split_lines(text))
    n = len(lines)
    blocks = read_blocks(lines)
    reader = _Reader(source, lines, blocks)
    reader.read()
    warnings = reader.warnings
    if unclosed_fence(lines, blocks):
        reader.warn(n, "code block is never closed; the rest of the file was not read")
    if in_comment:
        reader.warn(n, "HTML comment '<!--' is never closed; the rest of the file was not read")
    if not reader.entries and text.replace("\ufeff", "").strip():
        reader.warn(
            1,
            "no paper entries found in this list; it may not be a paper list, or its entries "
            "use a layout the reader "
            "does not know (see docs/catalog.md, 'Shapes the reader knows')",
        )
    root = reader.headings.root_name
    fixed: list[Entry] = []
    for e in reader.entries:
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


class _Reader:
    """One walk over the blocks of the token stream, in document order; each kind of block
    has its reader, and every entry goes through ``parse_cells`` (table and HTML rows) or
    ``parse_bullet`` (list items, paragraphs, headings)."""

    def __init__(self, source: str, lines: list[str], blocks: list[Block]) -> None:
        self.source = source
        self.lines = lines
        self.blocks = blocks
        self.entries: list[Entry] = []
        self.warnings: list[CatalogWarning] = []
        self.headings = HeadingStack(source)
        self.html_tables = html_table_regions(lines, blocks)
        self.items = {b.start: b for b in blocks if b.head is not None}
        self.paras = ItemText.of(blocks, len(lines))
        self.last_paper_cols: Columns | None = None
        self.done = 0  # lines before this one are read (entries may take following blocks)

    def warn(self, lineno: int, msg: str, snippet: str = "") -> None:
        self.warnings.append(CatalogWarning(self.source, lineno, msg, snippet.strip()))

    def read(self) -> None:
        for b in self.blocks:
            self._gap(b.start)
            if b.end <= self.done:
                continue
            if b.kind in ("fence", "code_block"):
                pass
            elif b.kind == "html_block" and not b.quoted:
                self._html(b)
            elif b.quoted or b.kind in ("html_block", "hr"):
                for k in range(max(b.start, self.done), b.end):
                    if not self._too_long(k):
                        self._survey(k)
            elif b.kind == "heading":
                self._heading(b)
            elif b.kind == "table":
                self._table(b)
            else:  # paragraph, setext heading text
                self._paragraph(b)
            self.done = max(self.done, b.end)
        self._gap(len(self.lines))

    def _gap(self, until: int) -> None:
        """Lines outside every block up to ``until``: blank, or too long to be read (the
        block pass is fed a blank line for them)."""
        for k in range(self.done, until):
            self._too_long(k)
        self.done = max(self.done, until)

    def _too_long(self, k: int) -> bool:
        """Lines longer than ``MAX_LINE`` are not read (warned when they could be rows)."""
        line = self.lines[k]
        if len(line) <= MAX_LINE:
            return False
        if "|" in line or "[" in line:
            self.warn(
                k + 1, f"line is {len(line)} characters long; not read as an entry", line[:120]
            )
        return True

    def _survey(self, k: int) -> bool:
        """``Our survey [**"Title"**](arxiv)`` in the introduction: an entry at the root."""
        stripped = self.lines[k].strip()
        if "](" in stripped and self.headings.announces() and _SURVEY.search(stripped):
            survey = _announced_survey(self.source, k + 1, stripped, self.headings.root_name)
            if survey is not None:
                self.entries.append(survey)
                return True
        return False

    def _html(self, b: Block) -> None:
        """A raw HTML block: ``<table>`` regions go to the HTML table reader (a region may
        run on through the blocks that follow it); the rest is layout."""
        k = max(b.start, self.done)
        while k < b.end:
            end = self.html_tables.get(k)
            if end is not None:
                # Before the length check: a whole HTML table on one line is normal, and
                # the HTML tokenizer is linear.
                _read_html_table(
                    self.source,
                    k + 1,
                    self.lines[k:end],
                    self.headings,
                    self.entries,
                    self.warnings,
                )
                k = end
                self.done = max(self.done, end)
                continue
            if not self._too_long(k):
                self._survey(k)
            k += 1

    def _heading(self, b: Block) -> None:
        """A section, or one heading per paper (``### 12. [Title](https://arxiv...)``)."""
        lines, lineno = self.lines, b.start + 1
        body = strip_heading_number(b.text)
        cand = classify(body, False) if "](" in body else None
        if cand is None or self.headings.excluded():
            self.headings.push(b.level, clean_heading(b.text))
            return
        # The badge/link lines that open the paragraph right under it belong to it, the
        # summary not.
        parts, raw_parts = [body], [lines[b.start]]
        i = b.end
        end = self.paras.para_end[i] if i < len(lines) else i
        while i < end and _only_links(lines[i]):
            parts.append(lines[i].strip())
            raw_parts.append(lines[i])
            i += 1
        self.done = max(self.done, i)
        entry, ws = parse_bullet(
            self.source, lineno, " ".join(parts), cand, self.headings.path(), " ".join(raw_parts)
        )
        self.warnings.extend(ws)
        if entry is not None:
            self.entries.append(replace(entry, style="heading"))

    def _table(self, b: Block) -> None:
        """A pipe table as markdown-it reads it: the header names the columns, every body
        row is an entry or a warning."""
        table: Columns | None = None
        for row in b.rows:
            if row.line < self.done:
                continue
            if self._too_long(row.line) or self._survey(row.line):
                table = None
                continue
            cells = list(row.cells)
            if row.header:
                table = Columns.from_header(cells)
                if table.is_paper_table:
                    self.last_paper_cols = table
                continue
            if table is None or is_separator(cells):
                continue
            if table.is_paper_table and not self.headings.excluded():
                self._row(row.line, cells, table)

    def _row(self, k: int, cells: list[str], table: Columns) -> None:
        entry, ws = parse_cells(
            self.source, k + 1, cells, self.lines[k], table, self.headings.path()
        )
        self.warnings.extend(ws)
        if entry is not None:
            self.entries.append(entry)

    def _paragraph(self, b: Block) -> None:
        """The lines of a paragraph (a list item's text, or a paragraph of its own): pipe
        rows that are no table to markdown-it, and entries, each with its continuation."""
        lines = self.lines
        table: Columns | None = None
        i = max(b.start, self.done)
        while i < b.end:
            k = i
            line = lines[k]
            stripped = line.strip()
            i += 1
            if not stripped or self._too_long(k) or self._survey(k):
                table = None
                continue
            if stripped.startswith("|") or (table is not None and "|" in stripped):
                # Pipe rows that are no table to markdown-it: a header whose separator row
                # has another cell count, rows without a header.
                cells = split_cells(line)
                if is_separator(cells):
                    continue
                if table is None:
                    table, header = self._loose_header(k, cells)
                    if header:
                        i += 1  # the separator row
                        continue
                if table.is_paper_table and not self.headings.excluded():
                    self._row(k, cells, table)
                continue
            table = None
            i = self._text_entry(k)
        self.done = max(self.done, i)

    def _loose_header(self, k: int, cells: list[str]) -> tuple[Columns, bool]:
        """Columns for pipe rows outside a markdown-it table, and whether line ``k`` is
        their header (its separator row has another cell count: no table to CommonMark nor
        on GitHub, but its rows are still read, with a warning)."""
        lines, lineno = self.lines, k + 1
        if k + 1 < len(lines) and is_separator(split_cells(lines[k + 1])):
            table = Columns.from_header(cells)
            if table.is_paper_table:
                self.last_paper_cols = table
                if not self.headings.excluded():
                    self.warn(
                        lineno,
                        f"table header has {len(cells)} cells but its separator row "
                        f"has {len(split_cells(lines[k + 1]))}; GitHub does not show it as "
                        "a table",
                        lines[k][:120],
                    )
            return table, True
        last = self.last_paper_cols
        if last is not None and len(last.roles) == len(cells):
            table, how = last, "taken from the previous table"
        else:
            table, how = Columns.guess(cells), "guessed from the cells"
        if table.is_paper_table and not self.headings.excluded():
            self.warn(lineno, f"table has no header row; columns {how}", lines[k][:120])
        return table, False

    def _text_entry(self, k: int) -> int:
        """Line ``k`` of a paragraph as the start of an entry; returns the next line to read.

        A list item's first line (``+ + x``, ``1. x``, ``1) x``: markers as markdown-it
        reads them) is a bullet; any other line of a paragraph is read as it stands."""
        lines, lineno, i = self.lines, k + 1, k + 1
        line = lines[k]
        item = self.items.get(k)
        body, bulleted = (item.head or "", True) if item is not None else (line.strip(), False)
        if not body.strip():
            return i
        body = strip_field_prefix(body)
        cand = classify(body, bulleted)
        bold_para = not bulleted and _BOLD_PARAGRAPH.match(body) is not None
        if cand is None and (bulleted or bold_para):
            # ``1. **Title**`` with its authors and links on the following lines (or in an
            # indented paragraph of the same list item), and paragraphs that open with a
            # bold title; a bounded look, so linear.
            ahead = item_lines(lines, i, self.paras, bulleted, limit=8)
            if ahead:
                cand = classify(" ".join([body, *(lines[j].strip() for j in ahead)]), bulleted)
        fields: list[str] = []
        field_lines: list[int] = []
        if cand is None and bold_para:
            # ``**Title**`` then a list of ``- Paper: https://...`` / ``- Code: ...`` fields
            field_lines, fields = field_list(lines, i, self.items)
            if fields:
                cand = classify(" ".join([body, *fields]), False)
        if cand is None:
            return i
        more = item_lines(lines, i, self.paras, bulleted)
        if self.headings.excluded():
            log.debug(
                "%s:%d: entry-like line in a non-catalog section ignored", self.source, lineno
            )
            return i
        if fields:
            more, extra_text = field_lines, fields
        else:
            extra_text = []
        parts = [body.strip(), *(extra_text or (lines[j].strip() for j in more))]
        raw_parts = [line, *(lines[j] for j in more)]
        if more:
            i = more[-1] + 1
        entry, ws = parse_bullet(
            self.source, lineno, " ".join(parts), cand, self.headings.path(), " ".join(raw_parts)
        )
        self.warnings.extend(ws)
        if entry is not None and item is not None:
            i, entry = sub_bullet_fields(i, item, self.items, entry)
        if entry is not None:
            self.entries.append(entry)
        self.done = max(self.done, i)
        return i


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
