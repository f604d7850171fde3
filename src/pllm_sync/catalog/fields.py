"""The parts of one entry's text around its links: title, authors, method tag, organisation.

Every shape (table cell, bullet, paragraph, heading, HTML cell) ends up with a run of inline
markdown such as ``🔥[DeepSeek-V2] DeepSeek-V2: A Strong ... Model(@DeepSeek-AI)``,
``**Title.** *Jane Doe et al. arXiv.*``, ``Doe, Jane. "**Title**." Nature (2015)`` or
``Title. _Jane Doe et al._ ACL 2024.``; these helpers split it the same way for all of them.
Each is a handful of anchored regex matches on bounded text, so they stay linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .markdown_text import has_br, split_br, strip_markdown

_LEAD_SYMBOLS = re.compile(
    r"^(?:[\s\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u200d]|:[a-z0-9_+\-]{1,30}:)+"
)
"""Emoji (``🔥🔥``, ``⭐️``) and GitHub shortcodes (``:star:``) before a title."""
_TAG_PREFIX = re.compile(r"^\[(?P<tag>[^\[\]\n]{1,80})\](?!\()\s*")
_ORG_SUFFIX = re.compile(r"\(\s*@\s*(?P<org>[^()\n]{1,80})\)\s*$")
_BOLD_LEAD = re.compile(r"^(\*\*|__)(?P<title>(?:(?!\1).){3,600}?)\1")
_QUOTED = re.compile(r"[\"“”](?P<title>[^\"“”\n]{8,600}?)[\"“”]")
_WHOLE_QUOTED = re.compile(r"^\s*[\"“](?P<title>[^\"“”\n]{3,600}?)[,.;:]?\s*[\"”][\s,.;:]*$")
_ITALIC_RUN = re.compile(r"(?<![\w*_])(\*|_)(?=\S)(?P<body>[^*_\n]{2,600}?)(?<=\S)\1(?![\w*_])")
_NUMBER_MARK = re.compile(r"^(?:\*\*|__)?\\?\[\s*\d{1,4}\s*\\?\](?:\*\*|__)?\s*")
"""``**[5]**`` reference numbers in front of an entry (reading-roadmap style)."""
_NAME_SEP = re.compile(r"^\s*(?::|-|–|—)\s*")
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&)\s*")
_GIVEN = re.compile(r"^[A-Z][\w'\-]+(?:\s+[A-Z]\.?){0,2}$")
_ET_AL = re.compile(r"\bet\s*al\.?", re.IGNORECASE)
_NAME = re.compile(r"^[^\d@/:()\[\]{}<>|=]{2,60}$")


MAX_LEAD = 4000
"""Characters of an entry's leading text that are searched for a title and authors."""


@dataclass(frozen=True)
class TitleParts:
    """What one entry's leading text holds besides its title."""

    title: str
    method: str | None = None
    org: str | None = None
    authors: tuple[str, ...] = ()
    rest: str = ""


def strip_number_mark(text: str) -> str:
    return _NUMBER_MARK.sub("", text, count=1)


def strip_decorations(raw: str) -> tuple[str, str | None, str | None]:
    """``🔥🔥[DeepSeek-V2] DeepSeek-V2: ...(@DeepSeek-AI)`` -> (title text, method, org).

    A ``[Tag]`` prefix only counts when it is not a link and text follows it; the caller
    has already taken date/venue tags off.
    """
    text = _LEAD_SYMBOLS.sub("", raw, count=1)
    method = None
    m = _TAG_PREFIX.match(text)
    if m and text[m.end() :].strip():
        method = strip_markdown(m.group("tag")) or None
        text = text[m.end() :]
    org = None
    o = _ORG_SUFFIX.search(text)
    if o and text[: o.start()].strip():
        org = o.group("org").strip()
        text = text[: o.start()]
    return text.strip(), method, org


def parse_authors(raw: str) -> tuple[str, ...]:
    """``Jane Doe, John Roe and Ann Poe et al.`` -> names; () unless it reads as names."""
    text = _ET_AL.sub("", strip_markdown(raw)).strip(" .,;")
    text = re.sub(r"\([^()]{0,80}\)", "", text)  # ``Adam Roberts (Google)``
    if not text or len(text) > 2000:
        return ()
    names = _pair_inverted([n.strip(" .") for n in _AUTHOR_SPLIT.split(text) if n.strip(" .")])
    if not names or not all(_NAME.match(n) and 1 <= len(n.split()) <= 5 for n in names):
        return ()
    return tuple(dict.fromkeys(names))


def _pair_inverted(items: list[str]) -> list[str]:
    """``Simonyan, Karen, and Andrew Zisserman``, ``Hinton, Geoffrey E., and Ruslan R.
    Salakhutdinov``: a one-word item followed by a given name (one word, maybe with
    initials) is one name written surname first (``Karen Simonyan``)."""
    out: list[str] = []
    i = 0
    while i < len(items):
        if (
            i + 1 < len(items)
            and " " not in items[i]
            and _GIVEN.match(items[i + 1])
            and (" " not in items[i + 1] or " " not in items[0])
        ):
            out.append(f"{items[i + 1]} {items[i]}")
            i += 2
        else:
            out.append(items[i])
            i += 1
    return out


def split_lead(text: str) -> TitleParts:
    """Title and authors from the text before an entry's links.

    ``**Title** *Authors*``: the bold run is the title. ``Authors. "Title." Venue``: the
    quoted run is the title when what precedes it reads as names. ``Title. _Authors_
    Venue``: an italic run after the title holds the authors. Otherwise all of it is the
    title (the caller cleans it).
    """
    # Titles and author lists are short; a huge run of continuation lines is not read
    # further, which keeps the searches below bounded on hostile input.
    body, method, org = strip_decorations(text[:MAX_LEAD])
    w = _WHOLE_QUOTED.match(body)
    if w:
        body = w.group("title")
    if has_br(body):
        parts = split_br(body)
        if len(parts) >= 2 and not parts[0].startswith("("):
            # ``Title <br> Doe, Roe <br> ACL 2024``
            names = parse_authors(parts[1])
            if names:
                inner = split_lead(parts[0])
                return TitleParts(inner.title, method or inner.method, org, names, parts[-1])
    b = _BOLD_LEAD.match(body)
    if b:
        rest = body[b.end() :]
        name = strip_markdown(b.group("title"))
        after_name = _NAME_SEP.match(rest)
        if after_name and len(name.split()) <= 3:
            # ``**AHA**: "AHA: A Vision-Language-Model ..."`` / ``**LEO**: Title``: the bold
            # run names the method and the title follows.
            tail = rest[after_name.end() :]
            q = _QUOTED.match(tail)
            if q:
                return TitleParts(q.group("title"), method or name, org, (), tail[q.end() :])
            if len(strip_markdown(tail).split()) >= 3:
                inner = split_lead(tail)
                return TitleParts(inner.title, method or name, org, inner.authors, inner.rest)
        authors = _first_italic_authors(rest) or _plain_authors(rest)
        return TitleParts(b.group("title").rstrip(" ;,"), method, org, authors, rest)
    q = _QUOTED.search(body)
    if q and q.start() > 0:
        before = body[: q.start()].strip()
        authors = parse_authors(before)
        if authors:
            return TitleParts(q.group("title"), method, org, authors, body[q.end() :])
    i = _ITALIC_RUN.search(body)
    if i and i.start() > 0:
        authors = parse_authors(i.group("body"))
        head = body[: i.start()].strip()
        if authors and len(strip_markdown(head).split()) >= 2:
            return TitleParts(head, method, org, authors, body[i.end() :])
    return TitleParts(body, method, org)


def _plain_authors(rest: str) -> tuple[str, ...]:
    """``**Title;** Jane Doe, John Roe et al`` -> names, when all of the rest reads as names."""
    text = rest.strip(" ;,.:")
    if not text or "[" in text or "(" in text or len(text) > 600:
        return ()
    return parse_authors(text)


def authors_after(rest: str) -> tuple[str, ...]:
    """Authors in an italic run right after a title (``[Title](url) *Doe, Roe.* ACL``)."""
    return _first_italic_authors(rest)


def _first_italic_authors(rest: str) -> tuple[str, ...]:
    i = _ITALIC_RUN.search(rest)
    if i is None or len(rest[: i.start()].strip(" .,:-")) > 40:
        return ()
    # ``*Liang Chen et al. arXiv.*``: the venue often shares the italic run.
    body = re.sub(r"\.\s*[A-Za-z][\w\- ]{0,30}\.?\s*$", "", i.group("body"))
    return parse_authors(body)


_SUB_FIELD = re.compile(
    r"^(?:\*\*|__)?\s*(?P<key>authors?|by|venue|conference|journal|published(?: in| at)?|date"
    r"|year|institutions?|affiliations?|organi[sz]ations?|tl;?\s*dr|summary|code|paper|links?"
    r"|project(?: page)?|homepage|pdf|arxiv|video|demo|dataset|data)\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_SUB_KEYS = {
    "author": "authors",
    "authors": "authors",
    "by": "authors",
    "venue": "venue",
    "conference": "venue",
    "journal": "venue",
    "date": "date",
    "year": "date",
    "code": "links",
    "paper": "links",
    "link": "links",
    "links": "links",
    "project": "links",
    "project page": "links",
    "homepage": "links",
    "pdf": "links",
    "arxiv": "links",
    "video": "links",
    "demo": "links",
    "dataset": "links",
    "data": "links",
}
_PAPER_PREFIX = re.compile(
    r"^(?:\*\*|__)?\s*(?:paper|pdf|arxiv|paper link)\s*(?:\*\*|__)?\s*[:：]\s*(?=\[)", re.I
)


def strip_field_prefix(body: str) -> str:
    """``paper: [Visual Instruction Tuning](url)`` (a field bullet naming the paper) ->
    the title link itself."""
    return _PAPER_PREFIX.sub("", body, count=1)


def sub_field(body: str) -> tuple[str, str] | None:
    """``Authors: Doe, Roe`` -> ("authors", "Doe, Roe"); ``Published in: ACL 2024`` -> venue;
    institutions, TL;DR and summaries -> ("note", ...). None for any other text."""
    m = _SUB_FIELD.match(body.strip())
    if m is None:
        return None
    key = m.group("key").lower()
    if key.startswith("published"):
        return "venue", m.group("value")
    return _SUB_KEYS.get(key, "note"), m.group("value")
