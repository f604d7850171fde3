"""Catalog titles as display text: markup removed, retitles split off, odd input reported.

Rules (docs/catalog.md): markdown and HTML removed, whitespace and NBSP collapsed, one
trailing period dropped (``?`` kept, so ``STALE: ...?.`` becomes ``STALE: ...?``), and a cell
written as ``(old title) <br> new title`` yields the new title with the old one as an alias
for matching. Everything else (``:``, quotes, ``../``, YAML-looking text) is kept verbatim:
the vault and Zotero writers sanitise and serialise, the parser must not lose characters.
"""

from __future__ import annotations

import re

from ..model import neutralise_template_code
from .markdown_text import has_br, remove_control_chars, split_br, strip_html, strip_markdown

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
"""Zero-width and bidirectional-override characters: they can make a title read as
something else (or as nothing) and have no place in a paper title."""
_PAREN_ALIAS = re.compile(r"^\((?P<old>.+)\)$", re.DOTALL)
_TRAILING_DOT = re.compile(r"(?<!\.)\.\s*$")


def _finish(text: str) -> str:
    return _TRAILING_DOT.sub("", text).strip()


def clean_title(raw: str) -> tuple[str, tuple[str, ...], list[str]]:
    """Return (title, aliases, problems) for a title cell or bullet title fragment."""
    problems: list[str] = []
    aliases: list[str] = []
    text = raw
    if has_br(text):
        parts = split_br(text)
        if len(parts) >= 2:
            m = _PAREN_ALIAS.match(parts[0])
            if m:
                aliases.append(m.group("old"))
                parts = parts[1:]
        text = " ".join(parts)
    text, dropped = strip_html(text)
    if dropped:
        problems.append(
            "removed HTML markup from the title: " + ", ".join(f"<{t}>" for t in dropped)
        )
    text, had_control = remove_control_chars(strip_markdown(text))
    if had_control:
        problems.append("removed control characters from the title")
    text, invisible = _INVISIBLE.subn("", text)
    if invisible:
        problems.append("removed invisible or text-direction characters from the title")
    inert = neutralise_template_code(text)
    if inert != text:
        text = inert
        problems.append(
            "neutralised template code (<% %>) in the title, which Obsidian's "
            "Templater plugin would run"
        )
    title = _finish(text)
    cleaned_aliases = tuple(a for a in (_finish(strip_markdown(x)) for x in aliases) if a)
    return title, cleaned_aliases, problems
