"""The text of list items and paragraphs: which lines continue an entry, which nested
items describe it, which field items follow a bold title.

All of it follows markdown-it's blocks (``blocks.Block``): an entry's text never leaves
its paragraph, its list item's next paragraph (a loose item), or the items nested in its
item. Inside a paragraph, a line that starts another entry, a marker-only ``+`` line or a
line of markup still ends the entry (``ends_entry``): a paragraph of several
``**[2024 EMNLP]** ...`` lines is several entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .blocks import Block
from .bullets import BARE_URL, LONE_BULLET, match_tag
from .entry import Entry
from .fields import parse_authors, sub_field
from .links import find_links, to_links
from .markdown_text import strip_markdown
from .venues import date_tag_year, parse_venue

_LOOSE_FIELD = re.compile(r"^(?P<key>[A-Za-z][\w \-]{0,24}?)\s*[:：]?\s+(?P<url>https?://\S+)\s*$")


@dataclass(frozen=True)
class ItemText:
    """Where the text of a paragraph or list item ends, from the token stream."""

    para_end: list[int]
    """Per line: the end (exclusive) of the paragraph holding it (the line itself, so an
    empty range, when it is in no paragraph)."""
    loose: dict[int, Block]
    """First line of a list item -> the item's second paragraph (a loose item)."""

    @classmethod
    def of(cls, blocks: list[Block], n: int) -> ItemText:
        para_end = list(range(n))
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


def ends_entry(line: str) -> bool:
    """True when ``line``, a line of a paragraph (markdown-it has ended the paragraph at
    blank lines, list items, headings and fences), still does not continue the entry
    above it: it starts an entry of its own (a paragraph of ``**[2024 EMNLP]** ...``
    lines is several entries), is a marker-only ``+`` line, or is a line of markup."""
    s = line.strip()
    if not s or s[0] in "#|><" or LONE_BULLET.match(line):
        return True
    return match_tag(s) is not None


def sub_bullet_fields(
    i: int, head: Block, items: dict[int, Block], entry: Entry
) -> tuple[int, Entry]:
    """Nested ``- Authors: ...`` / ``- Venue: ...`` / ``- TL;DR: ...`` bullets under an entry
    describe it; read them into the entry (and not as entries of their own). They are the
    list items nested in the entry's item (markdown-it's nesting), right below it."""
    authors, venue, tag_year, links = entry.authors, entry.venue, entry.tag_year, list(entry.links)
    start = i
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
    if i == start:  # no field items: the entry as it is (most entries)
        return i, entry
    return i, replace(
        entry, authors=authors, venue=venue, tag_year=tag_year, links=tuple(dict.fromkeys(links))
    )


def item_lines(
    lines: list[str], i: int, text: ItemText, bulleted: bool, limit: int | None = None
) -> list[int]:
    """Indices of the lines that continue the entry started at ``i - 1``: the rest of its
    paragraph up to a line that starts another entry, and, for a list item, the item's next
    paragraph after one blank line (``* **Title** Venue`` / blank / ``  *Authors* [..]``)."""
    end = text.para_end[i - 1]
    stop = end if limit is None else min(end, i + limit)
    out: list[int] = []
    j = i
    while j < stop and not ends_entry(lines[j]):
        out.append(j)
        j += 1
    nxt = text.loose.get(i - 1) if bulleted and j == end else None
    if nxt is not None and nxt.start == end + 1 and not lines[end].strip():
        stop = nxt.end if limit is None else min(nxt.end, i + limit)
        j = nxt.start
        while j < stop and not ends_entry(lines[j]):
            out.append(j)
            j += 1
    return out


def field_list(lines: list[str], i: int, items: dict[int, Block]) -> tuple[list[int], list[str]]:
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
        url = BARE_URL.search(value)
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
