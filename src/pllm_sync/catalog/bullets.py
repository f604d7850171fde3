"""Bullet-style catalogs: ``+ **\\[2024 EMNLP\\]** Title. ([Paper](url), [Code](url))``.

Tag forms seen upstream, all accepted: bold and escaped ``**\\[2024 EMNLP\\]**``, unescaped
``**[2026 Arxiv-2603]**``, plain ``\\[2024 EMNLP\\]``, bold inside ``\\[**2024 EMNLP**\\]``,
no space before the title, a doubled bullet ``+ + ``, and a tag with no bullet at all.
Entries without a tag are accepted when they carry a link list (``([Website](..))``) or
start with a title link (``- [Title](url)``, the common awesome-list form). Bullets that
only hold in-page anchors (a table of contents) or prose are not entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import CatalogWarning, SectionPath, VenueKind
from .entry import Entry
from .links import ROLE_WORDS, FoundLink, find_links, is_web_url, role_for
from .markdown_text import strip_markdown
from .rowlinks import assemble
from .titles import clean_title
from .venues import known_venue, parse_tag

BULLET = re.compile(r"^[ \t]{0,16}(?:(?:[-+*]|\d{1,3}[.)])[ \t]+)+")
LONE_BULLET = re.compile(r"^[ \t]*(?:[-+*][ \t]*)+$")
TAG = re.compile(
    r"^(?:\*\*|__)?[ \t]*\\?\[[ \t]*(?:\*\*|__)?[ \t]*(?P<body>[^\[\]\\*\n]{1,80}?)"
    r"[ \t]*(?:\*\*|__)?[ \t]*\\?\](?:\*\*|__)?(?!\()[ \t]*"
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_BARE_URL = re.compile(r"https?://[^\s()<>\[\]]{3,2000}")
_ROLE = r"(?:paper|papers|pdf|code|github|link|website|project|data|dataset|demo)"
_EMPTY_LINK_LIST = re.compile(rf"\(\s*{_ROLE}(?:\s*[,/]\s*{_ROLE})*\s*\)\s*$", re.IGNORECASE)


def strip_bullets(line: str) -> tuple[str, bool]:
    """The text after any list markers (``+ + x`` -> ``x``) and whether there were any."""
    m = BULLET.match(line)
    if m:
        return line[m.end() :], True
    return line.lstrip(), False


def match_tag(text: str) -> re.Match[str] | None:
    """The ``[year venue]`` tag at the start of ``text``, if the bracket really is one."""
    m = TAG.match(text)
    if not m:
        return None
    body = m.group("body").strip()
    if _YEAR.search(body) or known_venue(body) is not None:
        return m
    return None


@dataclass(frozen=True)
class Candidate:
    """Why a line looks like an entry, decided before it is parsed in full."""

    tagged: bool
    title_link: bool


def classify(text: str, bulleted: bool) -> Candidate | None:
    """None for lines that are not entries (prose, TOC anchors, lone bullets)."""
    if match_tag(text):
        return Candidate(tagged=True, title_link=False)
    if "](" not in text:
        return None
    found = find_links(text)
    head = found[0] if found else None
    if (
        bulleted
        and head is not None
        and head.start == 0
        and not head.badge
        and is_web_url(head.url)
        and head.label.strip().lower() not in ROLE_WORDS
    ):
        return Candidate(tagged=False, title_link=True)
    if any(_is_role_link(f) for f in found):
        return Candidate(tagged=False, title_link=False)
    return None


def _is_role_link(f: FoundLink) -> bool:
    """``[Paper](https://...)`` or a ``[![Paper](badge)](https://...)`` badge; not prose links
    (``[MAINTENANCE.md](./MAINTENANCE.md)``) nor decorative badges (``![Awesome](...)``)."""
    if not is_web_url(f.url):
        return False
    label = strip_markdown(f.label).lower().strip()
    if label in ROLE_WORDS:
        return True
    return f.badge and bool(label) and role_for(f.label, "") != "link"


def parse_bullet(
    source: str,
    lineno: int,
    text: str,
    cand: Candidate,
    section: SectionPath,
    raw: str,
) -> tuple[Entry | None, list[CatalogWarning]]:
    """One entry-looking bullet (markers already stripped, continuation lines joined)."""
    warnings: list[CatalogWarning] = []

    def warn(msg: str) -> None:
        warnings.append(CatalogWarning(source, lineno, msg, raw.strip()))

    tag_year = None
    venue = None
    rest = text
    if cand.tagged:
        m = match_tag(text)
        assert m is not None
        tag_year, venue = parse_tag(m.group("body").strip())
        rest = text[m.end() :]
    found = find_links(rest)
    title_part: str
    if cand.title_link and found:
        # ``- [Title](url)``: the label is the title, so the role comes from the URL alone
        # (a title such as "Personalized Model ..." must not make it a model link).
        head = found[0]
        title_part = head.label
        role = role_for("", head.url)
        label = "paper" if role in ("link", "website") else role
        found = [FoundLink(label, head.url, start=head.start), *found[1:]]
    elif found:
        title_part = rest[: found[0].start]
    else:
        bare = _BARE_URL.search(rest)
        if bare:
            found = [FoundLink("", bare.group(0).rstrip(".,;"), start=bare.start())]
            title_part = rest[: bare.start()]
        else:
            title_part = rest
    title_part = title_part.rstrip().rstrip("(").rstrip()
    bare_list = _EMPTY_LINK_LIST.search(title_part)
    if bare_list:  # ``Title. (Paper)``: the link list lost its URLs
        title_part = title_part[: bare_list.start()].rstrip()
        warn("link list without URLs: " + bare_list.group(0).strip())
    title, aliases, problems = clean_title(title_part)
    if not title:
        warn("entry has no title; skipped")
        return None, warnings
    if venue is not None and venue.kind is VenueKind.OTHER:
        warn(f"not a paper (tagged {venue.name}); skipped")
        return None, warnings
    for p in problems:
        warn(p)
    rl = assemble(found)
    for p in rl.problems:
        warn(p)
    entry = Entry(
        source=source,
        line=lineno,
        section=section,
        style="bullet",
        title=title,
        aliases=aliases,
        venue=venue,
        tag_year=tag_year,
        url=rl.url,
        code_url=rl.code_url,
        links=rl.others,
        ids=rl.ids,
        raw=raw.strip(),
    )
    return entry, warnings
