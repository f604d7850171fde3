"""The pure merge of service answers into a catalog paper: no IO, table-tested.

Rules (the list is the authority for what it states; the services fill what it leaves out):

- a service answer whose title disagrees badly with the list's title (token-overlap
  similarity below ``threshold``) is not used at all: the list probably links the wrong
  paper; a warning names the list line;
- authors, abstract, year, date, DOI and arXiv id are filled only where the list gave none;
  arXiv's own data comes first (full names, the author's abstract), Semantic Scholar second;
- the venue is set from Semantic Scholar only when the list gives none or calls the paper a
  preprint, and only for a real publication (a conference or journal, not "arXiv.org"):
  that is the preprint -> published upgrade;
- categories and the PDF link come from arXiv.
"""

from __future__ import annotations

from dataclasses import replace

from ..catalog.venues import known_venue
from ..model import (
    Paper,
    PaperIds,
    Venue,
    VenueKind,
    neutralise_template_code,
    normalize_title,
)
from .arxiv import ArxivEntry
from .scholar import ScholarPaper

THRESHOLD = 0.5
_UPGRADABLE = (None, VenueKind.PREPRINT, VenueKind.UNKNOWN)


def title_similarity(a: str, b: str) -> float:
    """Token-set overlap of two titles (|A ∩ B| / min(|A|, |B|)) after normalisation, so a
    list that gives only the part before the colon ("LaMP") still matches the full title."""
    ta, tb = set(normalize_title(a).split()), set(normalize_title(b).split())
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / min(len(ta), len(tb))


def _year(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def published_venue(s: ScholarPaper) -> Venue | None:
    """The published venue of a Semantic Scholar answer as a catalog ``Venue`` (short name
    when the catalog knows one of its names, e.g. "NeurIPS"), or None for a preprint."""
    if not s.published or not s.venue:
        return None
    name, kind = (
        s.venue,
        VenueKind.CONFERENCE if s.venue_kind == "conference" else VenueKind.JOURNAL,
    )
    for candidate in s.venue_names:
        known = known_venue(candidate)
        if known is not None:
            name, kind = known[0], known[1] if known[1] is not VenueKind.UNKNOWN else kind
            break
    if kind in (VenueKind.PREPRINT, VenueKind.UNKNOWN, VenueKind.OTHER):
        kind = VenueKind.CONFERENCE if s.venue_kind == "conference" else VenueKind.JOURNAL
    year = _year(s.date) or s.year
    raw = f"{s.venue} {year}" if year else s.venue
    return Venue(raw=raw, name=name, year=year, kind=kind)


def enrich_paper(
    paper: Paper,
    arxiv: ArxivEntry | None,
    scholar: ScholarPaper | None,
    *,
    threshold: float = THRESHOLD,
) -> tuple[Paper, list[str]]:
    """``paper`` with the gaps filled from the answers, and the warnings to show."""
    warnings: list[str] = []
    where = str(paper.sources[0]) if paper.sources else paper.id

    def agrees(service: str, title: str) -> bool:
        if not title or title_similarity(paper.title, title) >= threshold:
            return True
        warnings.append(
            f"{where}: the list's title {paper.title!r} and {service}'s {title!r} disagree; "
            "the list probably links the wrong paper, so its metadata was not applied "
            "(fix the link in the list)"
        )
        return False

    a = arxiv if arxiv is not None and agrees("arXiv", arxiv.title) else None
    s = scholar if scholar is not None and agrees("Semantic Scholar", scholar.title) else None
    # Text from the internet, bound for notes: Templater code in it must never run.
    if a is not None:
        a = replace(
            a,
            authors=tuple(neutralise_template_code(x) for x in a.authors),
            abstract=neutralise_template_code(a.abstract),
        )
    if s is not None:
        s = replace(
            s,
            authors=tuple(neutralise_template_code(x) for x in s.authors),
            abstract=neutralise_template_code(s.abstract) if s.abstract else None,
            venue=neutralise_template_code(s.venue) if s.venue else None,
            venue_names=tuple(neutralise_template_code(x) for x in s.venue_names),
        )
    if a is None and s is None:
        return paper, warnings

    authors = paper.authors or (a.authors if a else ()) or (s.authors if s else ())
    abstract = paper.abstract or (a.abstract if a else None) or (s.abstract if s else None)
    venue = paper.venue
    upgraded = published_venue(s) if s is not None else None
    if upgraded is not None and (venue is None or venue.kind in _UPGRADABLE):
        venue = upgraded
    published = venue is not None and venue.kind in (
        VenueKind.CONFERENCE,
        VenueKind.WORKSHOP,
        VenueKind.JOURNAL,
    )
    date = paper.date
    if date is None:
        if published and s is not None and s.date:
            date = s.date
        elif a is not None and a.published:
            date = a.published
        elif s is not None and s.date:
            date = s.date
    year = paper.year
    if year is None:
        year = (
            (venue.year if published and venue else None) or _year(date) or (s.year if s else None)
        )
    if year is not None and _year(date) not in (None, year):
        date = str(year)  # the list's year wins; a date from another year would contradict it
    a_doi = (a.doi or "").lower() if a else ""
    doi = (
        paper.ids.doi
        or (s.doi if s else None)
        or (a_doi if a_doi and not a_doi.startswith("10.48550/") else None)
    )
    ids = replace(
        paper.ids,
        doi=doi,
        arxiv=paper.ids.arxiv or (s.arxiv if s else None),
    )
    aid = ids.arxiv
    pdf = (
        paper.pdf_url
        or (f"https://arxiv.org/pdf/{aid}" if a and aid else None)
        or (s.pdf_url if s else None)
    )
    return (
        replace(
            paper,
            authors=tuple(authors),
            abstract=abstract,
            venue=venue,
            year=year,
            date=date,
            ids=PaperIds(arxiv=ids.arxiv, doi=ids.doi, openreview=ids.openreview, acl=ids.acl),
            categories=paper.categories or (a.categories if a else ()),
            pdf_url=pdf,
        ),
        warnings,
    )
