"""Turn the ~75 venue spellings of the catalogs into ``Venue`` values.

Examples from the upstream lists: ``EMNLP'23 Findings``, ``ACL Findings'25``,
``CustomNLP4U@  EMNLP'24``, ``WWW '24``, ``WebConf'24``, ``NuerIPS'23``, ``Arxiv'24``,
``(arXiv'24) <br> ICLR'25``, ``ICLR'26 (Arxiv'25)``, ``Arxiv'25, EMNLP Findings'25``,
``NeurIPS'24 (Best Paper)``, ``TMLR(09/2025), Journal Submissions``, ``(Arxiv'25) IEEE TMC``,
and bullet tags ``2024 EMNLP``, ``2026 Arxiv-2603``, ``2024 NeurIPS Workshop``, ``2024 GitHub``.

A venue string may name several venues (a preprint and where it was published); the
published one wins, since that is what a reader cites. ``raw`` keeps the list's spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..model import Venue, VenueKind, normalize_whitespace
from .markdown_text import strip_html, strip_markdown

C, J, P, W, OTHER = (
    VenueKind.CONFERENCE,
    VenueKind.JOURNAL,
    VenueKind.PREPRINT,
    VenueKind.WORKSHOP,
    VenueKind.OTHER,
)

# key (lowercase alphanumerics) -> (display name, kind). Misspellings seen upstream included.
_KNOWN: dict[str, tuple[str, VenueKind]] = {}


def _add(name: str, kind: VenueKind, *aliases: str) -> None:
    for a in (name, *aliases):
        _KNOWN[re.sub(r"[^a-z0-9]", "", a.lower())] = (name, kind)


_CONFERENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NeurIPS", ("NIPS", "NuerIPS", "NuerIPSd", "NeurlPS", "NeuIPS", "NeruIPS")),
    ("ICLR", ()),
    ("ICML", ()),
    ("ACL", ()),
    ("EMNLP", ()),
    ("NAACL", ()),
    ("EACL", ()),
    ("AACL", ("AACL-IJCNLP", "IJCNLP-AACL")),
    ("COLING", ()),
    ("CoNLL", ()),
    ("LREC", ("LREC-COLING",)),
    ("SIGDIAL", ()),
    ("INLG", ()),
    ("COLM", ()),
    ("CIKM", ()),
    ("WSDM", ()),
    ("SIGIR", ()),
    ("SIGIR-AP", ()),
    ("KDD", ("SIGKDD",)),
    ("WWW", ("WebConf", "TheWebConf", "The Web Conference", "Web Conference")),
    ("AAAI", ()),
    ("IJCAI", ()),
    ("CVPR", ()),
    ("ICCV", ()),
    ("ECCV", ()),
    ("WACV", ()),
    ("BMVC", ()),
    ("ACM MM", ("MM", "ACMMM")),
    ("ICME", ()),
    ("ICASSP", ()),
    ("Interspeech", ()),
    ("DAC", ()),
    ("IALP", ()),
    ("ICTIR", ()),
    ("ICDM", ("ICMD",)),
    ("ICDE", ()),
    ("SIGMOD", ()),
    ("VLDB", ()),
    ("UMAP", ("ACM UMAP",)),
    ("RecSys", ("ACM RecSys",)),
    ("ECIR", ()),
    ("WI-IAT", ("WI IAT",)),
    ("PMLR", ()),
    ("AISTATS", ()),
    ("UAI", ()),
    ("MLSys", ()),
    ("ICWSM", ()),
    ("CHI", ()),
    ("CSCW", ()),
    ("UIST", ()),
    ("IUI", ()),
    ("SDM", ()),
    ("PAKDD", ()),
    ("ECML-PKDD", ("ECML", "ECML PKDD")),
    ("NLPCC", ()),
    ("AIED", ()),
    ("EDM", ()),
    ("LAK", ()),
)
_JOURNALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("TMLR", ()),
    ("TACL", ()),
    ("JMLR", ()),
    ("IEEE TMC", ("TMC",)),
    ("IEEE TPAMI", ("TPAMI", "PAMI")),
    ("IEEE TKDE", ("TKDE",)),
    ("IEEE TASLP", ("TASLP",)),
    ("ACM TOIS", ("TOIS",)),
    ("ACM TIST", ("TIST",)),
    ("ACM TKDD", ("TKDD",)),
    ("ACM Computing Surveys", ("CSUR",)),
    ("Computational Linguistics", ()),
    ("JAIR", ()),
    ("Nature", ()),
    ("Nature Machine Intelligence", ()),
    ("Science", ()),
    ("PNAS", ()),
    ("Information Fusion", ()),
    ("Neurocomputing", ()),
    ("Knowledge-Based Systems", ("KBS",)),
)
_PREPRINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("arXiv", ("Arxiv", "ArXiv preprint", "preprint")),
    ("bioRxiv", ()),
    ("medRxiv", ()),
    ("SSRN", ()),
)
_WORKSHOPS: tuple[tuple[str, tuple[str, ...]], ...] = (("PERSONALIZE", ()),)
_OTHERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GitHub", ("Github",)),
    ("Blog", ()),
    ("Website", ()),
    ("Technical Report", ("Tech Report",)),
)
for _table, _kind in (
    (_CONFERENCES, C),
    (_JOURNALS, J),
    (_PREPRINTS, P),
    (_WORKSHOPS, W),
    (_OTHERS, OTHER),
):
    for _n, _a in _table:
        _add(_n, _kind, *_a)

_NOTES: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"\bbest\s+paper(?:\s+award)?\b", re.I), "Best Paper"),
    (re.compile(r"\boutstanding\s+paper(?:\s+award)?\b", re.I), "Outstanding Paper"),
    (re.compile(r"\boral\b", re.I), "Oral"),
    (re.compile(r"\bspotlight\b", re.I), "Spotlight"),
    (re.compile(r"\bdemo(?:nstrations?|s)?(?:\s+track)?\b", re.I), "Demo"),
    (re.compile(r"\bjournal\s+submissions?\b", re.I), None),
    (re.compile(r"\bunder\s+review\b", re.I), None),
)
_MONTH_YEAR = re.compile(r"\(\s*\d{1,2}\s*/\s*((?:19|20)\d{2})\s*\)")
_ARXIV_YYMM = re.compile(r"\b(arxiv)[\s\-_]*(\d{2})(0[1-9]|1[0-2])(\d{2})?(?!\d)", re.I)
"""``Arxiv-2503`` (March 2025). The month must be a month, so ``arXiv 2023`` is a year."""
_APOS_YEAR = re.compile(r"\s*['’‘`´]\s*(\d{2})(?!\d)")
_FULL_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_WORKSHOP = re.compile(r"\bworkshops?\b", re.I)
_FINDINGS = re.compile(r"\bfindings(?:\s+of)?\b", re.I)
_SPLIT = re.compile(r"[,;()\[\]]|\s/\s")


@dataclass(frozen=True)
class _Part:
    name: str | None
    year: int | None
    kind: VenueKind
    findings: bool
    workshop: bool


_RANK = {C: 3, J: 3, W: 3, VenueKind.UNKNOWN: 2, P: 1, OTHER: 0}


def known_venue(text: str) -> tuple[str, VenueKind] | None:
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    if not key:
        return None
    if key in _KNOWN:
        return _KNOWN[key]
    for prefix in ("acm", "ieee", "the"):
        if key.startswith(prefix) and key[len(prefix) :] in _KNOWN:
            return _KNOWN[key[len(prefix) :]]
    return None


def _parse_part(text: str) -> _Part | None:
    """One venue mention (``EMNLP Findings'25``, ``CustomNLP4U@ EMNLP'24``, ``Arxiv-2503``)."""
    t = normalize_whitespace(text).strip(" .,;:-")
    if not t:
        return None
    if "@" in t:
        left, _, right = t.partition("@")
        conf = _parse_part(right)
        ws = normalize_whitespace(left).strip(" .,;:-")
        if conf is None or conf.name is None:
            return _Part(ws or None, conf.year if conf else None, W, False, True)
        return _Part(f"{ws}@{conf.name}" if ws else conf.name, conf.year, W, conf.findings, True)
    year: int | None = None
    m = _ARXIV_YYMM.search(t)
    if m:
        year = 2000 + int(m.group(2))
        t = t[: m.start()] + m.group(1) + t[m.end() :]
    else:
        m = _APOS_YEAR.search(t)
        if m:
            year = 2000 + int(m.group(1))
            t = t[: m.start()] + " " + t[m.end() :]
    m = _FULL_YEAR.search(t)
    if m:
        if year is None:
            year = int(m.group(1))
        t = _FULL_YEAR.sub(" ", t)
    findings = bool(_FINDINGS.search(t))
    t = _FINDINGS.sub(" ", t)
    workshop = bool(_WORKSHOP.search(t))
    bare = normalize_whitespace(_WORKSHOP.sub(" ", t)).strip(" .,;:-'")
    if not bare:
        if year is None and not workshop:
            return None
        return _Part(None, year, W if workshop else VenueKind.UNKNOWN, findings, workshop)
    known = known_venue(bare)
    if known is not None:
        name, kind = known
    else:
        name = bare
        low = bare.lower()
        if "journal" in low or "transactions" in low:
            kind = J
        elif "rxiv" in low or "preprint" in low:
            kind = P
        else:
            kind = VenueKind.UNKNOWN
    if workshop and kind is not P:
        return _Part(f"{name} Workshop", year, W, findings, True)
    return _Part(name, year, kind, findings, kind is W)


@lru_cache(maxsize=8192)
def parse_venue(raw: str | None) -> Venue | None:
    """A ``Venue`` for a venue cell or tag; None when the text is empty."""
    if raw is None:
        return None
    text, _ = strip_html(raw.replace("<br>", " , ").replace("<br/>", " , "))
    text = strip_markdown(text)
    shown = normalize_whitespace(raw)
    if not text.strip(" ,;"):
        return None
    notes: list[str] = []
    for pattern, note in _NOTES:
        if pattern.search(text):
            text = pattern.sub(" ", text)
            if note and note not in notes:
                notes.append(note)
    text = _MONTH_YEAR.sub(lambda m: f" {m.group(1)} ", text)
    parts = [p for p in (_parse_part(s) for s in _SPLIT.split(text)) if p is not None]
    note = ", ".join(notes) or None
    if not parts:
        return Venue(raw=shown, note=note)
    best = parts[0]
    for p in parts[1:]:
        if _RANK[p.kind] > _RANK[best.kind]:
            best = p
    if best.name is None:
        # Only a year (and maybe 'Workshop'): keep what we know.
        named = next((p for p in parts if p.name), None)
        if named is not None:
            best = named
    return Venue(
        raw=shown,
        name=best.name,
        year=best.year,
        kind=best.kind,
        findings=best.findings,
        workshop=best.workshop,
        note=note,
    )


_TAG_YEAR = re.compile(r"^\s*((?:19|20)\d{2})\b")
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june"
    "|july|august|september|october|november|december"
)
_DATE_ONLY = re.compile(
    rf"^\s*(?:(?P<y1>(?:19|20)\d{{2}})(?:\s*[./\-年]\s*\d{{1,2}}(?:\s*[./\-月]\s*\d{{1,2}})?)?"
    rf"|(?:{_MONTHS})\.?\s*,?\s*(?P<y2>(?:19|20)\d{{2}})"
    rf"|\d{{1,2}}\s*[./\-]\s*\d{{1,2}}\s*[./\-]\s*(?P<y3>(?:19|20)\d{{2}})"
    rf"|(?P<y4>\d{{2}})\.(?:0[1-9]|1[0-2]))\s*日?\s*$",
    re.IGNORECASE,
)


def date_tag_year(text: str) -> int | None:
    """The year of a tag or cell that is only a date: ``2025/04``, ``2023.05.02``,
    ``Mar 2024``, ``2026-06-30``, ``07/07/2023``, ``24.01`` (YY.MM). None for anything else,
    so ``2024 NeurIPS`` stays a venue tag."""
    m = _DATE_ONLY.match(text)
    if not m:
        return None
    if m.group("y4"):
        return 2000 + int(m.group("y4"))
    return int(m.group("y1") or m.group("y2") or m.group("y3"))


def parse_tag(body: str) -> tuple[int | None, Venue | None]:
    """A bullet tag body (``2024 EMNLP``, ``2026 Arxiv-2603``) -> (tag year, venue).

    The venue's own year wins where it has one (``2024 Arxiv-2502`` is an arXiv paper of
    2025: the list's year is when it was added, the YYMM is when it appeared); otherwise the
    tag year is the venue year.
    """
    date_year = date_tag_year(body)
    if date_year is not None:
        return date_year, None
    m = _TAG_YEAR.match(body)
    tag_year = int(m.group(1)) if m else None
    venue = parse_venue(body)
    if venue is not None and venue.year is None and tag_year is not None:
        venue = Venue(
            raw=venue.raw,
            name=venue.name,
            year=tag_year,
            kind=venue.kind,
            findings=venue.findings,
            workshop=venue.workshop,
            note=venue.note,
        )
    if tag_year is None and venue is not None:
        tag_year = venue.year
    return tag_year, venue
