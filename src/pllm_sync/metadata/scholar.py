"""Semantic Scholar (``api.semanticscholar.org/graph/v1``): published versions, DOIs, venues,
and papers without an arXiv id.

Why Semantic Scholar rather than OpenAlex or Crossref: it is the only one of the three with a
*batch* endpoint that takes arXiv ids directly (``POST /paper/batch`` with ``ARXIV:<id>`` and
``DOI:<doi>``, up to 500 ids a call, answers in request order with ``null`` for unknown ids),
and one object carries everything we need: the preprint's arXiv id next to the published
DOI, the venue with its type (conference or journal) and alternate names (``NeurIPS``), the
publication types, the abstract. OpenAlex keeps the arXiv preprint and the published version
as two separate works and has abstracts only as inverted indexes; Crossref does not know
arXiv DOIs at all (DataCite) and cannot be asked by arXiv id. Papers with neither id are
looked up by title (``/paper/search/match``, one call each).

Rate limits: unauthenticated calls share a pool and get HTTP 429 with no ``Retry-After``
header (recorded), so the client spaces calls (1.1 s) and backs off; an API key (keyring
service ``pllm-sync``, user ``semanticscholar``, or ``$PLLM_SYNC_S2_API_KEY``) is sent as
``x-api-key`` and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .http import BadResponse, PoliteClient

log = logging.getLogger(__name__)

BATCH = 500
FIELDS = (
    "title,abstract,authors,year,publicationDate,venue,publicationVenue,publicationTypes,"
    "journal,externalIds,openAccessPdf"
)
KEY_ENV = "PLLM_SYNC_S2_API_KEY"
KEYRING_USER = "semanticscholar"
_ARXIV_NAMES = {"arxiv", "arxiv.org"}


def api_key() -> str | None:
    """The optional Semantic Scholar API key: environment first, then the keyring."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key.strip()
    try:
        import keyring

        return keyring.get_password("pllm-sync", KEYRING_USER) or None
    except Exception as exc:  # no keyring backend: no key, which is fine
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None


@dataclass(frozen=True)
class ScholarPaper:
    """The part of a Semantic Scholar paper object pllm-sync uses."""

    paper_id: str
    title: str
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    year: int | None = None
    date: str | None = None
    doi: str | None = None
    arxiv: str | None = None
    venue: str | None = None  # the venue's name as Semantic Scholar spells it
    venue_names: tuple[str, ...] = ()  # name and alternate names (e.g. "NeurIPS")
    venue_kind: str | None = None  # "conference" | "journal" | None (not published)
    pdf_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "authors": list(self.authors),
            "venue_names": list(self.venue_names),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScholarPaper:
        data = dict(d)
        data["authors"] = tuple(data.get("authors") or ())
        data["venue_names"] = tuple(data.get("venue_names") or ())
        return cls(**data)

    @property
    def published(self) -> bool:
        return self.venue_kind in ("conference", "journal")


def _s(v: Any) -> str | None:
    if isinstance(v, str):
        v = " ".join(v.split())
        return v or None
    return None


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def parse_paper(obj: Any) -> ScholarPaper | None:
    """One paper object (None stays None). Tolerates every null the service sends."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise BadResponse(f"Semantic Scholar: expected a paper object, got {type(obj).__name__}")
    ext = _obj(obj.get("externalIds"))
    pv = _obj(obj.get("publicationVenue"))
    journal = _obj(obj.get("journal"))
    types = [t for t in obj.get("publicationTypes") or () if isinstance(t, str)]
    jname = _s(journal.get("name"))
    if jname and jname.lower() in _ARXIV_NAMES:
        jname = None
    journal_first = "JournalArticle" in types and "Conference" not in types
    names: list[str] = []
    for n in (pv.get("name"), *(pv.get("alternate_names") or ()), jname, obj.get("venue")):
        if (s := _s(n)) and s not in names:
            names.append(s)
    venue = _s(pv.get("name")) or (jname if journal_first else None) or _s(obj.get("venue"))
    venue = venue or jname
    on_arxiv_only = not venue or venue.lower() in _ARXIV_NAMES
    kind: str | None = None
    if not on_arxiv_only:
        ptype = str(pv.get("type") or "").lower()
        if ptype == "conference" or "Conference" in types:
            kind = "conference"
        elif ptype == "journal" or "JournalArticle" in types:
            kind = "journal"
    doi = _s(ext.get("DOI"))
    if doi and doi.lower().startswith("10.48550/arxiv."):
        doi = None  # arXiv's own DataCite DOI: derived from the arXiv id, not a published DOI
    year = obj.get("year")
    pdf = _obj(obj.get("openAccessPdf"))
    return ScholarPaper(
        paper_id=str(obj.get("paperId") or ""),
        title=_s(obj.get("title")) or "",
        abstract=_s(obj.get("abstract")),
        authors=tuple(
            n for a in obj.get("authors") or () if isinstance(a, dict) and (n := _s(a.get("name")))
        ),
        year=year if isinstance(year, int) and not isinstance(year, bool) else None,
        date=_s(obj.get("publicationDate")),
        doi=doi.lower() if doi else None,
        arxiv=_s(ext.get("ArXiv")),
        venue=None if on_arxiv_only else venue,
        venue_names=tuple(names) if not on_arxiv_only else (),
        venue_kind=kind,
        pdf_url=_s(pdf.get("url")),
    )


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BadResponse(f"Semantic Scholar: malformed JSON in {what} ({exc})") from exc


class ScholarClient:
    """Batch lookups by ``ARXIV:``/``DOI:`` id, and title matches for papers with neither."""

    def __init__(self, base_url: str, http: PoliteClient, batch: int = BATCH) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.batch = max(1, min(batch, BATCH))

    def fetch_batch(self, ids: Iterable[str]) -> dict[str, ScholarPaper | None]:
        """``{"ARXIV:2304.05376": paper, "DOI:10.1/x": None, ...}`` for one batch."""
        wanted = list(dict.fromkeys(ids))
        url = f"{self.base_url}/paper/batch?{urllib.parse.urlencode({'fields': FIELDS})}"
        body = json.dumps({"ids": wanted}).encode()
        resp = self.http.request(
            "POST", url, body=body, headers={"Content-Type": "application/json"}
        )
        data = _json(resp.body, "a batch answer")
        if not isinstance(data, list) or len(data) != len(wanted):
            raise BadResponse(
                "Semantic Scholar: a batch answer must be a list with one slot per id "
                f"(sent {len(wanted)}, got {type(data).__name__})"
            )
        return {i: parse_paper(obj) for i, obj in zip(wanted, data, strict=True)}

    def match_title(self, title: str) -> ScholarPaper | None:
        """The best title match, or None when the service has none (HTTP 404)."""
        qs = urllib.parse.urlencode({"query": title, "fields": FIELDS})
        resp = self.http.request("GET", f"{self.base_url}/paper/search/match?{qs}", ok=(200, 404))
        if resp.status == 404:
            return None
        data = _json(resp.body, "a title match")
        hits = data.get("data") if isinstance(data, dict) else None
        if not isinstance(hits, list) or not hits:
            return None
        return parse_paper(hits[0])
