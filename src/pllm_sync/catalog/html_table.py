"""HTML tables in a README (``<table><tr><td>...``) as rows of markdown-like cells.

Some lists write their papers as raw HTML: one ``<tr>`` per line or spread over many lines,
``rowspan`` for a venue or year shared by several rows, ``<a href>`` around titles and
``<img>`` badges. The stdlib ``html.parser`` tokenises the block (linear, never raises on bad
markup); each cell becomes the inline markdown the table reader already understands:
``<a href="u">t</a>`` -> ``[t](u)``, ``<img alt="a" src="s">`` -> ``![a](s)``, ``<br>`` kept,
``<b>``/``<strong>`` -> ``**``. Nested tables (a table of contents inside a cell) are
flattened into their cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

MAX_HTML_TABLE = 64 * 1024 * 1024
"""Characters; a larger HTML block is not read as a table (with a warning)."""
MAX_ROWSPAN = 200


@dataclass
class HtmlRow:
    line: int  # 1-based line of the ``<tr>`` within the block
    cells: list[str]
    header: bool


@dataclass
class _Cell:
    parts: list[str] = field(default_factory=list)
    header: bool = False
    rowspan: int = 1
    colspan: int = 1


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[HtmlRow] = []
        self._depth = 0  # nested <table> depth; only the outermost one makes rows
        self._row: list[_Cell] | None = None
        self._row_line = 0
        self._cell: _Cell | None = None
        self._links: list[str | None] = []
        self._spans: dict[int, tuple[str, int]] = {}  # column -> (text, rows left)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._depth += 1
            if self._depth > 1 and self._cell is not None:
                self._cell.parts.append(" ")
            return
        if self._depth == 1 and tag == "tr":
            self._end_row()
            self._row = []
            self._row_line = self.getpos()[0]
            return
        if self._depth == 1 and tag in ("td", "th"):
            if self._row is None:
                self._row = []
                self._row_line = self.getpos()[0]
            self._end_cell()
            self._cell = _Cell(
                header=tag == "th",
                rowspan=_span(a.get("rowspan")),
                colspan=_span(a.get("colspan"), 20),
            )
            return
        if self._cell is None:
            return
        if tag == "a":
            href = (a.get("href") or "").strip()
            self._links.append(href or None)
            if href:
                self._cell.parts.append("[")
        elif tag == "img":
            alt = (a.get("alt") or "").replace("[", "").replace("]", "")
            src = (a.get("src") or "").strip().replace(" ", "%20")
            self._cell.parts.append(f"![{alt}]({src})")
        elif tag == "br":
            self._cell.parts.append(" <br> ")
        elif tag in ("b", "strong"):
            self._cell.parts.append("**")
        elif tag in ("p", "div", "li"):
            self._cell.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._depth == 1:
                self._end_row()
            self._depth = max(0, self._depth - 1)
            return
        if self._depth == 1 and tag == "tr":
            self._end_row()
            return
        if self._depth == 1 and tag in ("td", "th"):
            self._end_cell()
            return
        if self._cell is None:
            return
        if tag == "a" and self._links:
            href = self._links.pop()
            if href:
                self._cell.parts.append(f"]({href.replace(' ', '%20').replace(')', '%29')})")
        elif tag in ("b", "strong"):
            self._cell.parts.append("**")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            # Brackets in text would read as link syntax once the cell is markdown.
            self._cell.parts.append(data.replace("[", "\\[").replace("]", "\\]"))

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            while self._links:  # an <a> never closed
                if self._links.pop():
                    self._cell.parts.append("]()")
            self._row.append(self._cell)
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is None:
            return
        cells: list[str] = []
        header = bool(self._row) and all(c.header for c in self._row)
        queue = list(self._row)
        col = 0
        while queue or col in self._spans:
            if col in self._spans:
                text, left = self._spans.pop(col)
                cells.append(text)
                if left > 1:
                    self._spans[col] = (text, left - 1)
            else:
                c = queue.pop(0)
                text = " ".join("".join(c.parts).split())
                cells.append(text)
                if c.rowspan > 1:
                    self._spans[col] = (text, c.rowspan - 1)
                for _ in range(c.colspan - 1):  # the spanned columns exist, empty
                    col += 1
                    cells.append("")
            col += 1
        if any(cells):
            self.rows.append(HtmlRow(self._row_line, cells, header))
        self._row = None


def _span(raw: str | None, limit: int = MAX_ROWSPAN) -> int:
    try:
        return max(1, min(int((raw or "1").strip() or 1), limit))
    except ValueError:
        return 1


def html_table_rows(block: str) -> list[HtmlRow]:
    """Rows of the first-level table(s) in ``block``; line numbers relative to the block."""
    p = _TableParser()
    p.feed(block)
    # No ``close()``: it would hand an unfinished tag at the end (``<a href=<<<...``) back
    # as text; an unfinished tag is dropped instead.
    p._end_row()
    return p.rows
