"""Small, linear-time helpers that turn catalog markdown fragments into plain text.

Catalog READMEs are hand-edited and bot-edited markdown with every kind of slip (escaped
brackets, stray emphasis, HTML, NBSP, mojibake). The parsers only need plain text for titles,
method names, venues and headings, so these helpers strip markup instead of rendering it; each
is a single regex pass or a linear scan, so a pathological line cannot make parsing slow.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..model import neutralise_template_code, normalize_whitespace

# Inline HTML that is pure layout; anything else we drop is reported by ``strip_html``.
_LAYOUT_TAGS = frozenset(
    {"br", "sup", "sub", "i", "b", "em", "strong", "u", "span", "font", "small", "code", "a"}
)
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]{0,500}>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\[\]]{0,300}\]\([^()\s]{0,2000}\)")
_LINK = re.compile(
    r"\[((?:[^\[\]\\]|\\.){0,1000})\]\((?:[^()]|\([^()]{0,200}\)){0,2000}\)", re.DOTALL
)
"""A link; its label may hold escaped brackets and its target one level of parentheses (``...ACL_%20(3).pdf``). The two
alternatives start with different characters, so matching stays linear."""
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$])")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])")
_CODE = re.compile(r"`+([^`]*)`+")
_MATH = re.compile(r"\$([^$\n]{1,200})\$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SLASH = re.compile(r"\s*/\s*")
_HEADING_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.?\s+(?=\S)")
_ENTITY = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&nbsp;": " "}
_ENTITY_RE = re.compile("|".join(re.escape(k) for k in _ENTITY))


def strip_comments(text: str) -> str:
    """Remove complete ``<!-- ... -->`` comments from one line of text."""
    return _COMMENT.sub("", text) if "<!--" in text else text


def strip_html(text: str) -> tuple[str, list[str]]:
    """Drop HTML tags, keeping their inner text; ``<br>`` becomes a space.

    Returns the text and the names of non-layout tags that were removed (``script``,
    ``iframe``...), so the caller can warn: such markup in a title is suspicious input.
    """
    if "<" not in text:
        return text, []
    dropped: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        if name not in _LAYOUT_TAGS and name not in dropped:
            dropped.append(name)
        return " " if name == "br" else ""

    return _TAG.sub(repl, text), dropped


@lru_cache(maxsize=8192)
def strip_markdown(text: str) -> str:
    """Plain text of an inline markdown fragment: links keep their label, images vanish,
    emphasis/code/math markers and backslash escapes are removed, whitespace is normalised.

    Underscores inside words (``LD_Agent``) are kept; only ``_x_`` at word edges is emphasis.
    """
    if not text:
        return ""
    t = text
    if "](" in t:
        t = _IMAGE.sub("", t)
        t = _LINK.sub(r"\1", t)
    if "`" in t:
        t = _CODE.sub(r"\1", t)
    if "$" in t:
        t = _MATH.sub(r"\1", t)
    if "*" in t or "_" in t:
        t = _BOLD.sub(r"\2", t)
        t = _ITALIC_STAR.sub(r"\1", t)
        t = _ITALIC_UNDER.sub(r"\1", t)
        t = t.replace("**", "")
    if "\\" in t:
        t = _ESCAPE.sub(r"\1", t)
    if "&" in t:
        t = _ENTITY_RE.sub(lambda m: _ENTITY[m.group(0)], t)
    return normalize_whitespace(t)


def remove_control_chars(text: str) -> tuple[str, bool]:
    """Drop control characters (NUL, escape...) that have no business in a title."""
    cleaned = _CONTROL.sub("", text)
    return cleaned, cleaned != text


def clean_heading(raw: str) -> str:
    """The display name of a heading: markup removed, leading numbering removed.

    Numbering (``1.``, ``2.4``, ``2``) is dropped so a section keeps its identity when the
    list renumbers it (``### 2.3 Memory ...`` became ``### 3. Memory ...`` upstream); order
    is kept by the taxonomy itself. Dates such as ``2026-04-02`` are not numbering.
    Spaces around ``/`` are removed: upstream wrote both ``Survey/Tutorial/Framework`` and
    ``Survey / Tutorial / Framework``, and `` / `` is the separator of joined section paths
    (``record.SECTION_SEP``), which a section name must not contain.
    """
    text, _ = strip_html(raw)
    text = strip_markdown(text.strip().rstrip("#"))
    text, _ = remove_control_chars(text)
    text = _SLASH.sub("/", neutralise_template_code(text))
    return _HEADING_NUMBER.sub("", text).strip()


def strip_heading_number(raw: str) -> str:
    """A heading's text without its leading numbering (``12. [Title](url)`` -> the link)."""
    return _HEADING_NUMBER.sub("", raw.strip().rstrip("#").strip())


def split_br(text: str) -> list[str]:
    """Split a cell at ``<br>`` line breaks."""
    return [p for p in (s.strip() for s in _BR.split(text)) if p]


def has_br(text: str) -> bool:
    return _BR.search(text) is not None
