"""The canonical synced record: the common language of the catalog, Zotero and the vault.

Each side's adapter turns its native form into a ``Record`` (a plain dict of the fields below,
in canonical form) and applies a dict of changed fields back. The merge compares Records
field by field against the base (the last synced Record), so both adapters MUST produce
exactly these canonical forms; otherwise a field would look changed when it is not and a
no-op sync would write.

Canonical forms:

- ``title``: str, whitespace-normalised.
- ``method``, ``venue``, ``url``, ``code``, ``arxiv``, ``doi``, ``status``: ``str | None``
  (``None`` when absent; never ``""``). ``venue`` is the venue's display label.
- ``year``, ``rating``: ``int | None``.
- ``authors``: ``tuple[str, ...]`` in order ("First Last").
- ``tags``: ``frozenset[str]`` of the user's tags in Obsidian form (see ``canonical_tag``);
  managed tags (``pllm/...``) are not part of it.
- ``sections``: ``frozenset[str]``, each a section path joined with `` / ``.
- ``notes``: str, the user's own notes as markdown, normalised by ``canonical_notes``.
- ``abstract``, ``citekey``: ``str | None`` (whitespace-normalised). Filled by metadata
  enrichment through the catalog; the abstract lives in Zotero's ``abstractNote`` and the
  note's managed region, the key in Zotero's ``citationKey`` and the note's ``citekey``.
- ``catalog``: ``"listed"`` or ``"removed"``.
"""

from __future__ import annotations

import re
from typing import Any

from .model import Paper, SectionPath, normalize_whitespace

Record = dict[str, Any]

CATALOG_FIELDS: tuple[str, ...] = (
    "title",
    "method",
    "venue",
    "year",
    "url",
    "code",
    "arxiv",
    "doi",
    "authors",
    "abstract",
    "citekey",
)
"""Fields the catalog is the upstream for (three-way merged between Zotero and vault)."""

ENRICHED_FIELDS: frozenset[str] = frozenset({"authors", "abstract", "citekey", "doi"})
"""Catalog fields that metadata enrichment fills: once a user's own value stands (the agreed
value differs from what the upstream said), later upstream changes no longer replace it."""

USER_FIELDS: tuple[str, ...] = ("tags", "status", "rating", "notes")
"""Fields only users write, on either side."""

SYNCED_FIELDS: tuple[str, ...] = (*CATALOG_FIELDS, *USER_FIELDS, "sections", "catalog")

SET_FIELDS = frozenset({"tags", "sections"})

STATUSES = ("unread", "reading", "read", "skimmed", "skipped")
SECTION_SEP = " / "

MANAGED_TAG_PREFIX = "pllm/"
"""Tags pllm-sync writes itself on Zotero items as automatic tags (type 1): ``pllm/method/X``,
``pllm/venue/X``, ``pllm/removed``. They are not user tags. Reading state lives in ordinary
tags a user can set by hand in Zotero: ``status/<value>`` and ``rating/<1-5>``; the Zotero
mapping turns those into ``status``/``rating`` and leaves them out of ``tags``."""

_TAG_BAD = re.compile(r"[^\w/\-]+", re.UNICODE)


def canonical_tag(tag: str) -> str | None:
    """A tag in the form Obsidian accepts: no ``#``, no spaces (``-`` instead), not all digits.

    Returns None for a tag that has nothing left after cleaning.
    """
    t = tag.strip().lstrip("#").strip()
    t = _TAG_BAD.sub("-", t).strip("-/")
    t = re.sub(r"-{2,}", "-", t)
    if not t or t.isdigit():
        return None
    return t


MAX_TAG_LENGTH = 255
"""Zotero refuses a longer tag (HTTP 413 for the whole item), so such a tag is not synced:
it stays in the note (see ``vault.note.tags_value``) and the scan warns about it."""


def reserved_tag(tag: str) -> bool:
    """A tag Zotero's side reads as the paper's ``status`` or ``rating`` (``status/read``,
    ``rating/4``: how pllm-sync stores those there). Typed into a note's tags, it once set
    Zotero's status or rating behind the note's back; such a tag stays in the note and is
    not synced (the scan warns)."""
    low = tag.lower()
    if low.startswith("status/"):
        return bool(low[7:].strip())
    return low.startswith("rating/") and low[7:].strip().isdigit()


def syncable_tag(tag: str) -> bool:
    return len(tag) <= MAX_TAG_LENGTH and not reserved_tag(tag)


def canonical_tags(tags: Any) -> frozenset[str]:
    out = set()
    for t in tags or ():
        if isinstance(t, str):
            c = canonical_tag(t)
            if c and not c.startswith(MANAGED_TAG_PREFIX) and syncable_tag(c):
                out.add(c)
    return frozenset(out)


def section_key(path: SectionPath) -> str:
    return SECTION_SEP.join(path)


def section_path(key: str) -> SectionPath:
    return tuple(key.split(SECTION_SEP))


def canonical_notes(text: str | None) -> str:
    """Notes text with LF newlines, no trailing spaces on lines, no leading/trailing blank lines.

    Both sides normalise the same way, so a note that round-trips through Zotero's HTML
    compares equal to what the user wrote.
    """
    if not text:
        return ""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _opt(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        v = normalize_whitespace(v)
        return v or None
    return v


def _canonical_text(v: Any) -> bool:
    """Whether ``v`` is a string ``normalize_whitespace`` leaves as it is (most values a
    record is built from already are), told without splitting it: printable (the only
    whitespace ``str.isprintable`` lets through is the ASCII space) with single inner
    spaces only."""
    return type(v) is str and v.isprintable() and "  " not in v and v[:1] != " " and v[-1:] != " "


def _opt_int(v: Any) -> int | None:
    if v is None or v == "" or isinstance(v, bool):
        return None
    try:
        return int(str(v).strip())
    except ValueError:
        return None


_PLAIN_TEXT = frozenset(
    {"title", "method", "venue", "url", "code", "arxiv", "doi", "status", "abstract", "citekey"}
    | {"catalog"}
)
"""Fields whose canonical form is whitespace-normalised text (``None`` for empty)."""


_EMPTY_FORM: dict[str, Any] = {
    "tags": frozenset(),
    "sections": frozenset(),
    "authors": (),
    "notes": "",
    "title": "",
}
"""The canonical form of a field given as ``None`` (``None`` for fields not listed)."""


def _already_canonical(k: str, v: Any) -> bool:
    """Whether ``v`` is already the canonical form of field ``k`` (the common case: most
    records are built from values an adapter normalised before), told cheaply."""
    if k in _PLAIN_TEXT:
        return bool(v) and _canonical_text(v)
    if k == "year" or k == "rating":
        return type(v) is int
    if k == "authors":
        return type(v) is tuple and all(a and _canonical_text(a) for a in v)
    return False


def _normalize_field(k: str, v: Any) -> Any:
    """The canonical form of one field's value (not ``None``) that is not already canonical."""
    if k in ("tags",):
        return canonical_tags(v)
    if k == "sections":
        return frozenset(v or ())
    if k == "authors":
        return tuple(normalize_whitespace(a) for a in (v or ()) if a and a.strip())
    if k in ("year", "rating"):
        return _opt_int(v)
    if k == "notes":
        return canonical_notes(v)
    if k == "title":
        return normalize_whitespace(v or "")
    return _opt(v)


def normalize_record(rec: Record) -> Record:
    """Bring a record's values into canonical form (adapters call this before returning).

    The checks of :func:`_already_canonical` are inlined for the common cases (a text field
    that is already one clean line, an int year): a pull normalises each paper's record
    several times, and the function calls were most of the cost. tests/sync/test_record.py
    holds it equal to the field-by-field form."""
    out: Record = {}
    empty = _EMPTY_FORM
    plain = _PLAIN_TEXT
    for k, v in rec.items():
        if v is None:
            out[k] = empty.get(k)
        elif (
            (
                type(v) is str
                and k in plain
                and v
                and v.isprintable()
                and "  " not in v
                and v[0] != " "
                and v[-1] != " "
            )
            or (type(v) is int and (k == "year" or k == "rating"))
            or _already_canonical(k, v)
        ):
            out[k] = v
        else:
            out[k] = _normalize_field(k, v)
    return out


_DEFAULTS: dict[str, Any] = {
    "tags": frozenset(),
    "sections": frozenset(),
    "authors": (),
    "notes": "",
    "catalog": "listed",
}


def complete_record(rec: Record) -> Record:
    """Every synced field present (absent ones at their empty value), so a base stored after
    a first import compares equal to what the adapters read back later."""
    out = dict(rec)
    for k in SYNCED_FIELDS:
        if k not in out:
            out[k] = _DEFAULTS.get(k)
    if out.get("title") is None:
        out["title"] = ""
    return out


def record_from_paper(paper: Paper, *, removed: bool = False) -> Record:
    """The catalog's view of a paper: catalog fields, sections and the listed/removed flag."""
    return normalize_record(
        {
            "title": paper.title,
            "method": paper.method,
            "venue": paper.venue.label() if paper.venue else None,
            "year": paper.year,
            "url": paper.url,
            "code": paper.code_url,
            "arxiv": paper.ids.arxiv,
            "doi": paper.ids.doi,
            "authors": paper.authors,
            "abstract": paper.abstract,
            "citekey": paper.citekey,
            "sections": frozenset(section_key(p) for p in paper.sections),
            "catalog": "removed" if removed else "listed",
        }
    )
