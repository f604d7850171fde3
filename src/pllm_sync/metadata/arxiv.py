"""The arXiv API (``export.arxiv.org/api/query``): batched ``id_list`` lookups and the Atom
feed parser.

Facts this relies on (recorded responses in ``tests/data/metadata/arxiv``):

- two wire layouts exist (the 2025+ serializer and the classic one: namespaces declared once
  or on every element, hard-wrapped or one-line text); ElementTree with namespace URIs reads
  both the same way;
- well-formed but unknown ids are dropped silently (HTTP 200, fewer entries), so answers are
  matched back to the request by id, never by position;
- a malformed id makes the whole call an HTTP 400 whose body is an Atom *error feed*: one
  entry with an ``/api/errors#`` id; we drop the id it names and ask again for the rest;
- arXiv asks for at most one call every 3 seconds (``PoliteClient.min_interval``).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .http import BadResponse, PoliteClient

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

BATCH = 100
ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z.\-]*(?:\.[A-Z]{2})?/\d{7})$", re.IGNORECASE)
_ABS_ID = re.compile(r"arxiv\.org/abs/(.+?)(?:v(\d+))?$", re.IGNORECASE)
_ERROR_ID = re.compile(r"incorrect_id_format_for_(.+)$")


@dataclass(frozen=True)
class ArxivEntry:
    """One paper as the arXiv API describes it (the version it returned)."""

    arxiv_id: str  # versionless
    version: int | None
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: str  # v1 date, ISO (YYYY-MM-DD)
    updated: str  # date of the returned version
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    primary_category: str | None = None
    categories: tuple[str, ...] = ()
    pdf_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "authors": list(self.authors), "categories": list(self.categories)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ArxivEntry:
        data = dict(d)
        data["authors"] = tuple(str(a) for a in data.get("authors") or ())
        data["categories"] = tuple(str(a) for a in data.get("categories") or ())
        return cls(**data)


class FeedError(BadResponse):
    """The feed is an arXiv error feed (``/api/errors#...``)."""

    def __init__(self, message: str, bad_id: str | None) -> None:
        super().__init__(message)
        self.bad_id = bad_id


def _text(el: ET.Element | None) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _date(value: str) -> str:
    return value.strip()[:10]


def split_abs_id(url: str) -> tuple[str, int | None] | None:
    """``http://arxiv.org/abs/2104.12255v1`` -> ``("2104.12255", 1)``."""
    m = _ABS_ID.search(url.strip())
    if not m:
        return None
    return m.group(1), int(m.group(2)) if m.group(2) else None


def parse_feed(data: bytes | str) -> list[ArxivEntry]:
    """Every paper entry of an Atom feed (either layout). Raises :class:`FeedError` for an
    error feed and :class:`BadResponse` for anything that is not an Atom feed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadResponse(f"arXiv: malformed XML ({exc})") from exc
    if root.tag != f"{ATOM}feed":
        raise BadResponse(f"arXiv: not an Atom feed (root element {root.tag!r})")
    out: list[ArxivEntry] = []
    for entry in root.findall(f"{ATOM}entry"):
        eid = _text(entry.find(f"{ATOM}id"))
        if "/api/errors" in eid or _text(entry.find(f"{ATOM}title")) == "Error":
            msg = _text(entry.find(f"{ATOM}summary")) or eid
            m = _ERROR_ID.search(eid)
            raise FeedError(f"arXiv: {msg}", m.group(1) if m else None)
        split = split_abs_id(eid)
        if split is None:
            log.debug("arXiv: entry with unexpected id %r skipped", eid)
            continue
        aid, version = split
        doi = _text(entry.find(f"{ARXIV}doi")) or None
        pdf = None
        for link in entry.findall(f"{ATOM}link"):
            if link.get("title") == "pdf" or link.get("type") == "application/pdf":
                pdf = link.get("href")
        prim = entry.find(f"{ARXIV}primary_category")
        cats = tuple(
            t for c in entry.findall(f"{ATOM}category") if (t := (c.get("term") or "").strip())
        )
        title_el = entry.find(f"{ATOM}title")
        out.append(
            ArxivEntry(
                arxiv_id=aid,
                version=version,
                title=_text(title_el),
                abstract=_text(entry.find(f"{ATOM}summary")),
                authors=tuple(
                    n for a in entry.findall(f"{ATOM}author") if (n := _text(a.find(f"{ATOM}name")))
                ),
                published=_date(_text(entry.find(f"{ATOM}published"))),
                updated=_date(_text(entry.find(f"{ATOM}updated"))),
                doi=doi,
                journal_ref=_text(entry.find(f"{ARXIV}journal_ref")) or None,
                comment=_text(entry.find(f"{ARXIV}comment")) or None,
                primary_category=(prim.get("term") if prim is not None else None)
                or (cats[0] if cats else None),
                categories=cats,
                pdf_url=pdf,
            )
        )
    return out


class ArxivClient:
    """``id_list`` lookups in batches of up to 100, one call every ``min_interval`` seconds."""

    def __init__(self, base_url: str, http: PoliteClient, batch: int = BATCH) -> None:
        self.base_url = base_url
        self.http = http
        self.batch = max(1, min(batch, BATCH))

    def _query(self, ids: list[str]) -> list[ArxivEntry]:
        qs = urllib.parse.urlencode(
            {"id_list": ",".join(ids), "start": 0, "max_results": len(ids)}, safe=",/"
        )
        resp = self.http.request("GET", f"{self.base_url}?{qs}", ok=(200, 400))
        entries = parse_feed(resp.body)
        if resp.status == 400:
            raise BadResponse(f"arXiv: HTTP 400 for id_list={','.join(ids)[:200]}")
        return entries

    def fetch_batch(self, ids: Iterable[str]) -> dict[str, ArxivEntry | None]:
        """One batch: requested id -> entry, or None for an id arXiv does not know (or
        refuses as malformed). Raises :class:`ServiceError` when arXiv cannot answer."""
        wanted = list(dict.fromkeys(ids))
        result: dict[str, ArxivEntry | None] = {}
        for i in wanted:
            if not ID_RE.match(i):
                log.warning("arXiv: %r is not an arXiv id; not looked up", i)
                result[i] = None
        pending = [i for i in wanted if i not in result]
        while pending:
            try:
                entries = self._query(pending)
            except FeedError as exc:
                bad = exc.bad_id
                hit = [i for i in pending if bad is not None and i.lower() == bad.lower()]
                if not hit:
                    raise
                log.warning("%s; looking up the other ids without it", exc)
                for i in hit:
                    result[i] = None
                pending = [i for i in pending if i not in hit]
                continue
            by_id = {e.arxiv_id.lower(): e for e in entries}
            for i in pending:
                result[i] = by_id.get(i.lower())
            break
        return result
