"""Line-based three-way text merge for the user's notes.

The notes are the one thing users spend years writing, so the rule here is simple: a merge
may combine, it may mark, it never drops. Edits from the two sides that touch different lines
merge cleanly (classic diff3); edits that overlap are kept *both*, between marker lines, and
the caller records a conflict for the user to tidy up.

Why our own diff3 instead of a package: the well-kept ``merge3`` package on PyPI (Breezy's) is
GPL-2.0-or-later, which this MIT project cannot take on as a runtime dependency. The algorithm
is small and standard: match each side against the base with ``difflib.SequenceMatcher``
(``autojunk`` off, so frequent lines such as blank lines are never treated as junk), keep the
regions where all three agree, and decide every region between them.

Why these markers rather than git's ``<<<<<<<``/``=======``/``>>>>>>>``: the merged text is
markdown that Obsidian renders and that round-trips through a Zotero HTML note. In markdown a
``>>>>>>>`` line is a nested block quote and a ``=======`` line under text is a heading
underline, so git's markers would be re-rendered and the round trip would change the text.
Our markers are plain paragraphs, each set off by blank lines, so they survive both renderers
unchanged and stay easy to find (search for ``PLLM-SYNC CONFLICT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

MARKER_PREFIX = "PLLM-SYNC CONFLICT:"
"""Every marker line starts with this; ``has_conflict_markers`` looks for it."""


def marker_start(label: str) -> str:
    return (
        f"{MARKER_PREFIX} {label} version follows (both sides edited this passage; keep what "
        f"you want, then delete the {MARKER_PREFIX.rstrip(':')} lines)"
    )


def marker_middle(label: str) -> str:
    return f"{MARKER_PREFIX} {label} version follows"


MARKER_END = f"{MARKER_PREFIX} end"


@dataclass(frozen=True)
class TextMergeResult:
    """The merged text and whether any passage had to be kept twice between markers."""

    text: str
    conflict: bool


def has_conflict_markers(text: str) -> bool:
    """True when ``text`` still holds a marked conflict the user has not tidied up."""
    return any(line.startswith(MARKER_PREFIX) for line in text.split("\n"))


def split_lines(text: str) -> list[str]:
    """Lines without their ``\\n``; ``"\\n".join(split_lines(t)) == t`` for every ``t``."""
    return text.split("\n") if text else []


def _matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int]]:
    sm = SequenceMatcher(None, a, b, autojunk=False)
    return [(m.a, m.b, m.size) for m in sm.get_matching_blocks()]


Region = tuple[int, int, int, int, int, int]
"""A stable region: base[b0:b1] == ours[o0:o1] == theirs[t0:t1]."""


def _stable_regions(base: list[str], ours: list[str], theirs: list[str]) -> list[Region]:
    """Regions where all three texts agree, in order, ending with an empty sentinel region.

    The intersection, in base coordinates, of the base-ours and base-theirs matching blocks.
    """
    om = _matching_blocks(base, ours)
    tm = _matching_blocks(base, theirs)
    out: list[Region] = []
    i = j = 0
    while i < len(om) and j < len(tm):
        ob, oo, olen = om[i]
        tb, tt, tlen = tm[j]
        lo = max(ob, tb)
        hi = min(ob + olen, tb + tlen)
        if lo < hi:
            o0 = oo + (lo - ob)
            t0 = tt + (lo - tb)
            out.append((lo, hi, o0, o0 + hi - lo, t0, t0 + hi - lo))
        if ob + olen < tb + tlen:
            i += 1
        else:
            j += 1
    out.append((len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return out


class _Writer:
    """Collects output lines and keeps every marker line a paragraph of its own."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._pad = False  # a marker was just written; the next content needs a blank first

    def content(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        if self._pad and lines[0] != "":
            self.lines.append("")
        self._pad = False
        self.lines.extend(lines)

    def marker(self, line: str) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.lines.append(line)
        self._pad = True


def _conflict(w: _Writer, ours: list[str], theirs: list[str], ol: str, tl: str) -> None:
    """Write both versions of an overlapping passage; lines both sides share at its start and
    end are written once, outside the markers (as git's zdiff3 does)."""
    n = 0
    while n < min(len(ours), len(theirs)) and ours[n] == theirs[n]:
        n += 1
    m = 0
    while m < min(len(ours), len(theirs)) - n and ours[-1 - m] == theirs[-1 - m]:
        m += 1
    w.content(ours[:n])
    w.marker(marker_start(ol))
    w.content(ours[n : len(ours) - m])
    w.marker(marker_middle(tl))
    w.content(theirs[n : len(theirs) - m])
    w.marker(MARKER_END)
    w.content(ours[len(ours) - m :])


def merge3(
    base: str,
    ours: str,
    theirs: str,
    *,
    ours_label: str = "zotero",
    theirs_label: str = "vault",
) -> TextMergeResult:
    """Three-way merge of ``ours`` and ``theirs`` (both edited from ``base``), line by line.

    A passage changed on one side only takes that side's lines; changed identically on both,
    it is taken once; changed differently on both (including edits on adjacent lines and an
    edit against a deletion), both versions are written between marker lines and
    ``conflict`` is True. Every line of ``ours`` and of ``theirs`` that is not in ``base``
    appears in the result.
    """
    if ours == theirs:
        return TextMergeResult(ours, False)
    if ours == base:
        return TextMergeResult(theirs, False)
    if theirs == base:
        return TextMergeResult(ours, False)
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    w = _Writer()
    conflict = False
    bi = oi = ti = 0
    for b0, b1, o0, o1, t0, t1 in _stable_regions(b, o, t):
        bc, oc, tc = b[bi:b0], o[oi:o0], t[ti:t0]
        if oc == tc:
            w.content(oc)
        elif oc == bc:
            w.content(tc)
        elif tc == bc:
            w.content(oc)
        else:
            conflict = True
            _conflict(w, oc, tc, ours_label, theirs_label)
        w.content(b[b0:b1])
        bi, oi, ti = b1, o1, t1
    return TextMergeResult("\n".join(w.lines), conflict)


def merge_union(
    ours: str, theirs: str, *, ours_label: str = "zotero", theirs_label: str = "vault"
) -> TextMergeResult:
    """Two-way merge for texts with no common base (a paper never synced, or a lost state).

    Without a base there is no telling an addition on one side from a deletion on the other,
    so the merge keeps the union: shared lines once, lines only one side has are kept, and
    passages the sides wrote differently at the same place are kept both, between markers
    (``conflict`` True). A deletion made before the state was lost may therefore come back;
    nothing written is ever dropped.
    """
    if ours == theirs or not theirs:
        return TextMergeResult(ours, False)
    if not ours:
        return TextMergeResult(theirs, False)
    # The result must not depend on which side is which (the alignment of repeated lines can),
    # so the union is computed in a fixed order of the two texts; each version keeps its own
    # label, so in a conflict either version may come first between the markers.
    if ours <= theirs:
        return _union(ours, theirs, ours_label, theirs_label)
    return _union(theirs, ours, theirs_label, ours_label)


def _union(ours: str, theirs: str, ours_label: str, theirs_label: str) -> TextMergeResult:
    o, t = split_lines(ours), split_lines(theirs)
    w = _Writer()
    conflict = False
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, o, t, autojunk=False).get_opcodes():
        if tag == "equal" or tag == "delete":
            w.content(o[i1:i2])
        elif tag == "insert":
            w.content(t[j1:j2])
        else:
            conflict = True
            _conflict(w, o[i1:i2], t[j1:j2], ours_label, theirs_label)
    return TextMergeResult("\n".join(w.lines), conflict)
