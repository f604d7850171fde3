"""Paper identity: external ids from URLs, and which catalog entries are the same paper.

The rule (docs/catalog.md): a paper's id is its versionless arXiv id, else its DOI, else its
OpenReview forum id, else its ACL Anthology id, else a hash of its normalised title. Entries
are one paper when they share an external id AND their titles agree (equal, one a retitle
of the other, or one contained in the other), or when their normalised titles are equal and
their ids do not contradict each other. Upstream lists reuse ids by mistake (RECAP and
Review-LLM on 2306.07206, EGISES and PerSEval on 2407.00453), so an id shared by two clearly
different titles yields two papers and a warning naming both lines, never a silent merge.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..model import (
    CatalogWarning,
    Link,
    Paper,
    PaperIds,
    SectionPath,
    SourceRef,
    Venue,
    VenueKind,
    normalize_title,
    paper_id_for,
    title_hash,
)

if TYPE_CHECKING:
    from .entry import Entry

_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
_ARXIV_URL = re.compile(
    rf"(?:^|[/.])(?:arxiv\.org|alphaxiv\.org)/(?:abs|pdf|html|format)/(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?",
    re.IGNORECASE,
)
_HF_PAPER = re.compile(rf"(?:huggingface\.co|hf\.co)/papers/(?P<id>{_ARXIV_NEW})", re.IGNORECASE)
_ARXIV_DOI = re.compile(rf"doi\.org/10\.48550/arxiv\.(?P<id>{_ARXIV_NEW})", re.IGNORECASE)
_DOI_URL = re.compile(
    r"(?:(?:dx\.)?doi\.org|dl\.acm\.org/doi|dlnext\.acm\.org/doi|onlinelibrary\.wiley\.com/doi"
    r"|link\.springer\.com/(?:article|chapter)|journals\.sagepub\.com/doi|tandfonline\.com/doi)"
    r"/(?:(?:abs|pdf|full|epdf|fullHtml|book)/)?(?P<doi>10\.\d{4,9}/[^\s?#]+)",
    re.IGNORECASE,
)
_OPENREVIEW = re.compile(
    r"openreview\.net/(?:forum|pdf|attachment)\?(?:[^#\s]*?&)?id=(?P<id>[A-Za-z0-9_\-]+)",
    re.IGNORECASE,
)
_ACL = re.compile(
    r"(?:aclanthology\.org|aclweb\.org/anthology)/(?:anthology/)?"
    r"(?P<id>[A-Z]\d{2}-\d{4}|\d{4}\.[a-z0-9]+(?:-[a-z0-9]+)*\.\d+)(?:\.pdf)?/?(?:$|[?#])",
    re.IGNORECASE,
)

TITLE_SIMILARITY = 0.85
"""Normalised titles at least this similar (difflib ratio) are the same title: a typo fix
(``Lanuage`` -> ``Language``) or a small retitle. RECAP/Review-LLM score 0.59 and
EGISES/PerSEval 0.69, so genuine id collisions stay apart."""


MAX_TITLES = 8
MAX_CANDIDATES = 16
"""At most this many groups sharing one id are compared by title; beyond that (a list that
reuses one id for dozens of papers) entries simply start new papers."""


@lru_cache(maxsize=8192)
def ids_from_url(url: str) -> PaperIds:
    """External ids a single URL names (at most one of each kind)."""
    arxiv = doi = openreview = acl = None
    # An ASCII URL without a pattern's host word cannot match it (non-ASCII text can: the
    # patterns ignore case, and some non-ASCII letters fold to ASCII ones), so most URLs
    # skip most searches.
    low = url.lower() if url.isascii() else None
    m = _ARXIV_URL.search(url) if low is None or "xiv.org/" in low else None
    if m is None and (low is None or "/papers/" in low):
        m = _HF_PAPER.search(url)
    if m is None and (low is None or "doi.org/" in low):
        m = _ARXIV_DOI.search(url)
    if m:
        arxiv = m.group("id")
    else:
        d = _DOI_URL.search(url) if low is None or "/10." in low else None
        if d:
            doi = d.group("doi").rstrip(".,;)").lower()
            doi = re.sub(r"\.pdf$", "", doi)
    o = _OPENREVIEW.search(url) if low is None or "openreview.net/" in low else None
    if o:
        openreview = o.group("id")
    a = _ACL.search(url) if low is None or "acl" in low else None
    if a:
        acl = a.group("id")
    return PaperIds(arxiv=arxiv, doi=doi, openreview=openreview, acl=acl)


_NO_IDS = PaperIds()


def _merged(a: PaperIds, b: PaperIds) -> PaperIds:
    """``a.merged(b)``, without a new record when one side is empty (most merges: code
    links name no id, and a paper's first entry brings all its ids)."""
    if b.arxiv is None and b.doi is None and b.openreview is None and b.acl is None:
        return a
    if a.arxiv is None and a.doi is None and a.openreview is None and a.acl is None:
        return b
    return a.merged(b)


def ids_from_links(links: Sequence[Link]) -> PaperIds:
    """Ids from the paper links first; other non-code links only fill what is still missing."""
    ids = _NO_IDS
    for link in links:
        if link.role == "paper":
            ids = _merged(ids, ids_from_url(link.url))
    for link in links:
        if link.role not in ("paper", "code"):
            ids = _merged(ids, ids_from_url(link.url))
    return ids


def arxiv_year(arxiv_id: str | None) -> int | None:
    """``2409.11901`` -> 2024 (new-style ids only)."""
    if arxiv_id and re.fullmatch(_ARXIV_NEW, arxiv_id):
        return 2000 + int(arxiv_id[:2])
    return None


def titles_match(a: Sequence[str], b: Sequence[str]) -> bool:
    """True when any title (or alias) of ``a`` is the same title as any of ``b``."""
    for x in a:
        nx = normalize_title(x)
        for y in b:
            ny = normalize_title(y)
            if not nx or not ny:
                continue
            if nx == ny:
                return True
            short, long = (nx, ny) if len(nx) <= len(ny) else (ny, nx)
            if short.count(" ") >= 3 and f" {short} " in f" {long} ":
                return True
            if difflib.SequenceMatcher(None, nx, ny).ratio() >= TITLE_SIMILARITY:
                return True
    return False


def _id_items(ids: PaperIds) -> list[tuple[str, str]]:
    """``(kind, id)`` of each id present, in ``PaperIds.as_dict`` order, lowercase except
    OpenReview's (its ids are case-sensitive)."""
    out: list[tuple[str, str]] = []
    if ids.arxiv:
        out.append(("arxiv", ids.arxiv.lower()))
    if ids.doi:
        out.append(("doi", ids.doi.lower()))
    if ids.openreview:
        out.append(("openreview", ids.openreview))
    if ids.acl:
        out.append(("acl", ids.acl.lower()))
    return out


def _conflicts(a: PaperIds, b: PaperIds) -> list[tuple[str, str, str]]:
    """Kinds for which both have an id and the ids differ: (kind, a's, b's)."""
    da, db = a.as_dict(), b.as_dict()
    return [(k, da[k], db[k]) for k in da if k in db and da[k].lower() != db[k].lower()]


@dataclass
class _Group:
    entries: list[Entry] = field(default_factory=list)
    ids: PaperIds = field(default_factory=PaperIds)

    @property
    def first(self) -> Entry:
        return self.entries[0]

    _titles: list[str] = field(default_factory=list)

    def titles(self) -> list[str]:
        """The group's distinct titles, at most ``MAX_TITLES``: enough to recognise a retitle,
        and a bound on the fuzzy comparisons a pathological list could force."""
        return self._titles

    def add(self, e: Entry) -> None:
        self.entries.append(e)
        self.ids = _merged(self.ids, e.ids)
        for t in e.titles:
            if len(self._titles) < MAX_TITLES and t not in self._titles:
                self._titles.append(t)


_KIND_NAMES = {"arxiv": "arXiv", "doi": "DOI", "openreview": "OpenReview", "acl": "ACL Anthology"}


def _where(e: Entry) -> str:
    return f"{e.source}:{e.line}"


def group_entries(entries: Sequence[Entry]) -> tuple[list[_Group], list[CatalogWarning]]:
    """Partition entries into papers (first-appearance order) and report identity conflicts."""
    groups: list[_Group] = []
    warnings: list[CatalogWarning] = []
    # key -> the groups indexed under it, in insertion order, each once (a dict keyed by
    # the group's id: a hostile list with one id on 200k rows stays linear)
    by_id: dict[tuple[str, str], dict[int, _Group]] = {}
    by_title: dict[str, dict[int, _Group]] = {}
    by_url: dict[str, dict[int, _Group]] = {}

    def put(table: dict[Any, dict[int, _Group]], key: Any, g: _Group) -> None:
        found = table.get(key)
        if found is None:
            table[key] = {id(g): g}
        else:
            found.setdefault(id(g), g)

    def candidates(table: dict[Any, dict[int, _Group]], key: Any) -> list[_Group]:
        found = table.get(key)
        return list(islice(found.values(), MAX_CANDIDATES)) if found else []

    for e in entries:
        # Each entry's keys, computed once for the lookups and the index.
        id_items = _id_items(e.ids)
        title_keys = [normalize_title(t) for t in e.titles]
        url = e.url.strip().rstrip("/").lower() if e.url else None
        target: _Group | None = None
        clash: tuple[_Group, str] | None = None
        # 1. A shared external id, with an agreeing title.
        for item in id_items:
            for g in candidates(by_id, item):
                if titles_match(e.titles, g.titles()):
                    target = g
                    break
                if clash is None:
                    clash = (g, f"{_KIND_NAMES[item[0]]} id {item[1]}")
            if target:
                break
        # 2. The same title, with no contradicting id.
        title_clash: tuple[_Group, tuple[str, str, str]] | None = None
        if target is None:
            for key in title_keys:
                for g in candidates(by_title, key):
                    bad = _conflicts(e.ids, g.ids)
                    if not bad:
                        target = g
                        break
                    title_clash = title_clash or (g, bad[0])
                if target:
                    break
        # 3. No ids at all: the same paper URL and a compatible title (a poster page shared
        #    by a paper and its benchmark annotation).
        if target is None and not id_items and url is not None:
            for g in candidates(by_url, url):
                if not g.ids.as_dict() and titles_match(e.titles, g.titles()):
                    target = g
                    break
        if target is None:
            target = _Group()
            groups.append(target)
            if title_clash is not None:
                other, (kind, ours, theirs) = title_clash
                warnings.append(
                    CatalogWarning(
                        e.source,
                        e.line,
                        f"same title as {_where(other.first)} but a different "
                        f"{_KIND_NAMES[kind]} id "
                        f"({ours} here, {theirs} there); kept as separate papers",
                        e.title,
                    )
                )
            elif clash is not None:
                other, what = clash
                warnings.append(
                    CatalogWarning(
                        e.source,
                        e.line,
                        f"{what} is also used by a different paper at {_where(other.first)} "
                        f"({other.first.title!r}); kept as separate papers",
                        e.title,
                    )
                )
        elif target.entries and any(
            x.source == e.source and x.section == e.section for x in target.entries
        ):
            prev = next(
                x for x in target.entries if x.source == e.source and x.section == e.section
            )
            warnings.append(
                CatalogWarning(
                    e.source,
                    e.line,
                    f"listed twice in the same section (also at line {prev.line})",
                    e.title,
                )
            )
        target.add(e)
        for item in id_items:
            put(by_id, item, target)
        for key in title_keys:
            put(by_title, key, target)
        if url is not None:
            put(by_url, url, target)
    return groups, warnings


_VENUE_RANK = {
    VenueKind.CONFERENCE: 3,
    VenueKind.JOURNAL: 3,
    VenueKind.WORKSHOP: 3,
    VenueKind.UNKNOWN: 2,
    VenueKind.PREPRINT: 1,
    VenueKind.OTHER: 0,
}


def _best_venue(entries: Sequence[Entry]) -> Venue | None:
    """The most 'published' venue any listing gives (ICLR'25 beats Arxiv'24); first on ties."""
    best: Venue | None = None
    for e in entries:
        v = e.venue
        if v is None:
            continue
        if best is None or _VENUE_RANK[v.kind] > _VENUE_RANK[best.kind]:
            best = v
    return best


def paper_from_group(g: _Group, paper_id: str) -> Paper:
    entries = g.entries
    first = entries[0]
    venue = _best_venue(entries)
    # One pass for the fields the first listing that has them gives (``x or e.x``: the
    # first truthy value), not a generator per field: this runs once per paper.
    url: str | None = None
    code_url: str | None = None
    method: str | None = None
    authors: tuple[str, ...] = ()
    tag_year: int | None = None
    for e in entries:
        url = url or e.url or None
        code_url = code_url or e.code_url or None
        method = method or e.method or None
        authors = authors or e.authors
        tag_year = tag_year or e.tag_year or None
    year = venue.year if venue is not None and venue.year else None
    if year is None:
        year = tag_year
    if year is None:
        year = next((e.year for e in entries if e.year), None)
    taken = {x for x in (url, code_url) if x}
    links: list[Link] = []
    for e in entries:
        for link in e.links:
            if link.url not in taken:
                taken.add(link.url)
                links.append(link)
        if e.url and e.url not in taken:
            taken.add(e.url)
            links.append(Link("paper", e.url))
        if e.code_url and e.code_url not in taken:
            taken.add(e.code_url)
            links.append(Link("code", e.code_url))
    sections: list[SectionPath] = []
    sources: list[SourceRef] = []
    for e in entries:
        if e.section not in sections:
            sections.append(e.section)
        sources.append(SourceRef(e.source, e.line))
    return Paper(
        id=paper_id,
        title=first.title,
        method=method,
        authors=authors,
        venue=venue,
        year=year,
        url=url,
        code_url=code_url,
        links=tuple(links),
        ids=g.ids,
        sections=tuple(sections),
        sources=tuple(sources),
    )


def papers_from_entries(entries: Sequence[Entry]) -> tuple[list[Paper], list[CatalogWarning]]:
    """Group entries into papers and give each a unique canonical id."""
    groups, warnings = group_entries(entries)
    papers: list[Paper] = []
    used: set[str] = set()
    for g in groups:
        pid = paper_id_for(g.ids, g.first.title)
        if pid in used:
            fallback = f"title:{title_hash(g.first.title)}"
            n = 2
            candidate = fallback
            while candidate in used:
                candidate, n = f"{fallback}-{n}", n + 1
            pid = candidate
        used.add(pid)
        papers.append(paper_from_group(g, pid))
    return papers, warnings
