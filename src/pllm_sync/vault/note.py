"""The paper note format: which frontmatter keys are ours, how they map to the canonical
record, and how a change to the record becomes the smallest possible edit of the file.

Keys we own (lowercase-kebab, in the order a new note gets them)::

    pllm-sync-id title aliases authors year venue method arxiv doi citekey url code zotero
    sections tags status rating added catalog [sync-conflict]

The record field ``abstract`` is not a key: it is read from (and written to) the abstract
callout of the managed region.

Every other key belongs to the user and is never read for the record, moved or rewritten.
Of our keys, ``aliases`` is shared (we only ever add a retitled paper's old title) and
``added`` is written once, at creation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..model import Paper
from ..record import (
    MANAGED_TAG_PREFIX,
    SECTION_SEP,
    Record,
    canonical_tag,
    normalize_record,
    syncable_tag,
)
from . import body as body_mod
from . import frontmatter_block as fb
from .sections import parse_wikilink
from .yamlio import WikiLink, plain_lines, plain_values

ID_KEY = "pllm-sync-id"
CONFLICT_KEY = "sync-conflict"
OWNED_KEYS: tuple[str, ...] = (
    ID_KEY,
    "title",
    "aliases",
    "authors",
    "year",
    "venue",
    "method",
    "arxiv",
    "doi",
    "citekey",
    "url",
    "code",
    "zotero",
    "sections",
    "tags",
    "status",
    "rating",
    "added",
    "catalog",
    CONFLICT_KEY,
)
_STRING_FIELDS = (
    "title",
    "venue",
    "method",
    "arxiv",
    "doi",
    "citekey",
    "url",
    "code",
    "status",
)
_INT_FIELDS = ("year", "rating")
TEXT_KEYS = frozenset((ID_KEY, *_STRING_FIELDS))
"""Keys read as the text typed even when YAML would see a number (``arxiv: 2310.10100``)."""
CANDIDATE_KEYS = ("arxiv", "doi", "url")
"""A note without an id but with one of these is a paper the user added by hand."""

_ZOTERO_KEY = re.compile(r"/items/([A-Za-z0-9]{8})\b")


def zotero_link(key: str, library_type: str = "user", library_id: str | None = None) -> str:
    """The link that opens the item in the Zotero app."""
    if library_type == "group" and library_id:
        return f"zotero://select/groups/{library_id}/items/{key}"
    return f"zotero://select/library/items/{key}"


def zotero_key_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    m = _ZOTERO_KEY.search(value)
    return m.group(1) if m else None


# --- reading ----------------------------------------------------------------------------------


def _scalar_text(v: Any) -> str | None:
    if type(v) is str:  # nearly every value read: first
        return v
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, str | int | float):
        return str(v)
    if isinstance(v, list):
        parts = [t for t in (_scalar_text(x) for x in v) if t]
        return ", ".join(parts) or None
    return None


def _text_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [t for t in (_scalar_text(x) for x in v) if t]
    t = _scalar_text(v)
    return [t] if t else []


def author_name(text: str) -> str:
    """An author as a person writes one in Obsidian, as the plain name the record holds:
    a link to a person's note (``[[John Roe]]``, ``[[People/John Roe|J. Roe]]``) is the
    name it shows. Taken as written, a link reached Zotero as first name ``[[John`` and
    last name ``Roe]]``. (``Doe, Jane`` stays as written: Zotero's side splits it.)"""
    link = parse_wikilink(text)
    if link is not None:
        text = link.alias or link.target.rsplit("/", 1)[-1]
    return " ".join(text.split())


def _author_list(v: Any) -> list[str]:
    """Authors as written: a list, or one line of names (``A; B``, ``A and B``, or
    ``Jane Doe, John Roe`` where every part is a whole name; ``Doe, Jane`` is one)."""
    if isinstance(v, str):
        t = v.strip()
        if ";" in t:
            parts = t.split(";")
        elif " and " in t:
            parts = t.split(" and ")
        else:
            parts = t.split(",")
            if len(parts) < 2 or not all(" " in p.strip() for p in parts):
                parts = [t]
        v = [p for p in parts if p.strip()]
    return [n for n in (author_name(a) for a in _text_list(v)) if n]


def _tag_list(v: Any) -> list[str]:
    """Tags as written: a block list, or a string of comma/space separated tags."""
    if isinstance(v, str):
        return [t for t in re.split(r"[,\s]+", v) if t]
    return _text_list(v)


def _no_number(v: Any) -> bool:
    """A value given that is no whole number (empty and absent are not: they clear it)."""
    return v is not None and v != "" and _int(v) is None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return None
    return None


def raw_record(
    values: dict[str, Any], notes: str, abstract: str | None = None, *, has_region: bool = True
) -> Record:
    """The record as the frontmatter states it, except ``sections``, which stays the tuple of
    raw entries (links) until :func:`resolve_sections` maps them to keys. JSON-friendly.

    A body without an intact managed region (its markers deleted or doubled, a note made
    from a template without one) says nothing about ``abstract``: the field is left out
    (no change), never read as cleared. Read as cleared, such a note once emptied the
    abstract in Zotero."""
    rec: Record = {f: _scalar_text(values.get(f)) for f in _STRING_FIELDS}
    rec["title"] = rec["title"] or ""
    for f in _INT_FIELDS:
        value = values.get(f)
        if not _no_number(value):
            rec[f] = _int(value)
        # else (``circa 2020``) the note says nothing about the field (it once cleared
        # Zotero's date); the scan warns (``unreadable_numbers``)
    rec["authors"] = _author_list(values.get("authors"))
    rec["tags"] = _tag_list(values.get("tags"))
    rec["sections"] = _text_list(values.get("sections"))
    rec["catalog"] = "removed" if _scalar_text(values.get("catalog")) == "removed" else "listed"
    rec["notes"] = notes
    if has_region:
        rec["abstract"] = abstract
    return rec


def canonical_raw(raw: Record) -> Record:
    """``raw`` with every field but ``sections`` normalised; ``sections`` stays a tuple of
    raw entries. Scans cache this form, so a warm scan only has to resolve sections."""
    rec = normalize_record({k: v for k, v in raw.items() if k != "sections"})
    rec["sections"] = tuple(raw.get("sections") or ())
    return rec


def resolve_sections(
    raw: Record,
    key_for: Callable[[str], str | None],
    memo: dict[tuple[str, ...], frozenset[str]] | None = None,
) -> Record:
    """The canonical record (see ``record.py``): raw section entries mapped to section
    keys. ``raw`` normally comes from :func:`canonical_raw`; anything else (e.g. a cache
    entry that went through JSON as lists) is normalised first. ``memo``: the keys of each
    tuple of entries already resolved with the same ``key_for`` (thousands of notes of a
    scan list the same few sections)."""
    if not (isinstance(raw.get("tags"), frozenset) and isinstance(raw.get("authors"), tuple)):
        raw = canonical_raw(raw)
    rec = dict(raw)
    entries = raw.get("sections", ())
    keys = memo.get(entries) if memo is not None else None
    if keys is None:
        keys = frozenset(k for k in (key_for(s) for s in entries) if k)
        if memo is not None:
            memo[entries] = keys
    rec["sections"] = keys
    return rec


@dataclass
class ParsedNote:
    """A note's text taken apart: frontmatter document, body parts, and our reading of it."""

    doc: fb.Document
    parts: body_mod.BodyParts
    pllm_id: str | None
    raw: Record
    zotero_key: str | None
    conflict_flag: bool

    @property
    def values(self) -> dict[str, Any]:
        return self.doc.values

    @property
    def is_candidate(self) -> bool:
        return self.pllm_id is None and any(
            _scalar_text(self.values.get(k)) for k in CANDIDATE_KEYS
        )


def parse_note(text: str, *, quick: bool = False) -> ParsedNote:
    """Parse a note (raises ``FrontmatterProblem`` for unreadable frontmatter). ``quick``:
    skip the YAML when the frontmatter cannot contain our id."""
    return _reading(fb.parse(text, quick_key=ID_KEY if quick else None, text_keys=TEXT_KEYS))


def _reading(doc: fb.Document, parts: body_mod.BodyParts | None = None) -> ParsedNote:
    if parts is None:
        parts = body_mod.split_body(doc.body)
    values = doc.values
    pid = _scalar_text(values.get(ID_KEY))
    pid = pid.strip() if pid else None
    return ParsedNote(
        doc=doc,
        parts=parts,
        pllm_id=pid or None,
        raw=canonical_raw(
            raw_record(
                values,
                body_mod.notes_of(parts),
                body_mod.abstract_of(parts),
                has_region=parts.has_region,
            )
        ),
        zotero_key=zotero_key_of(values.get("zotero")),
        conflict_flag=values.get(CONFLICT_KEY) is True,
    )


# --- writing ----------------------------------------------------------------------------------


def _merge_list(
    existing: list[str], wanted: Iterable[str], canon: Callable[[str], Any]
) -> list[str]:
    """``wanted`` (canonical values) as a list that keeps the user's existing entries, in
    their order and spelling, for the values that stay; new values are appended sorted."""
    wanted_set = set(wanted)
    out: list[Any] = []
    kept: set[Any] = set()
    for entry in existing:
        c = canon(entry)
        if c in wanted_set and c not in kept:
            out.append(entry)
            kept.add(c)
    out.extend(sorted(wanted_set - kept, key=str.casefold))
    return out


def tags_value(existing: list[str], tags: Iterable[str]) -> list[str]:
    """The ``tags`` list for a set of user tags. Tags we cannot represent in the record
    (``pllm/...``, and tags longer than Zotero takes) that the user wrote stay."""
    keep = [
        t
        for t in existing
        if (c := canonical_tag(t) or "").startswith(MANAGED_TAG_PREFIX) or not syncable_tag(c)
    ]
    return _merge_list(existing, tags, canonical_tag) + keep


def unreadable_numbers(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """``year`` and ``rating`` values that are no whole number: kept in the note, not
    synced (the scan warns)."""
    return [(f, values[f]) for f in _INT_FIELDS if _no_number(values.get(f))]


def unsyncable_tags(values: dict[str, Any]) -> list[str]:
    """Tags in the note too long for Zotero (kept in the note, never synced)."""
    return [t for t in _tag_list(values.get("tags")) if not syncable_tag(canonical_tag(t) or "")]


def sections_value(
    existing: list[str],
    keys: Iterable[str],
    key_for: Callable[[str], str | None],
    link_for: Callable[[str], WikiLink],
) -> list[str]:
    keys = set(keys)
    out: list[str] = []
    kept: set[str] = set()
    for entry in existing:
        k = key_for(entry)
        if k in keys and k not in kept:
            out.append(WikiLink(entry) if entry.lstrip().startswith("[[") else entry)
            kept.add(k)
    out.extend(link_for(k) for k in sorted(keys - kept, key=lambda k: k.split(SECTION_SEP)))
    return out


def frontmatter_for_new(
    paper: Paper,
    record: Record,
    *,
    section_links: list[WikiLink],
    zotero: str | None,
    added: dt.date,
) -> dict[str, Any]:
    """All owned keys for a brand-new note, in their canonical order. ``record`` is in
    canonical form (``normalize_record``; the store has just made it so)."""
    r = record
    # an empty title is kept empty (an untitled item filed by hand in Zotero): the paper's
    # stand-in title is its id, which the next sync read back as the user's title and
    # wrote into Zotero
    title = r["title"] if isinstance(r.get("title"), str) else paper.title
    fm: dict[str, Any] = {
        ID_KEY: paper.id,
        "title": title,
        "aliases": [],
        "authors": list(r.get("authors", paper.authors)),
        "year": r.get("year", paper.year),
        "venue": r.get("venue", paper.venue.label() if paper.venue else None),
        "method": r.get("method", paper.method),
        "arxiv": r.get("arxiv", paper.ids.arxiv),
        "doi": r.get("doi", paper.ids.doi),
        "citekey": r.get("citekey", paper.citekey),
        "url": r.get("url", paper.url),
        "code": r.get("code", paper.code_url),
    }
    if zotero:
        fm["zotero"] = zotero
    fm["sections"] = section_links
    fm["tags"] = sorted(r.get("tags", frozenset()), key=str.casefold)
    fm["status"] = r.get("status")
    fm["rating"] = r.get("rating")
    fm["added"] = added
    fm["catalog"] = r.get("catalog") or "listed"
    return fm


def render_new_note(frontmatter: dict[str, Any], region: str, notes: str) -> str:
    from .yamlio import dump_mapping

    return _new_text(dump_mapping(frontmatter), region, notes)


def _new_text(head: str, region: str, notes: str) -> str:
    text = "---\n" + head + "---\n" + region
    notes = notes.strip("\n")
    if notes:
        text += "\n" + notes + "\n"
    return text


_SPANS: dict[tuple[int, int], fb.KeySpan] = {}
"""Spans are immutable and every new note has nearly the same ones: made once each."""


def render_new_note_read(
    frontmatter: dict[str, Any], region: str, notes: str
) -> tuple[str, ParsedNote]:
    """:func:`render_new_note` and the note's reading (what :func:`parse_note` of that text
    gives). When every value is plain the reading is built from the values just written,
    without parsing the YAML again (a pull writes thousands of notes); otherwise the text
    is parsed. tests/vault/test_yaml_fast_emitter.py holds the two equal."""
    yaml_lines = plain_lines(frontmatter)
    if yaml_lines is None:
        text = render_new_note(frontmatter, region, notes)
        return text, parse_note(text)
    head = "".join(yaml_lines)
    text = _new_text(head, region, notes)
    spans: dict[str, fb.KeySpan] = {}
    line = 0
    for key, value in frontmatter.items():
        end = line + 1 + (len(value) if type(value) is list else 0)
        span = _SPANS.get((line, end))
        if span is None:
            span = fb.KeySpan(line, end)
            if len(_SPANS) < 4096:
                _SPANS[line, end] = span
        spans[key] = span
        line = end
    prefix = "---\n"
    body = text[len(prefix) + len(head) + len("---\n") :]
    doc = fb.Document(
        text=text,
        newline="\n",
        has_frontmatter=True,
        prefix=prefix,
        yaml_lines=yaml_lines,
        closing="---\n",
        body=body,
        values=plain_values(frontmatter, TEXT_KEYS),
        spans=spans,
    )
    return text, _reading(doc, _region_parts(body, region))


def _region_parts(body: str, region: str) -> body_mod.BodyParts | None:
    """``split_body(body)`` without searching it, for a new note's body: ``region`` (as
    ``render_region`` writes it: the begin marker first, the end marker on the last line,
    no other marker) followed by notes that name no marker. None when it is not that."""
    if (
        region.startswith(body_mod.BEGIN)
        and region.endswith("\n" + body_mod.END + "\n")
        and region.count("pllm-sync:") == 2
        and body.startswith(region)
        and "pllm-sync:" not in body[len(region) :]
    ):
        return body_mod.BodyParts("", region, body[len(region) :], True)
    return None
