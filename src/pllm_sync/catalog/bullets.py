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

from ..model import CatalogWarning, SectionPath, Venue, VenueKind
from .entry import Entry
from .fields import authors_after, split_lead, strip_number_mark
from .links import ROLE_WORDS, FoundLink, find_links, is_paper_url, is_web_url, role_for
from .markdown_text import strip_markdown
from .rowlinks import assemble
from .titles import clean_title
from .venues import date_tag_year, known_venue, parse_tag, parse_venue

LONE_BULLET = re.compile(r"^[ \t]*(?:[-+*][ \t]*)+$")
"""A marker-only line (``+``): an empty list item, or a lazy line of the paragraph above."""
TAG = re.compile(
    r"^(?:\*\*|__)?[ \t]*\\?\[[ \t]*(?:\*\*|__)?[ \t]*(?P<body>[^\[\]\\*\n]{1,80}?)"
    r"[ \t]*(?:\*\*|__)?[ \t]*\\?\](?:\*\*|__)?(?!\()[ \t]*"
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_BARE_URL = re.compile(r"https?://[^\s()<>\[\]]{3,2000}")
BARE_URL = _BARE_URL
_ROLE = r"(?:paper|papers|pdf|code|github|link|website|project|data|dataset|demo)"
_EMPTY_LINK_LIST = re.compile(rf"\(\s*{_ROLE}(?:\s*[,/]\s*{_ROLE})*\s*\)\s*$", re.IGNORECASE)
_PAPER_WORDS = frozenset({"abs", "abstract", "preprint", "html", "paper link", "full paper"})
"""Link words that name the paper only when the link goes to a paper host."""
_LINK_LEAD = frozenset({"", "**", "__", "*", "_", '"', "“", "***"})
"""What may stand before a title link: ``**[Title](url)**``, ``"[Title](url)"``."""
_BOLD_START = re.compile(r"^(?:\*\*|__)(?=\S)")
_PAREN_DATE = re.compile(
    r"[(（\[]\s*(?P<d>(?:19|20)\d{2}[./\-年]\s*\d{1,2}(?:[./\-月]\s*\d{1,2})?)\s*日?\s*[)）\]]"
)
_PAREN_VENUE = re.compile(
    r"[(（]\s*(?P<v>[A-Za-z][A-Za-z&\- ]{1,30}?\s*['’]?\s*(?:19|20)?\d{2}[A-Za-z ]{0,20})\s*[)）]"
)


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
    text = strip_number_mark(text)
    if "](" not in text:
        if bulleted and _BOLD_START.match(text) and _bare_paper_url(text):
            # ``* **Survey Title** [https://arxiv.org/abs/...]`` (a list's own survey)
            return Candidate(tagged=False, title_link=False)
        if bulleted and _bold_title_with_authors(text):
            # ``- **Title;** Jane Doe et al`` (a list without links: the title is the paper)
            return Candidate(tagged=False, title_link=False)
        return None
    found = find_links(text)
    head = found[0] if found else None
    if (
        head is not None
        and text[: head.start].strip() in _LINK_LEAD
        and not head.badge
        and is_web_url(head.url)
        and _label_key(head.label) not in ROLE_WORDS
        and (bulleted or _is_paper_title_link(head) or _only_this_link(text, head))
    ):
        return Candidate(tagged=False, title_link=True)
    if any(_is_role_link(f) for f in found):
        return Candidate(tagged=False, title_link=False)
    return None


def _label_key(label: str) -> str:
    return strip_markdown(label).lower().strip().strip("[]()").strip()


def _is_paper_title_link(f: FoundLink) -> bool:
    """A paragraph that opens with ``[**Title**](arxiv...)``: a title of a few words that
    links a paper host (prose rarely opens with a link to a paper)."""
    return is_paper_url(f.url) and len(strip_markdown(f.label).split()) >= 3


def _venue_label(label: str) -> bool:
    """``ICLR'23``, ``NeurIPS 2022``, ``arXiv``: a link label that names a venue."""
    if len(label) > 30:
        return False
    v = parse_venue(label)
    return v is not None and v.name is not None and known_venue(v.name) is not None


def _only_this_link(text: str, f: FoundLink) -> bool:
    """A paragraph that is nothing but ``[Short Name](https://arxiv.org/abs/...)``."""
    if not is_paper_url(f.url):
        return False
    end = text.find(")", text.find("](", f.start)) + 1
    return end > 0 and not text[end:].strip(" *_.,;")


def _bold_title_with_authors(text: str) -> bool:
    lead = split_lead(text)
    return (
        bool(lead.authors)
        and len(strip_markdown(lead.title).split()) >= 3
        and (
            not strip_markdown(lead.rest).strip(" .;,")
            or lead.rest.lstrip(" .;,:")[:1] not in ("[", "(")
        )
    )


def _bare_paper_url(text: str) -> bool:
    m = _BARE_URL.search(text)
    return m is not None and is_paper_url(m.group(0))


def _is_role_link(f: FoundLink) -> bool:
    """``[Paper](https://...)`` or a ``[![Paper](badge)](https://...)`` badge; not prose links
    (``[MAINTENANCE.md](./MAINTENANCE.md)``) nor decorative badges (``![Awesome](...)``)."""
    if not is_web_url(f.url):
        return False
    label = _label_key(f.label)
    if label in ROLE_WORDS:
        return True
    if is_paper_url(f.url) and (label in _PAPER_WORDS or _venue_label(label)):
        return True  # ``[[abs](https://arxiv.org/abs/...)]``, ``[[ICLR'23]](arxiv...)``
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
    else:
        rest = strip_number_mark(text)
    found = find_links(rest)
    title_part: str
    after = ""
    if cand.title_link and found:
        # ``- [Title](url)``: the label is the title, so the role comes from the URL alone
        # (a title such as "Personalized Model ..." must not make it a model link).
        head = found[0]
        title_part = head.label
        role = role_for("", head.url)
        label = "paper" if role in ("link", "website") else role
        found = [FoundLink(label, head.url, start=head.start), *found[1:]]
        nxt = found[1].start if len(found) > 1 else len(rest)
        after = rest[head.start : nxt]
        after = after[after.find("](") + 2 :]
        after = after[after.find(")") + 1 :]
    elif found:
        title_part = rest[: found[0].start]
    else:
        bare = _BARE_URL.search(rest)
        if bare:
            found = [FoundLink("", bare.group(0).rstrip(".,;"), start=bare.start())]
            title_part = rest[: bare.start()]
        else:
            title_part = rest
    title_part = title_part.rstrip().rstrip("([").rstrip()
    lead = split_lead(title_part)
    title_part = lead.title
    authors = lead.authors or authors_after(after)
    if venue is None:
        venue = _venue_in(lead.rest or after)
        if venue is not None and tag_year is None:
            tag_year = venue.year
    if tag_year is None:
        d = _PAREN_DATE.search(lead.rest or after or rest)
        if d is not None:
            tag_year = date_tag_year(d.group("d"))  # ``（2023.05.02）`` after the title
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
    if rl.url is None:
        # ``[[https://arxiv.org/abs/1810.08272)]``: a broken link still names the paper.
        urls = [m.group(0).rstrip(".,;)]") for m in _BARE_URL.finditer(rest)]
        paper = next((u for u in urls if is_paper_url(u)), None)
        if paper is not None:
            rl = assemble([FoundLink("paper", paper), *found])
    for p in rl.problems:
        warn(p)
    entry = Entry(
        source=source,
        line=lineno,
        section=section,
        style="bullet",
        title=title,
        aliases=aliases,
        method=lead.method,
        authors=authors,
        venue=venue,
        tag_year=tag_year,
        url=rl.url,
        code_url=rl.code_url,
        links=rl.others,
        ids=rl.ids,
        raw=raw.strip(),
    )
    return entry, warnings


def _venue_in(text: str) -> Venue | None:
    """``(ACL 2024)`` / ``（NeurIPS'23）`` after a title: a venue only when it names one."""
    m = _PAREN_VENUE.search(text) if text else None
    if m is None:
        return None
    v = parse_venue(m.group("v"))
    if v is None or v.name is None or known_venue(v.name) is None:
        return None
    return v
