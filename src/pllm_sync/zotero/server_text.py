"""Text as api.zotero.org will store it, so what we send compares equal to what we read back.

The server strips control characters from every string it decodes (``cleanString``: U+0000 to
U+001F except tab and line feed, and U+007F), trims creator names of Unicode separators and
controls (``unicodeTrim``; a name left empty drops that creator *and every creator after
it*), and trims tags with PHP's ``trim`` (an empty tag is dropped). A client that sends the
raw value sees a difference on every run and writes forever, or loses the creators after a
blank one; sending the stored form makes one write converge."""

from __future__ import annotations

import unicodedata

_CONTROL = {c: None for c in [*range(0, 9), *range(11, 32), 127]}
PHP_TRIM = " \t\n\r\0\x0b"


def clean_text(text: str) -> str:
    """The server's ``cleanString``: control characters removed, tab and line feed kept.
    A printable string has none of them (they are all category Cc) and is returned as it
    is: every string field of every item a pull builds comes through here, and
    ``isprintable`` is one C scan where ``translate`` with a dict builds a new string."""
    return text if text.isprintable() else text.translate(_CONTROL)


def unicode_trim(text: str) -> str:
    """The server's ``unicodeTrim``: separators and other (``\\pZ``, ``\\pC``: controls,
    format characters such as the BOM) stripped from both ends."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in "ZC":
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in "ZC":
        end -= 1
    return text[start:end]


def creator_text(name: str) -> str:
    """A creator name as the server stores it (``""``: the server would drop the creator)."""
    return unicode_trim(clean_text(name))


def tag_text(tag: str) -> str:
    """A tag name as the server stores it (``""``: the server drops the tag)."""
    return clean_text(tag).strip(PHP_TRIM)
