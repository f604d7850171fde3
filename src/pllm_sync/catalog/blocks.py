"""The block structure of a catalog README, from markdown-it's token stream.

markdown-it-py (CommonMark plus GFM tables) already knows where every block starts and ends
(``token.map`` gives its line range): fenced code, raw HTML blocks, blockquotes, headings,
tables, list items and paragraphs. ``read_blocks`` walks that stream once and returns the
leaf blocks as plain ``Block`` records (kind, 0-based line range, list depth, whether inside
a blockquote) with what the reader needs of their tokens: a heading's level and inline
text, a table's rows and cells, and for a paragraph that opens a list item the text after
the item's markers and where the item ends. The reader (``parser``) walks these blocks.

Only the block phase runs: the core ``inline`` rule is disabled, because the entry readers
(``fields``, ``links``, ``titles``, ``venues``) work on the inline source text of a block
(the ``inline`` tokens' ``content``, which the block phase fills), and inline parsing would
cost more than the whole block pass. markdown-it is linear in its input, so hostile text
stays cheap.

``html_table_regions`` gives the lines of each raw ``<table>`` (one HTML block, or several
HTML blocks separated by a few blank lines, as a table with blank lines inside is
written), handed to the ``html.parser``-based reader in ``html_table``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from markdown_it import MarkdownIt

_TABLE_OPEN = re.compile(r"<table\b", re.IGNORECASE)
_TABLE_CLOSE = re.compile(r"</table\s*>", re.IGNORECASE)
MAX_LINE = 20_000
"""Longer lines are not catalog entries (real rows are < 2,000 characters); skipping them
keeps a hostile or corrupted file from costing more than a linear scan."""
_MAX_GAP = 3
"""Blank lines that may separate two HTML blocks of one ``<table>``."""


@dataclass(frozen=True)
class TableRow:
    """One row of a pipe table as the token stream gives it: its line (0-based) and cells."""

    line: int
    cells: tuple[str, ...]
    header: bool


@dataclass(frozen=True)
class Block:
    """One leaf block of the document (``start`` inclusive, ``end`` exclusive, 0-based)."""

    kind: str  # "heading", "table", "paragraph", "html_block", "fence", "code_block", "hr"
    start: int
    end: int
    depth: int  # open list items around it (0 = top level)
    quoted: bool  # inside a blockquote
    rows: tuple[TableRow, ...] = ()  # a table's rows, header first
    level: int = 0  # a heading's level (``###`` -> 3)
    text: str = ""  # a heading's inline text (closing ``#`` sequence removed)
    head: str | None = None  # a paragraph that opens a list item: its first line's text
    item_end: int = 0  # ... and the end of that list item (exclusive, 0-based)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table")
    md.core.ruler.disable(["inline", "text_join"])
    return md


def _separate_html(lines: list[str]) -> tuple[list[str], list[int]]:
    """``lines`` with a blank line after each HTML line that markdown follows directly, and
    the original index of every line.

    CommonMark runs an HTML block on to the next blank line, so ``</table>`` or
    ``<p align="center">`` followed at once by ``## Section`` or a fence would swallow the
    heading or the code. README authors mean markdown there, and the reader has always read
    it so (section paths are identities). Inside a ``<table>`` nothing is inserted: text
    lines of a cell spread over many lines belong to the table.

    A line longer than ``MAX_LINE`` that is not HTML (a whole HTML table on one line is
    normal) is fed as a blank line: the reader never reads it, and markdown-it would spend
    tokens on every cell of a hostile 20,000-column table row.
    """
    fed: list[str] = []
    orig: list[int] = []
    in_table = False
    last = len(lines) - 1
    for k, line in enumerate(lines):
        s = line.lstrip()
        fed.append("" if len(line) > MAX_LINE and not s.startswith("<") else line)
        orig.append(k)
        if not s.startswith("<"):
            continue
        if _TABLE_OPEN.search(line):
            in_table = True
        if _TABLE_CLOSE.search(line):
            in_table = False
        if in_table or k == last:
            continue
        nxt = lines[k + 1].lstrip()
        if nxt and not nxt.startswith("<"):
            fed.append("")
            orig.append(k)
    return fed, orig


def read_blocks(lines: list[str]) -> list[Block]:
    """The leaf blocks of ``lines`` in document order (containers are flattened away)."""
    fed, orig = _separate_html(lines)
    tokens = _parser().parse("\n".join(fed))
    out: list[Block] = []
    depth = quotes = 0
    in_table = False
    table: Block | None = None
    rows: list[TableRow] = []
    row: list[str] = []
    row_line = 0
    item: list[int] | None = None  # the map of a list item whose first block is not yet seen
    for k, tok in enumerate(tokens):
        t = tok.type
        opens, item = item, item if t in ("bullet_list_open", "ordered_list_open") else None
        if t == "list_item_open":
            depth += 1
            item = tok.map
        elif t == "list_item_close":
            depth -= 1
        elif t == "blockquote_open":
            quotes += 1
        elif t == "blockquote_close":
            quotes -= 1
        elif t == "table_open":
            in_table = True
            rows = []
            table = Block("table", *_span(orig, tok.map), depth, quotes > 0) if tok.map else None
        elif t == "table_close":
            in_table = False
            if table is not None:
                out.append(replace(table, rows=tuple(rows)))
        elif in_table:
            if t == "tr_open" and tok.map:
                row, row_line = [], orig[min(tok.map[0], len(orig) - 1)]
            elif t == "inline":
                row.append(tok.content)
            elif t == "tr_close":
                rows.append(_row(lines[row_line], row_line, row, header=not rows))
            continue
        elif tok.map and t == "heading_open":
            # A setext heading (``Title`` over ``---``) is read as the text it is.
            kind = "heading" if tok.markup.startswith("#") else "setext"
            text = tokens[k + 1].content if k + 1 < len(tokens) else ""
            out.append(
                Block(
                    kind, *_span(orig, tok.map), depth, quotes > 0, level=len(tok.markup), text=text
                )
            )
        elif tok.map and t == "paragraph_open":
            start, end = _span(orig, tok.map)
            if opens is not None and k + 1 < len(tokens):
                first = tokens[k + 1].content.split("\n", 1)[0].rstrip()
                line = lines[start].rstrip()
                head, item_end = line[len(line) - len(first) :], _span(orig, opens)[1]
                block = Block(
                    "paragraph", start, end, depth, quotes > 0, head=head, item_end=item_end
                )
            else:
                block = Block("paragraph", start, end, depth, quotes > 0)
            out.append(block)
        elif tok.map and t in ("html_block", "fence", "code_block", "hr"):
            out.append(Block(t, *_span(orig, tok.map), depth, quotes > 0))
    return out


_CELL_PIPE = re.compile(r"(?<!\\)\|")
"""A pipe that separates cells: one not right after a backslash."""


def escaped_split(row: str) -> list[str]:
    """markdown-it's ``escapedSplit`` at C speed (it walks the row a character at a time
    in Python): split at every pipe not right after a backslash; in each cell a
    backslash before a pipe is dropped (``\\|`` is a pipe inside a cell)."""
    return [cell.replace("\\|", "|") for cell in _CELL_PIPE.split(row)]


def split_cells(line: str) -> list[str]:
    """The cells of a pipe-table row, split as markdown-it's own splitter splits them
    (``\\|`` is a pipe inside a cell; the outer pipes are optional)."""
    cells = escaped_split(line.strip())
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return [c.strip() for c in cells]


def _row(source: str, line: int, cells: list[str], *, header: bool) -> TableRow:
    """A row with as many cells as its source line has: markdown-it pads a short row with
    empty cells and drops the cells beyond the header's width, and the reader warns about
    both (and reads surplus cells as links)."""
    written = split_cells(source)
    if len(written) > len(cells):
        cells = cells + written[len(cells) :]
    elif len(written) < len(cells):
        cells = cells[: len(written)]
    return TableRow(line, tuple(cells), header)


def _span(orig: list[int], m: list[int]) -> tuple[int, int]:
    """A token's fed line range as a range of original lines."""
    if not orig:
        return 0, 0
    a = min(m[0], len(orig) - 1)
    b = min(max(m[1] - 1, m[0]), len(orig) - 1)
    return orig[a], orig[b] + 1


def html_table_regions(lines: list[str], blocks: list[Block]) -> dict[int, int]:
    """``{first line: end line}`` (0-based, end exclusive) of every raw HTML ``<table>``.

    A region starts at the first line of an HTML block that opens a ``<table`` and ends at
    the line that closes it. CommonMark ends an HTML block at a blank line, so a table with
    blank lines inside arrives as several blocks: the region runs on through the next block
    when it follows within a few blank lines and starts with markup (``<tr>``, or a
    ``<a href>`` line that CommonMark reads as a paragraph). A table never closed ends with
    its last block, so it cannot hide the rest of the file.
    """
    regions: dict[int, int] = {}
    i = 0
    n = len(blocks)
    pending: Block | None = None  # the rest of a block after a table closed inside it
    while pending is not None or i < n:
        if pending is not None:
            b, pending = pending, None
        else:
            b = blocks[i]
            i += 1
        if b.kind != "html_block" or b.quoted:
            continue
        start = next(
            (
                k
                for k in range(b.start, b.end)
                if lines[k].lstrip().startswith("<") and _TABLE_OPEN.search(lines[k])
            ),
            None,
        )
        if start is None:
            continue
        end = _close_in(lines, start, b.end)
        last = b
        while end is None and i < n:
            nxt = blocks[i]
            if (
                nxt.quoted
                or nxt.kind not in ("html_block", "paragraph")
                or nxt.start - last.end > _MAX_GAP
                or not lines[nxt.start].lstrip().startswith("<")
            ):
                break
            i += 1
            end = _close_in(lines, nxt.start, nxt.end)
            last = nxt
        if end is None:
            end = last.end
        elif end < last.end:
            pending = Block(last.kind, end, last.end, last.depth, last.quoted)
        regions[start] = end
    return regions


def unclosed_fence(lines: list[str], blocks: list[Block]) -> bool:
    """True when the last fenced block runs to the end of the file without a closing fence."""
    last = next((b for b in reversed(blocks) if b.kind == "fence"), None)
    if last is None or last.end < len(lines) - 1:
        return False  # no fence, or text follows the last one (so it was closed)
    if last.end - last.start < 2:
        return True  # only the opening line
    opener = lines[last.start].strip()
    closer = lines[last.end - 1].strip()
    ch = opener[0]
    width = len(opener) - len(opener.lstrip(ch))
    return not (closer.startswith(ch * width) and not closer.strip(ch))


def _close_in(lines: list[str], start: int, end: int) -> int | None:
    """The end (exclusive) of the region when a line in ``start..end`` closes the table."""
    for k in range(start, end):
        if _TABLE_CLOSE.search(lines[k]):
            return k + 1
    return None
