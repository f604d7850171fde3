"""An independent, deliberately simple finder of entry-looking lines, used as the yardstick in
the history replay: it shares no code with the parser, so a line the parser drops without a
warning shows up as a difference."""

from __future__ import annotations

import re

_TAG = re.compile(r"^(?:\*\*)?\\?\[(?:\*\*)?\s*(?:19|20)\d\d")
_ROLE_LINK = re.compile(
    r"\[(?:paper|code|website|link|data|dataset|pdf|github|project|home|demo)\]\(\s*https?://",
    re.IGNORECASE,
)
_BOLD_WITH_URL = re.compile(r"^\*\*[^*]{10,}\*\*\s*\[?https?://(?:www\.)?arxiv\.org/")
"""``* **Survey title** [https://arxiv.org/abs/...]``: the survey a list announces."""
_BULLET = re.compile(r"^\s*(?:[-+*]\s+)+")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def entry_lines(text: str) -> set[int]:
    """1-based numbers of lines that look like catalog entries.

    Table rows: lines starting with ``|`` that are not a separator, not the header row just
    above a separator, and not in a table whose header lacks a ``title`` column (Related
    Workshops). Other lines: after any bullet markers, a ``[year ...]`` tag at the start or a
    ``[Paper](http...)``-style link anywhere, or a bullet of a bold title and a bare arXiv URL. Skipped: code fences, blockquotes, HTML comments.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out: set[int] = set()
    in_fence = False
    in_comment = False
    paper_table = False
    prev_table_row = False
    for i, line in enumerate(lines):
        s = line.strip()
        if in_comment:
            if "-->" in s:
                in_comment = False
            continue
        if s.startswith("<!--") and "-->" not in s:
            in_comment = True
            continue
        if s.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or s.startswith(">"):
            continue
        if s.startswith("|"):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if _SEPARATOR.match(s):
                prev_table_row = True
                continue
            if not prev_table_row and _SEPARATOR.match(nxt.strip()):
                paper_table = "title" in s.lower()
                prev_table_row = True
                continue
            if not prev_table_row:
                paper_table = True  # headerless table
            prev_table_row = True
            if paper_table:
                out.add(i + 1)
            continue
        prev_table_row = False
        body = _BULLET.sub("", s)
        bulleted = body != s
        if _TAG.match(body) or _ROLE_LINK.search(body) or (bulleted and _BOLD_WITH_URL.match(body)):
            out.add(i + 1)
    return out
