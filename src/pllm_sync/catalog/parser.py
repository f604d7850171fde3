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
from .markdown_text import clean_heading, strip_comments
from .table import Columns, is_separator, parse_row, split_row
from .taxonomy import HeadingStack, build_taxonomy

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
            # As in CommonMark, an HTML block ends at its closing tag or at a blank line,
            # so a table that is never closed cannot hide the rest of the file.
            if _HTML_TABLE_CLOSE.search(line) or not stripped:
                in_html_table = False
            continue
        if not stripped:
            table = None
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
                headings.push(len(h.group(1)), clean_heading(h.group(2) or ""))
                table = None
                continue
        if stripped.startswith(">"):
            table = None
            continue
        if stripped.startswith("<"):
            if _HTML_TABLE_OPEN.search(line) and not _HTML_TABLE_CLOSE.search(line):
                in_html_table = True
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
        if entry is not None:
            entries.append(entry)
    if fence is not None:
        warn(n, "code block is never closed; the rest of the file was not read")
    if in_comment:
        warn(n, "HTML comment '<!--' is never closed; the rest of the file was not read")
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
