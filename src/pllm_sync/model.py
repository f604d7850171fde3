"""The one canonical record type that flows through pllm-sync.

Every adapter (catalog parsers, the Zotero store, the vault store) turns its native form into
these plain values, and the merge in the middle only ever sees them. Keeping them small,
immutable where possible and free of IO is what lets the merge be pure and property-tested.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

SectionPath = tuple[str, ...]
"""A path of section names from the list's top heading down, e.g.
``("Awesome Personalized Large Language Models (PLLMs)", "Personalized Prompting",
"Profile-Augmented Prompting (PAG)")``."""


class VenueKind(StrEnum):
    """What sort of publication a venue is; drives the Zotero item type."""

    CONFERENCE = "conference"
    WORKSHOP = "workshop"
    JOURNAL = "journal"
    PREPRINT = "preprint"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Venue:
    """A normalised venue. ``raw`` always keeps the catalog's own spelling."""

    raw: str
    name: str | None = None
    year: int | None = None
    kind: VenueKind = VenueKind.UNKNOWN
    findings: bool = False
    workshop: bool = False
    note: str | None = None  # e.g. "Best Paper", kept because Zotero has no field for it

    def label(self) -> str:
        """Human-readable short form, e.g. ``EMNLP 2024 Findings``."""
        if not self.name:
            return self.raw.strip()
        parts = [self.name]
        if self.year:
            parts.append(str(self.year))
        if self.findings:
            parts.append("Findings")
        if self.workshop and self.kind is not VenueKind.WORKSHOP:
            parts.append("Workshop")
        return " ".join(parts)


@dataclass(frozen=True)
class PaperIds:
    """External identifiers. All are normalised (versionless arXiv id, lowercase DOI)."""

    arxiv: str | None = None
    doi: str | None = None
    openreview: str | None = None
    acl: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("arxiv", self.arxiv),
                ("doi", self.doi),
                ("openreview", self.openreview),
                ("acl", self.acl),
            )
            if v
        }

    def merged(self, other: PaperIds) -> PaperIds:
        """Fill gaps from ``other``; never overwrite an id we already have."""
        return PaperIds(
            arxiv=self.arxiv or other.arxiv,
            doi=self.doi or other.doi,
            openreview=self.openreview or other.openreview,
            acl=self.acl or other.acl,
        )


@dataclass(frozen=True)
class SourceRef:
    """Where an entry was read: the catalog source's name and the 1-based line number."""

    source: str
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Link:
    """A link found in an entry, with the role its label gave it (paper, code, website, ...)."""

    role: str
    url: str


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to show on a terminal: control, escape and bidi characters from the
    internet become visible escapes instead of moving the cursor or retitling the window."""
    return _UNPRINTABLE.sub(
        lambda m: (
            f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 256 else f"\\u{ord(m.group(0)):04x}"
        ),
        text,
    )


_TEMPLATE_CODE = re.compile(r"<%|%>")


def neutralise_template_code(text: str) -> str:
    """Text from outside (a catalog title or heading, a Zotero title, creator or venue) made
    inert for Obsidian's Templater plugin, which runs ``<% ... %>`` in a note it processes:
    each delimiter is split by a space (``< %``, ``% >``) so it reads the same and never runs.
    The one function every boundary applies (catalog/, zotero/ mapping)."""
    if "<%" not in text and "%>" not in text:
        return text
    return _TEMPLATE_CODE.sub(lambda m: " ".join(m.group(0)), text)


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (NBSP included) to one space and trim.

    ``str.split()`` splits on exactly what the regex ``\\s+`` matched here before (both
    follow ``str.isspace``, NBSP included), at a fraction of the cost of a regex pass."""
    return " ".join(text.split())


def normalize_title(title: str) -> str:
    """The title key used for identity: NFKD, lowercase, non-alphanumerics collapsed.

    Two spellings of one title (curly quotes, NBSP, a trailing period, case) share a key.
    """
    if title.isascii():  # NFKD leaves ASCII as it is, and no ASCII character combines
        ascii_ish = title.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", title)
        ascii_ish = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NON_ALNUM.sub(" ", ascii_ish).strip()


def title_hash(title: str) -> str:
    """A short stable hash of the normalised title, for papers with no external id."""
    return hashlib.sha1(normalize_title(title).encode("utf-8")).hexdigest()[:12]


def paper_id_for(ids: PaperIds, title: str) -> str:
    """The canonical pllm-sync id: arXiv, then DOI, OpenReview, ACL, then the title hash."""
    if ids.arxiv:
        return f"arxiv:{ids.arxiv}"
    if ids.doi:
        return f"doi:{ids.doi}"
    if ids.openreview:
        return f"openreview:{ids.openreview}"
    if ids.acl:
        return f"acl:{ids.acl}"
    return f"title:{title_hash(title)}"


@dataclass
class Paper:
    """One real paper, possibly listed in several sections and several lists.

    Fields the catalog owns (title, venue, year, method, urls, ids, sections) sit beside
    the ones only users write (tags, status, rating), so every side can be expressed in
    the same record and merged field by field.
    """

    id: str
    title: str
    method: str | None = None
    venue: Venue | None = None
    year: int | None = None
    url: str | None = None
    code_url: str | None = None
    links: tuple[Link, ...] = ()
    ids: PaperIds = field(default_factory=PaperIds)
    sections: tuple[SectionPath, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    # Filled by metadata enrichment (``pllm_sync.metadata``), never by the list parsers:
    date: str | None = None  # ISO date of the version described (YYYY-MM-DD or YYYY-MM)
    citekey: str | None = None  # Better BibTeX-style citation key, stable once given
    categories: tuple[str, ...] = ()  # arXiv categories, e.g. ("cs.CL", "cs.AI")
    pdf_url: str | None = None  # where the PDF is (arXiv's unversioned PDF link)

    def urls_by_role(self) -> dict[str, list[str]]:
        """Every link grouped by role, with ``paper`` and ``code`` first when present."""
        out: dict[str, list[str]] = {}
        if self.url:
            out.setdefault("paper", []).append(self.url)
        if self.code_url:
            out.setdefault("code", []).append(self.code_url)
        for link in self.links:
            bucket = out.setdefault(link.role, [])
            if link.url not in bucket:
                bucket.append(link.url)
        return out

    def to_json(self) -> dict[str, object]:
        """The ``pllm-sync catalog --format json`` shape."""
        return {
            "id": self.id,
            "title": self.title,
            "method": self.method,
            "venue": None
            if self.venue is None
            else {
                "raw": self.venue.raw,
                "name": self.venue.name,
                "year": self.venue.year,
                "kind": self.venue.kind.value,
                "findings": self.venue.findings,
                "workshop": self.venue.workshop,
                "note": self.venue.note,
                "label": self.venue.label(),
            },
            "year": self.year,
            "urls": self.urls_by_role(),
            "ids": self.ids.as_dict(),
            "sections": [list(p) for p in self.sections],
            "sources": [str(s) for s in self.sources],
            "authors": list(self.authors),
        }


def slugify(text: str, max_len: int = 60) -> str:
    """A stable, filesystem- and URL-safe slug (ASCII, lowercase, dashes)."""
    key = normalize_title(text).replace(" ", "-")
    return key[:max_len].strip("-") or "section"


@dataclass
class Section:
    """One node of a list's taxonomy tree. ``slug_path`` is the stable identity of the node."""

    name: str
    slug: str
    path: SectionPath
    children: list[Section] = field(default_factory=list)
    _by_name: dict[str, Section] = field(default_factory=dict, repr=False, compare=False)
    _slugs: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def slug_path(self) -> tuple[str, ...]:
        return tuple(slugify(p) for p in self.path)

    def child(self, name: str) -> Section:
        """Return the child called ``name``, creating it (with a unique slug) if missing.

        Indexed by name and slug, so a list with tens of thousands of sections (hostile or
        not) builds its tree in linear time."""
        if len(self._by_name) != len(self.children):  # children appended from outside
            self._by_name = {c.name: c for c in self.children}
            self._slugs = {c.slug for c in self.children}
        found = self._by_name.get(name)
        if found is not None:
            return found
        slug = slugify(name)
        base, n = slug, 2
        while slug in self._slugs:
            slug, n = f"{base}-{n}", n + 1
        node = Section(name=name, slug=slug, path=(*self.path, name))
        self.children.append(node)
        self._by_name[name] = node
        self._slugs.add(slug)
        return node

    def walk(self) -> Iterator[Section]:
        """This node and every descendant, parents before children."""
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass(frozen=True)
class CatalogWarning:
    """Something in a catalog that a user should know about; never fatal."""

    source: str
    line: int | None
    message: str
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        snippet = f" | {self.text[:120]}" if self.text else ""
        return printable(f"{where}: {self.message}{snippet}")


@dataclass
class Catalog:
    """All papers of all sources, deduplicated by identity, plus one taxonomy per list."""

    papers: list[Paper] = field(default_factory=list)
    taxonomies: dict[str, Section] = field(default_factory=dict)
    warnings: list[CatalogWarning] = field(default_factory=list)

    def by_id(self) -> dict[str, Paper]:
        return {p.id: p for p in self.papers}

    def section_nodes(self) -> Iterable[Section]:
        for root in self.taxonomies.values():
            yield from root.walk()
