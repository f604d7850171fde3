"""Paper/Record <-> Zotero item JSON: the one place that knows how a paper looks in Zotero.

Items are shaped like the ones Zotero's own translators save (zotero-api.md §5): ``preprint``
for arXiv papers, ``conferencePaper`` for conference and workshop venues, ``journalArticle``
for journals. What Zotero has no field for goes into ``extra`` as ``pllm-…: value`` lines,
which pllm-sync owns and rewrites; every other line of ``extra`` belongs to the user and is
kept byte for byte.

The reverse direction (``item_to_record``) must produce exactly the canonical forms of
``record`` — otherwise an untouched item would look edited and a no-op sync would write.
The rules that make the two directions agree:

- ``method`` and ``venue`` are read from ``extra`` only (``pllm-method``, ``pllm-venue``);
  ``shortTitle``, ``conferenceName``/``proceedingsTitle``/``publicationTitle`` and the
  ``pllm/method/…``, ``pllm/venue/…`` automatic tags are display copies we write but never read.
- ``url`` is the item's ``url`` field, shown in the form Zotero uses (arXiv abs page,
  OpenReview forum, ACL Anthology landing page); when the catalog's own URL differs (a PDF
  link), it is kept in ``pllm-url`` and read back from there while the field still holds the
  display form of it.
- ``doi`` is the paper's own DOI. arXiv's DataCite DOI ``10.48550/arXiv.ID``, which we write
  for arXiv papers as Zotero does, is read back as no DOI: it is derived from ``arxiv``.
- ``tags`` are all of the item's tags except the managed ``pllm/…`` ones and the reading state
  tags ``status/<value>`` and ``rating/<1-5>``, which become ``status`` and ``rating``.
- ``abstract`` is ``abstractNote``; ``citekey`` is ``citationKey`` (schema v41 has the field on
  every paper type; Better BibTeX reads it).
- Enriched papers (``pllm_sync.metadata``): arXiv categories become automatic tags
  ``pllm/arxiv/<category>``; the date is the full date when the paper's year agrees with it;
  a ``preprint`` whose venue becomes a conference or journal is *upgraded in place*: the same
  item gets the new ``itemType`` (Zotero moves base fields and drops ``archiveID``; the arXiv
  id is kept in ``extra``).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from ..model import (
    Paper,
    SectionPath,
    VenueKind,
    neutralise_template_code,
    normalize_title,
    normalize_whitespace,
)
from ..record import (
    MANAGED_TAG_PREFIX,
    STATUSES,
    Record,
    canonical_notes,
    canonical_tag,
    normalize_record,
    section_key,
)
from .notes_html import is_pllm_note, note_html, note_markdown, roundtrip_markdown
from .schema import has_field
from .server_text import clean_text, creator_text

log = logging.getLogger(__name__)

KEY_ALPHABET = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
KEY_RE = re.compile(r"^[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$")

EXTRA_ID = "pllm-sync-id"
EXTRA_METHOD = "pllm-method"
EXTRA_VENUE = "pllm-venue"
EXTRA_VENUE_RAW = "pllm-venue-raw"
EXTRA_URL = "pllm-url"
EXTRA_CODE = "pllm-code"
EXTRA_ARXIV = "pllm-arxiv"
EXTRA_LINK_PREFIX = "pllm-link-"
_EXTRA_ORDER = (
    EXTRA_ID,
    EXTRA_METHOD,
    EXTRA_VENUE,
    EXTRA_VENUE_RAW,
    EXTRA_URL,
    EXTRA_CODE,
    EXTRA_ARXIV,
)
_OUR_LINE = re.compile(r"^(pllm-[a-z0-9][a-z0-9-]*):[ \t]?(.*)$")

METHOD_TAG = f"{MANAGED_TAG_PREFIX}method/"
ARXIV_CAT_TAG = f"{MANAGED_TAG_PREFIX}arxiv/"
VENUE_TAG = f"{MANAGED_TAG_PREFIX}venue/"
REMOVED_TAG = f"{MANAGED_TAG_PREFIX}removed"
STATUS_TAG = "status/"
RATING_TAG = "rating/"

CODE_TITLE = "Code"
PDF_TITLE = "PDF"
ARXIV_DOI_PREFIX = "10.48550/arxiv."
MAX_TAG = 255

_ARXIV_ID = r"(\d{4}\.\d{4,5}|[a-z][a-z.\-]*(?:\.[A-Z]{2})?/\d{7})"
_ARXIV_URL = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/" + _ARXIV_ID + r"(?:v\d+)?",
    re.IGNORECASE,
)
_ARXIV_TEXT = re.compile(r"^\s*arxiv\s*:\s*" + _ARXIV_ID + r"(?:v\d+)?", re.IGNORECASE)
_OPENREVIEW_URL = re.compile(
    r"^https?://(?:www\.)?openreview\.net/(?:forum|pdf)\?(?:[^#]*&)?id=([A-Za-z0-9_\-]+)"
)
_ACL_URL = re.compile(
    r"^https?://(?:www\.)?(?:aclanthology\.org|aclweb\.org/anthology)/"
    r"([A-Za-z0-9][A-Za-z0-9.\-]*?)(?:\.pdf)?/?$"
)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)

ItemData = dict[str, Any]


# ---------------------------------------------------------------------------- keys, extra


_KEY_SPACE = len(KEY_ALPHABET) ** 8
_DRAW_BITS = _KEY_SPACE.bit_length()
_DRAWS: list[int] = []


def _key_draw() -> int:
    """A uniform draw below ``_KEY_SPACE`` from the OS's randomness (as ``secrets.randbelow``
    draws: a number of as many bits, redrawn when too big), read 64 draws per system call: a
    first pull makes thousands of keys."""
    while True:
        try:
            n = _DRAWS.pop()
        except IndexError:  # empty (pop is atomic: another thread may have emptied it)
            raw = os.urandom(8 * 64)
            mask = (1 << _DRAW_BITS) - 1
            _DRAWS.extend(int.from_bytes(raw[i : i + 8], "big") & mask for i in range(0, 512, 8))
            continue
        if n < _KEY_SPACE:
            return n


def new_key(taken: Container[str] = ()) -> str:
    """A client-made object key (8 chars from Zotero's alphabet) not in ``taken``."""
    base = len(KEY_ALPHABET)
    while True:
        n = _key_draw()  # one draw, its 8 base-33 digits
        chars = []
        for _ in range(8):
            n, d = divmod(n, base)
            chars.append(KEY_ALPHABET[d])
        key = "".join(chars)
        if key not in taken:
            return key


def extra_lines(extra: str | None) -> dict[str, list[str]]:
    """Our ``pllm-…`` lines of ``extra``, grouped by key (values in order)."""
    out: dict[str, list[str]] = {}
    for line in (extra or "").splitlines():
        m = _OUR_LINE.match(line.strip())
        if m:
            out.setdefault(m.group(1), []).append(m.group(2).strip())
    return out


def extra_value(extra: str | None, key: str) -> str | None:
    vals = extra_lines(extra).get(key)
    return vals[0] if vals and vals[0] else None


def _order(key: str) -> tuple[int, str]:
    if key in _EXTRA_ORDER:
        return _EXTRA_ORDER.index(key), ""
    return len(_EXTRA_ORDER), key


def set_extra(extra: str | None, updates: Mapping[str, list[str]]) -> str:
    """``extra`` with the given ``pllm-…`` keys set to the given values (``[]`` removes).

    The user's lines stay as they are; our block is written where our first line was (or at
    the end), in a fixed order, so rewriting it is deterministic.
    """
    lines = (extra or "").split("\n") if extra else []
    ours: dict[str, list[str]] = {}
    user: list[str] = []
    insert_at: int | None = None
    for line in lines:
        m = _OUR_LINE.match(line.strip())
        if m:
            if insert_at is None:
                insert_at = len(user)
            ours.setdefault(m.group(1), []).append(m.group(2).strip())
        else:
            user.append(line)
    for k, vals in updates.items():
        clean = [w for v in vals if v and (w := normalize_whitespace(v))]
        if clean:
            ours[k] = clean
        else:
            ours.pop(k, None)
    block = [f"{k}: {v}" for k in sorted(ours, key=_order) for v in ours[k]]
    if insert_at is None:
        while user and not user[-1].strip():
            user.pop()
        insert_at = len(user)
    return "\n".join([*user[:insert_at], *block, *user[insert_at:]])


def without_our_lines(extra: str | None) -> str:
    """``extra`` with every ``pllm-…`` line taken out (the user's lines stay as they are):
    an item that is no longer pllm-sync's."""
    return set_extra(extra, {k: [] for k in extra_lines(extra)})


def item_pllm_id(data: Mapping[str, Any]) -> str | None:
    """The pllm-sync id an item carries in ``extra`` (None for items we never touched)."""
    return extra_value(data.get("extra"), EXTRA_ID)


# ------------------------------------------------------------------------ ids and urls


def arxiv_from_url(url: str | None) -> str | None:
    m = _ARXIV_URL.match(url or "")
    return m.group(1) if m else None


def arxiv_abs_url(arxiv: str) -> str:
    return f"https://arxiv.org/abs/{arxiv}"


def arxiv_doi(arxiv: str) -> str:
    return f"10.48550/arXiv.{arxiv}"


def display_url(url: str) -> str:
    """The URL Zotero's translators would store for ``url``: landing pages, not PDFs."""
    url = url.strip()
    if a := arxiv_from_url(url):
        return arxiv_abs_url(a)
    if m := _OPENREVIEW_URL.match(url):
        return f"https://openreview.net/forum?id={m.group(1)}"
    if m := _ACL_URL.match(url):
        return f"https://aclanthology.org/{m.group(1)}/"
    return url


def library_catalog(url: str | None) -> str:
    u = display_url(url or "")
    if u.startswith("https://arxiv.org/"):
        return "arXiv.org"
    if u.startswith("https://openreview.net/"):
        return "openreview.net"
    if u.startswith("https://aclanthology.org/"):
        return "ACLWeb"
    return ""


def clean_doi(doi: str | None) -> str | None:
    if not doi:
        return None
    d = _DOI_PREFIX.sub("", doi.strip()).strip().lower()
    return d or None


def item_arxiv(data: Mapping[str, Any]) -> str | None:
    """arXiv id from ``archiveID`` or our ``pllm-arxiv`` line; for items pllm-sync never
    wrote (adoption candidates) also from a translator's ``arXiv:`` line or the URL."""
    if m := _ARXIV_TEXT.match(str(data.get("archiveID") or "")):
        return m.group(1)
    extra = str(data.get("extra") or "")
    if v := extra_value(extra, EXTRA_ARXIV):
        return v
    if extra_value(extra, EXTRA_ID):
        if has_field(str(data.get("itemType") or ""), "archiveID"):
            return None  # a preprint whose arXiv id the user cleared
        # Another type, made so in Zotero: the server dropped archiveID with the type,
        # and the arXiv id went with it (for good: the note's `arxiv` was cleared). The
        # URL or arXiv's DOI still name it.
        doi = (clean_doi(str(data.get("DOI") or "")) or "").lower()
        if doi.startswith(ARXIV_DOI_PREFIX):
            return doi[len(ARXIV_DOI_PREFIX) :] or None
        return arxiv_from_url(str(data.get("url") or ""))
    for line in extra.splitlines():
        if m := _ARXIV_TEXT.match(line):
            return m.group(1)
    return arxiv_from_url(str(data.get("url") or ""))


def item_doi(data: Mapping[str, Any]) -> str | None:
    """The paper's own DOI (arXiv's derived DOI reads as None, see the module docstring)."""
    d = clean_doi(str(data.get("DOI") or ""))
    if d and d.startswith(ARXIV_DOI_PREFIX):
        return None
    return d


def item_url(data: Mapping[str, Any]) -> str | None:
    field = normalize_whitespace(str(data.get("url") or ""))
    stored = extra_value(data.get("extra"), EXTRA_URL)
    if stored and field == display_url(stored):
        return stored
    return field or None


def year_of(date: str | None) -> int | None:
    m = _YEAR.search(date or "")
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------- tags


def _status_of(tag: str) -> str | None:
    """``status/<value>`` -> value. Any value: a reading state the user invented in the vault
    (``to-read``) must come back as a status, not turn into a tag."""
    if tag.lower().startswith(STATUS_TAG):
        v = tag[len(STATUS_TAG) :].strip()
        if v:
            return v
    return None


def _status_order(status: str) -> tuple[int, str]:
    """Known statuses in their order of progress first, then any others alphabetically."""
    return (STATUSES.index(status) if status in STATUSES else len(STATUSES), status)


def _rating_of(tag: str) -> int | None:
    """``rating/<n>`` -> n, for any whole number (a 10-point scale is the user's choice)."""
    if tag.lower().startswith(RATING_TAG):
        v = tag[len(RATING_TAG) :].strip()
        if v.isdigit():
            return int(v)
    return None


def _is_managed(tag: str) -> bool:
    c = canonical_tag(tag)
    return tag.startswith(MANAGED_TAG_PREFIX) or bool(c and c.startswith(MANAGED_TAG_PREFIX))


def _user_canonical(tag: str) -> str | None:
    """The canonical user tag a Zotero tag stands for, or None if it is not a user tag."""
    if _is_managed(tag) or _status_of(tag) or _rating_of(tag):
        return None
    return canonical_tag(tag)


def _tag_names(tags: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(t.get("tag", "")) for t in tags or () if isinstance(t, Mapping)]


def _managed(prefix: str, value: str | None) -> list[dict[str, Any]]:
    if not value:
        return []
    return [{"tag": (prefix + value)[:MAX_TAG], "type": 1}]


def _rebuild_tags(changes: Record, tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [dict(t) for t in tags]
    if "tags" in changes:
        want = set(changes["tags"] or ())
        kept: list[dict[str, Any]] = []
        represented: set[str] = set()
        for t in out:
            c = _user_canonical(str(t.get("tag", "")))
            if c is None or c in want:
                kept.append(t)
                if c is not None:
                    represented.add(c)
        names = {str(t.get("tag")) for t in kept}
        kept += [{"tag": c} for c in sorted(want - represented) if c not in names]
        out = kept
    if "status" in changes:
        out = [t for t in out if not _status_of(str(t.get("tag", "")))]
        if changes["status"]:
            out.append({"tag": f"{STATUS_TAG}{changes['status']}"})
    if "rating" in changes:
        out = [t for t in out if not _rating_of(str(t.get("tag", "")))]
        if changes["rating"]:
            out.append({"tag": f"{RATING_TAG}{int(changes['rating'])}"})
    if "method" in changes:
        out = [t for t in out if not str(t.get("tag", "")).startswith(METHOD_TAG)]
        out += _managed(METHOD_TAG, changes["method"])
    if "venue" in changes:
        out = [t for t in out if not str(t.get("tag", "")).startswith(VENUE_TAG)]
        out += _managed(VENUE_TAG, changes["venue"])
    if "catalog" in changes:
        out = [t for t in out if str(t.get("tag", "")) != REMOVED_TAG]
        if changes["catalog"] == "removed":
            out.append({"tag": REMOVED_TAG, "type": 1})
    return out


def _tag_set(tags: Iterable[Mapping[str, Any]]) -> set[tuple[str, int]]:
    return {(str(t.get("tag")), int(t.get("type", 0) or 0)) for t in tags or ()}


# ---------------------------------------------------------------------------- creators


_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def split_author(name: str) -> dict[str, str]:
    """ "First Last" → ``{firstName, lastName}``; "Last, First" too (it once became first
    name ``Doe,`` and last name ``Jane``), unless what follows the comma is a suffix
    ("John Smith, Jr."); a single word → ``{name}``."""
    name = normalize_whitespace(name)
    last, comma, first = name.partition(",")
    first, last = first.strip(), last.strip()
    if comma and last and first and "," not in first and first.lower() not in _SUFFIXES:
        return {"creatorType": "author", "firstName": first, "lastName": last}
    if " " not in name:
        return {"creatorType": "author", "name": name}
    first, last = name.rsplit(" ", 1)
    return {"creatorType": "author", "firstName": first, "lastName": last}


def creator_name(c: Mapping[str, Any]) -> str:
    if c.get("name"):
        return normalize_whitespace(str(c["name"]))
    return normalize_whitespace(f"{c.get('firstName', '')} {c.get('lastName', '')}")


def _merge_creators(current: list[dict[str, Any]], authors: Iterable[str]) -> list[dict[str, Any]]:
    """The creators list with ``authors`` as its authors, reusing the user's own creator
    entries where the name matches (a split like ``Jan`` / ``van der Berg`` or a single-field
    ``OpenAI Research Team`` is theirs to keep) and leaving editors and other roles where
    they were."""
    existing = {creator_name(c): c for c in current if c.get("creatorType") == "author"}
    # Send names as the server stores them: a name it would trim to nothing (a BOM, a
    # control character) would make it drop that creator and every one after it.
    names = [creator_text(normalize_whitespace(a)) for a in authors if a]
    wanted = [existing.get(n) or split_author(n) for n in names if n]
    out: list[dict[str, Any]] = []
    placed = False
    for c in current:
        if c.get("creatorType") == "author":
            if not placed:
                out.extend(wanted)
                placed = True
        else:
            out.append(c)
    if not placed:
        out = wanted + out
    return out


def item_authors(data: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        n
        for c in data.get("creators") or ()
        if c.get("creatorType") == "author" and (n := creator_name(c))
    )


# ---------------------------------------------------------------------------- children


def _live(children: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    kids = [c for c in children if not c.get("deleted")]
    return sorted(kids, key=lambda c: (str(c.get("dateAdded") or ""), str(c.get("key") or "")))


def find_code_attachment(children: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for c in _live(children):
        if (
            c.get("itemType") == "attachment"
            and c.get("linkMode") == "linked_url"
            and str(c.get("title") or "").strip().lower() == CODE_TITLE.lower()
        ):
            return c
    return None


def stale_code_line(
    item_data: Mapping[str, Any], children: Iterable[Mapping[str, Any]]
) -> str | None:
    """The Code attachment's URL when the item's ``pllm-code`` line says another (the user
    edited the link on the attachment): the line must follow, or once the attachment is
    gone the item reads as the old link again, and the note's code went back to the list's
    URL without a word. None when the line agrees, or there is no such attachment."""
    att = find_code_attachment(children)
    url = str(att.get("url") or "") if att else ""
    if not url or extra_value(item_data.get("extra"), EXTRA_CODE) == url:
        return None
    return url


def find_pdf_attachment(children: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Any live PDF attachment: our linked "PDF", or a file or link the user or Zotero added."""
    for c in _live(children):
        if c.get("itemType") != "attachment":
            continue
        if c.get("contentType") == "application/pdf" or (
            str(c.get("title") or "").strip().lower() in (PDF_TITLE.lower(), "preprint pdf")
        ):
            return c
    return None


def pdf_attachment_item(parent_key: str, url: str, key: str) -> ItemData:
    """A linked-URL child attachment titled "PDF" pointing at the paper's PDF."""
    item = code_attachment_item(parent_key, url, key)
    item["title"] = PDF_TITLE
    item["contentType"] = "application/pdf"
    return item


def pdf_changes(
    url: str | None,
    parent_key: str,
    children: Iterable[Mapping[str, Any]],
    *,
    make_key: Callable[[], str],
) -> list[ItemData]:
    """The PDF link to add when metadata first arrives for an item that has no PDF yet (one
    the user removed is not forced back on every run: this runs only when enrichment
    changes the item)."""
    if not url or find_pdf_attachment(children) is not None:
        return []
    return [pdf_attachment_item(parent_key, url, make_key())]


def find_pllm_note(
    children: Iterable[Mapping[str, Any]], note_key: str | None = None
) -> Mapping[str, Any] | None:
    """pllm-sync's child note: the one with ``note_key`` if given and alive, else by marker."""
    live = _live(children)
    if note_key:
        for c in live:
            if c.get("key") == note_key and c.get("itemType") == "note":
                return c
    for c in live:
        if c.get("itemType") == "note" and is_pllm_note(str(c.get("note") or "")):
            return c
    return None


def code_attachment_item(parent_key: str, url: str, key: str) -> ItemData:
    """A linked-URL child attachment titled "Code" (no file, md5 or mtime: linked_url)."""
    return {
        "key": key,
        "version": 0,
        "itemType": "attachment",
        "parentItem": parent_key,
        "linkMode": "linked_url",
        "title": CODE_TITLE,
        "url": url,
        "tags": [],
        "relations": {},
    }


def note_item(parent_key: str, markdown: str, key: str) -> ItemData:
    return {
        "key": key,
        "version": 0,
        "itemType": "note",
        "parentItem": parent_key,
        "note": note_html(markdown),
        "tags": [],
        "relations": {},
    }


def child_changes(
    changes: Record,
    parent_key: str,
    children: Iterable[Mapping[str, Any]],
    *,
    make_key: Callable[[], str],
    note_key: str | None = None,
) -> list[ItemData]:
    """Create/update payloads for the code attachment and the notes child.

    Updates carry ``key`` + ``version`` + the changed properties; creates carry a client key
    and ``version: 0``. A removed code link trashes its attachment (recoverable); emptied
    notes keep the note with its marker, never delete it.
    """
    kids = list(children)
    out: list[ItemData] = []
    if "code" in changes:
        att = find_code_attachment(kids)
        code = changes["code"]
        if code and att is None:
            out.append(code_attachment_item(parent_key, code, make_key()))
        elif code and att is not None and att.get("url") != code:
            out.append({"key": att["key"], "version": att["version"], "url": code})
        elif not code and att is not None:
            out.append({"key": att["key"], "version": att["version"], "deleted": 1})
    if "notes" in changes:
        md = canonical_notes(changes["notes"])
        note = find_pllm_note(kids, note_key)
        if note is None:
            if md:
                out.append(note_item(parent_key, md, make_key()))
        elif note_markdown(str(note.get("note") or "")) != roundtrip_markdown(md):
            out.append({"key": note["key"], "version": note["version"], "note": note_html(md)})
    return out


# ---------------------------------------------------------------------------- item -> record


def item_to_record(
    item_data: Mapping[str, Any],
    children_data: Iterable[Mapping[str, Any]],
    collection_paths: Mapping[str, SectionPath],
    *,
    note_key: str | None = None,
) -> Record:
    """The canonical Record of a Zotero item (see the module docstring for the rules)."""
    if item_data.get("itemType") in ("note", "attachment", "annotation"):
        raise ValueError(f"item {item_data.get('key')} is a {item_data['itemType']}, not a paper")
    kids = [
        c
        for c in children_data
        if c.get("parentItem", item_data.get("key")) == item_data.get("key")
    ]
    extra = str(item_data.get("extra") or "")
    tags = _tag_names(item_data.get("tags") or ())
    statuses = sorted({s for t in tags if (s := _status_of(t))}, key=_status_order)
    ratings = sorted({r for t in tags if (r := _rating_of(t))})
    att = find_code_attachment(kids)
    note = find_pllm_note(kids, note_key)
    sections = {
        section_key(collection_paths[c])
        for c in item_data.get("collections") or ()
        if c in collection_paths
    }
    return normalize_record(
        {
            "title": _inert(str(item_data.get("title") or "")),
            "method": _inert(extra_value(extra, EXTRA_METHOD)),
            "venue": _inert(extra_value(extra, EXTRA_VENUE)),
            "year": year_of(str(item_data.get("date") or "")),
            "url": item_url(item_data),
            "code": (att.get("url") or None) if att else extra_value(extra, EXTRA_CODE),
            "arxiv": item_arxiv(item_data),
            "doi": item_doi(item_data),
            "authors": tuple(neutralise_template_code(a) for a in item_authors(item_data)),
            "abstract": _inert(str(item_data.get("abstractNote") or "")),
            "citekey": _inert(str(item_data.get("citationKey") or "")),
            "tags": [c for t in tags if (c := _user_canonical(t))],
            "status": statuses[0] if statuses else None,
            "rating": ratings[-1] if ratings else None,
            "notes": note_markdown(str(note.get("note") or "")) if note else "",
            "sections": sections,
            "catalog": "removed" if REMOVED_TAG in tags else "listed",
        }
    )


# ---------------------------------------------------------------------------- record -> item


def _inert(text: str | None) -> str | None:
    return None if text is None else neutralise_template_code(text)


def item_type_for(paper: Paper) -> str:
    """Zotero's item type for a paper: by venue kind, then by where the paper lives."""
    kind = paper.venue.kind if paper.venue else VenueKind.UNKNOWN
    if kind in (VenueKind.CONFERENCE, VenueKind.WORKSHOP):
        return "conferencePaper"
    if kind is VenueKind.JOURNAL:
        return "journalArticle"
    if paper.ids.arxiv or kind is VenueKind.PREPRINT:
        return "preprint"
    if paper.ids.openreview or paper.ids.acl:
        return "conferencePaper"
    return "preprint"


_TRAILING_YEAR = re.compile(r"\s+(?:19|20)\d{2}$")


def _container(field: str, label: str | None) -> str:
    """What a venue field shows: a journal's name as Zotero's translators store it (no
    year: "Nature Machine Intelligence"); conference fields keep the label ("NeurIPS 2023")."""
    if not label:
        return ""
    return _TRAILING_YEAR.sub("", label) if field == "publicationTitle" else label


def _upgraded_type(itype: str, changes: Record, paper: Paper | None) -> str | None:
    """The published type a ``preprint`` item becomes when the catalog's venue for it changes
    to a conference or journal (never the other way, and never for a venue a user typed:
    a user's own type choice is left alone)."""
    if itype != "preprint" or not changes.get("venue") or paper is None or paper.venue is None:
        return None
    if paper.venue.label() != changes["venue"]:
        return None
    if paper.venue.kind in (VenueKind.CONFERENCE, VenueKind.WORKSHOP):
        return "conferencePaper"
    if paper.venue.kind is VenueKind.JOURNAL:
        return "journalArticle"
    return None


_VENUE_FIELDS = {
    "conferencePaper": ("conferenceName", "proceedingsTitle"),
    "journalArticle": ("publicationTitle",),
}


_SPACE = re.compile(r"(\s+)")


def keep_layout(old: str, new: str) -> str:
    """``new`` (an abstract as the record holds it: whitespace collapsed, as the note shows
    it on one line) laid out as ``old`` (the item's abstract, with its paragraphs): the
    words ``new`` keeps from ``old`` keep the whitespace that followed them there. Fixing
    one word in the note once sent Zotero the whole abstract on one line.

    The result collapses to exactly ``new``'s words; ``new`` with line breaks of its own
    (from a source that has paragraphs) or an ``old`` without any is returned as is."""
    if not old or "\n" in new or not any(c in old for c in "\n\t\r") or not new.strip():
        return new
    parts = _SPACE.split(old.strip())
    old_words, old_seps = parts[0::2], [*parts[1::2], ""]
    new_words = new.split()
    out: list[str] = []
    seps: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += old_words[i1:i2]
            seps += old_seps[i1:i2]
            continue
        if j2 > j1:  # new words: single spaces, the block's last one takes the old gap
            out += new_words[j1:j2]
            seps += [" "] * (j2 - j1 - 1) + [old_seps[i2 - 1] if i2 > i1 else " "]
        elif seps and i2 > i1 and "\n" in old_seps[i2 - 1]:
            seps[-1] = old_seps[i2 - 1]  # words deleted before a paragraph break: keep it
    seps[-1] = ""
    pairs = zip(out[:-1], seps[:-1], strict=True)
    return "".join(w + (sep or " ") for w, sep in pairs) + out[-1]


def record_to_item_changes(
    record_changes: Record,
    item_data: Mapping[str, Any],
    *,
    collection_paths: Mapping[str, SectionPath] | None = None,
    paper: Paper | None = None,
    pllm_id: str | None = None,
) -> ItemData:
    """The POST/PATCH-semantics dict that applies ``record_changes`` to ``item_data``.

    Returns ``{}`` when nothing would change, else ``key`` + ``version`` + the changed
    properties only. ``sections`` needs ``collection_paths`` (collection key → section path of
    our tree); memberships outside our tree are kept. ``paper`` (optional) refreshes the
    catalog-only extra lines (raw venue, links by role); ``pllm_id`` sets ``pllm-sync-id``.
    """
    ch = record_changes
    cur = item_data
    itype = str(cur.get("itemType") or "")
    out: ItemData = {}
    cur_extra = str(cur.get("extra") or "")
    extra_up: dict[str, list[str]] = {}

    def put(field: str, value: Any) -> None:
        if isinstance(value, str):
            value = clean_text(value)  # what the server will store
        if has_field(itype, field) and (cur.get(field) or "") != value:
            out[field] = value

    upgrade = _upgraded_type(itype, ch, paper)
    if upgrade is not None:
        # Preprint -> published, in place: same key, same children. The server carries the
        # fields over (base fields move, archiveID/repository are dropped), so the arXiv id
        # moves to extra, and nothing invalid for the new type may be sent.
        out["itemType"] = itype = upgrade
        if arxiv_now := item_arxiv(cur):
            extra_up[EXTRA_ARXIV] = [arxiv_now]
        if str(cur.get("repository") or "").lower() == "arxiv":
            out["publisher"] = ""  # `repository` would become the publisher: arXiv is not one

    if "title" in ch:
        put("title", normalize_whitespace(ch["title"] or ""))
    if "authors" in ch:
        creators = _merge_creators(list(cur.get("creators") or ()), ch["authors"] or ())
        if creators != list(cur.get("creators") or ()):
            out["creators"] = creators
    cur_date = str(cur.get("date") or "")
    full = paper.date if paper is not None and paper.date else None
    if "year" in ch and ch["year"] != year_of(cur_date):
        put(
            "date", (full if year_of(full) == ch["year"] else str(ch["year"])) if ch["year"] else ""
        )
    elif full and cur_date.strip() == str(year_of(full)) and full != cur_date:
        put("date", full)  # the year it had, made precise by enrichment
    if "abstract" in ch:
        put("abstractNote", keep_layout(str(cur.get("abstractNote") or ""), ch["abstract"] or ""))
    if "citekey" in ch:
        put("citationKey", ch["citekey"] or "")
    if "arxiv" in ch or "doi" in ch:
        arxiv = ch["arxiv"] if "arxiv" in ch else item_arxiv(cur)
        doi = ch["doi"] if "doi" in ch else item_doi(cur)
        if itype == "preprint" and upgrade is None:
            put("archiveID", f"arXiv:{arxiv}" if arxiv else "")
            if arxiv and not cur.get("repository"):
                put("repository", "arXiv")
            if not arxiv and extra_value(cur_extra, EXTRA_ARXIV):
                extra_up[EXTRA_ARXIV] = []
        else:
            extra_up[EXTRA_ARXIV] = [arxiv] if arxiv else []
        put("DOI", doi or (arxiv_doi(arxiv) if arxiv else ""))
    if "url" in ch:
        url = ch["url"]
        shown = display_url(url) if url else ""
        put("url", shown)
        extra_up[EXTRA_URL] = [url] if url and url != shown else []
    if "code" in ch:
        extra_up[EXTRA_CODE] = [ch["code"]] if ch["code"] else []
    if "method" in ch:
        old = extra_value(cur_extra, EXTRA_METHOD)
        extra_up[EXTRA_METHOD] = [ch["method"]] if ch["method"] else []
        if (cur.get("shortTitle") or "") in ("", old):
            put("shortTitle", ch["method"] or "")
    if "venue" in ch:
        old = extra_value(cur_extra, EXTRA_VENUE)
        extra_up[EXTRA_VENUE] = [ch["venue"]] if ch["venue"] else []
        for f in _VENUE_FIELDS.get(itype, ()):
            if (cur.get(f) or "") in ("", old, _container(f, old)):
                put(f, _container(f, ch["venue"]))
    if paper is not None:
        extra_up[EXTRA_VENUE_RAW] = [paper.venue.raw] if paper.venue and paper.venue.raw else []
        for k in extra_lines(cur_extra):
            if k.startswith(EXTRA_LINK_PREFIX):
                extra_up[k] = []
        for role, urls in paper.urls_by_role().items():
            others = [u for u in urls if u not in (paper.url, paper.code_url)]
            if others:
                slug = re.sub(r"[^a-z0-9]+", "-", role.lower()).strip("-") or "other"
                extra_up[EXTRA_LINK_PREFIX + slug] = others
    if pllm_id is not None:
        extra_up[EXTRA_ID] = [pllm_id]
    if extra_up:
        put("extra", set_extra(cur_extra, extra_up))
    cats = list(paper.categories) if paper is not None else []
    if {"tags", "status", "rating", "method", "venue", "catalog"} & set(ch) or cats:
        tags = _rebuild_tags(ch, list(cur.get("tags") or ()))
        if cats:
            tags = [t for t in tags if not str(t.get("tag", "")).startswith(ARXIV_CAT_TAG)]
            tags += [t for c in cats for t in _managed(ARXIV_CAT_TAG, c)]
        if _tag_set(tags) != _tag_set(cur.get("tags") or ()):
            out["tags"] = tags
    if "sections" in ch and collection_paths is not None and not cur.get("parentItem"):
        current = list(cur.get("collections") or ())
        by_section: dict[str, str] = {}
        for ckey in sorted(collection_paths):
            by_section.setdefault(section_key(collection_paths[ckey]), ckey)
        wanted = set(ch["sections"] or ())
        new = [
            c
            for c in current
            if c not in collection_paths or section_key(collection_paths[c]) in wanted
        ]
        present = {section_key(collection_paths[c]) for c in new if c in collection_paths}
        for s in sorted(wanted - present):
            if s in by_section:
                new.append(by_section[s])
            else:
                log.warning("no Zotero collection for section %r; not filed there", s)
        if set(new) != set(current):
            out["collections"] = new
    if not out:
        return {}
    return {"key": cur.get("key"), "version": cur.get("version"), **out}


def build_item(
    paper: Paper,
    record: Record,
    *,
    key: str,
    collection_keys: Iterable[str] = (),
) -> ItemData:
    """A complete new item (client key, ``version: 0``) for ``paper`` with ``record``'s values."""
    itype = item_type_for(paper)
    base: ItemData = {
        "key": key,
        "version": 0,
        "itemType": itype,
        "title": "",
        "creators": [],
        "tags": [],
        "collections": list(dict.fromkeys(collection_keys)),
        "relations": {},
    }
    url = record.get("url") or paper.url
    cat = library_catalog(url)
    if cat:
        base["libraryCatalog"] = cat
    if itype == "conferencePaper":
        if cat == "ACLWeb":
            base["publisher"] = "Association for Computational Linguistics"
        elif cat == "openreview.net":
            base["publisher"] = "OpenReview.net"
    if paper.abstract and "abstract" not in record:
        base["abstractNote"] = paper.abstract
    fields = {k: record[k] for k in record if k != "sections"}
    for k in ("url", "arxiv", "doi"):
        fields.setdefault(k, None)
    changes = record_to_item_changes(fields, base, paper=paper, pllm_id=paper.id)
    changes.pop("key", None)
    changes.pop("version", None)
    return {**base, **changes}


# ---------------------------------------------------------------------------- identity


def paper_match_keys(paper: Paper) -> list[str]:
    """Identity keys for adoption, strongest first: arXiv id, DOI, normalised title."""
    keys = []
    if paper.ids.arxiv:
        keys.append(f"arxiv:{paper.ids.arxiv.lower()}")
    doi = clean_doi(paper.ids.doi)
    if doi and not doi.startswith(ARXIV_DOI_PREFIX):
        keys.append(f"doi:{doi}")
    if t := normalize_title(paper.title):
        keys.append(f"title:{t}")
    return keys


def item_match_keys(data: Mapping[str, Any]) -> list[str]:
    keys = []
    if a := item_arxiv(data):
        keys.append(f"arxiv:{a.lower()}")
    if d := item_doi(data):
        keys.append(f"doi:{d}")
    if t := normalize_title(str(data.get("title") or "")):
        keys.append(f"title:{t}")
    return keys


def is_regular_item(data: Mapping[str, Any]) -> bool:
    return not data.get("parentItem") and data.get("itemType") not in (
        "note",
        "attachment",
        "annotation",
    )
