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

What diff3 alone gets wrong is repeated lines: which of seven identical lines a side deleted
is a guess, so a run that wrote the merge to one side and stopped could, merging again next
time from the same base, apply a deletion twice or see a conflict that was not there. So a
side that already carries the other's changes is taken as the merge, and a clean merge is
only given when merging it again against either side gives it back; otherwise both versions
are kept between markers (see ``merge3``).

Why these markers rather than git's ``<<<<<<<``/``=======``/``>>>>>>>``: the merged text is
markdown that Obsidian renders and that round-trips through a Zotero HTML note. In markdown a
``>>>>>>>`` line is a nested block quote and a ``=======`` line under text is a heading
underline, so git's markers would be re-rendered and the round trip would change the text.
Our markers are plain paragraphs, each set off by blank lines, so they survive both renderers
unchanged and stay easy to find (search for ``PLLM-SYNC CONFLICT``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """Matching blocks of ``a`` and ``b``, the ``(len(a), len(b), 0)`` sentinel last."""
    sm = SequenceMatcher(None, a, b, autojunk=False)
    return [(m.a, m.b, m.size) for m in sm.get_matching_blocks()]


Region = tuple[int, int, int, int, int, int]
"""A stable region: base[b0:b1] == ours[o0:o1] == theirs[t0:t1]."""


Blocks = list[tuple[int, int, int]]
"""``SequenceMatcher`` matching blocks of the base against one side, sentinel last."""


def _stable_regions(
    base: list[str], ours: list[str], theirs: list[str], om: Blocks, tm: Blocks
) -> list[Region]:
    """Regions where all three texts agree, in order, ending with an empty sentinel region.

    The intersection, in base coordinates, of the base-ours and base-theirs matching blocks.
    """
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


@dataclass(frozen=True)
class _Passage:
    """One change a side made to the base, with the unchanged line on either side of it.

    ``lines`` is the side's text of it; ``base_lo:base_hi`` the base lines it stands for;
    ``cost`` the lines it inserts plus the lines it deletes, ``blanks`` how many of those
    are blank.
    """

    lines: list[str]
    base_lo: int
    base_hi: int
    cost: int
    blanks: int


def _passages(
    base: list[str], side: list[str], blocks: Blocks
) -> tuple[list[_Passage], bool, bool]:
    """The changes ``side`` made to ``base`` (under the alignment the merge uses), each with
    its unchanged neighbours; changes that share a neighbour make one passage.

    Also returns whether the first passage must open a text that carries them and the last
    end it (a change at the very start or end has no unchanged neighbour there).
    """
    to_base: dict[int, int] = {}
    for b0, s0, size in blocks:
        for k in range(size):
            to_base[s0 + k] = b0 + k
    spans: list[list[int]] = []
    first_open = last_close = False
    bi = si = 0
    for b0, s0, size in blocks:
        if b0 > bi or s0 > si:  # a change: base[bi:b0] became side[si:s0]
            lo, hi = si - 1, s0 + 1  # the unchanged neighbours, when there are any
            if si == 0:
                lo, first_open = 0, True
            if s0 >= len(side):
                hi, last_close = len(side), True
            if spans and lo < spans[-1][1]:
                spans[-1][1] = hi
            else:
                spans.append([lo, hi])
        bi, si = b0 + size, s0 + size
    out: list[_Passage] = []
    for n, (lo, hi) in enumerate(spans):
        blo = 0 if n == 0 and first_open else to_base[lo]
        bhi = len(base) if n == len(spans) - 1 and last_close else to_base[hi - 1] + 1
        kept = {to_base[i] for i in range(lo, hi) if i in to_base}
        inserted = [side[i] for i in range(lo, hi) if i not in to_base]
        deleted = [base[i] for i in range(blo, bhi) if i not in kept]
        blanks = sum(1 for ln in inserted + deleted if not ln.strip())
        out.append(_Passage(side[lo:hi], blo, bhi, len(inserted) + len(deleted), blanks))
    return out, first_open, last_close


_MAX_PLACES = 8
"""Where a passage occurs more often than this in the other text, later places are not tried
(the check then errs towards an ordinary merge)."""


def _places(text: list[str], part: list[str], start: int) -> list[int]:
    """Where ``part`` occurs in ``text`` at or after ``start`` (at most ``_MAX_PLACES``)."""
    n, out = len(part), []
    for i in range(start, len(text) - n + 1):
        if text[i : i + n] == part:
            out.append(i)
            if len(out) == _MAX_PLACES:
                break
    return out


def _distance(base: Sequence[str], text: Sequence[str], blocks: Blocks | None = None) -> int:
    """Lines inserted plus lines deleted on the way from ``base`` to ``text``."""
    kept = sum(
        size for _, _, size in (blocks if blocks is not None else _matching_blocks(base, text))
    )
    return len(base) + len(text) - 2 * kept


def _carries(
    base: list[str], text: list[str], text_blocks: Blocks, side: list[str], side_blocks: Blocks
) -> bool:
    """True when ``text`` already carries every change ``side`` made to ``base``.

    That is the case of a run that wrote a merge to one side and then stopped (a crash, or a
    side it may not write): the next run merges again from the same base with that side
    holding the merge. Diffing it afresh may align repeated lines differently from the first
    run (which of seven identical lines a side deleted is a guess), and a plain diff3 could
    then apply one deletion twice or see a conflict that was not there.

    ``text`` carries ``side`` when it reads as ``side``'s changes plus changes of its own
    that leave ``side``'s alone: each of ``side``'s passages (see ``_passages``) is in
    ``text`` verbatim and in order, and that reading changes no more lines than ``text``'s
    own diff against the base does. The second condition keeps a reading out that explains
    ``side``'s deletion away as a deletion here and a copy of the line inserted there (seven
    alphas would "carry" a deletion of one of them). Blank lines are the exception: which
    blank separates two paragraphs means nothing, so trading one blank for another is free.
    When ``text`` carries ``side``, it is itself a three-way merge of ``side`` with it.
    """
    passages, first_open, last_close = _passages(base, side, side_blocks)
    # Dynamic programming over the places each passage can take in ``text``: for each place
    # of the passage so far, the fewest lines changed up to its end.
    frontier: list[tuple[int, int]] = [(0, 0)]  # (end in text, lines changed)
    base_pos = 0
    for n, p in enumerate(passages):
        size = len(p.lines)
        if n == 0 and first_open:
            starts = [0] if text[:size] == p.lines else []
        elif n == len(passages) - 1 and last_close:
            at = len(text) - size
            starts = [at] if at >= 0 and text[at:] == p.lines else []
        else:
            starts = _places(text, p.lines, min(end for end, _ in frontier))
        nxt: list[tuple[int, int]] = []
        for at in starts:
            costs = [
                cost + _distance(base[base_pos : p.base_lo], text[end:at])
                for end, cost in frontier
                if end <= at
            ]
            if costs:
                nxt.append((at + size, min(costs) + p.cost))
        if not nxt:
            return False
        frontier, base_pos = nxt, p.base_hi
    if first_open and last_close and len(passages) == 1 and frontier[0][0] != len(text):
        return False
    changed = min(cost + _distance(base[base_pos:], text[end:]) for end, cost in frontier)
    free = 2 * sum(p.blanks for p in passages)
    return changed - free <= _distance(base, text, text_blocks)


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
    tidy: Callable[[str], str] | None = None,
) -> TextMergeResult:
    """Three-way merge of ``ours`` and ``theirs`` (both edited from ``base``), line by line.

    A side that only added to the end of the base, a beginning of what the other side added
    (a copy cut short), takes the other side's text whole. Otherwise, a passage changed on
    one side only takes that side's lines; changed identically on both,
    it is taken once; changed differently on both (including edits on adjacent lines and an
    edit against a deletion), both versions are written between marker lines and
    ``conflict`` is True. Every line of ``ours`` and of ``theirs`` that is not in ``base``
    appears in the result (a cut copy's text appears as the beginning of the result). ``tidy`` is the normalisation the caller stores the text in (the
    result is given in it).

    A clean result is also one a replay agrees with: a run that wrote it to one side and then
    stopped merges again, next time, from the same base with that side holding the result,
    and must reach the same text. A side that already carries the other's changes is the
    merge (``_carries``); when diffing repeated lines afresh would still lead a replay
    elsewhere (which of several identical lines a side deleted is a guess), both versions
    are kept between markers instead of guessing.
    """
    if ours == theirs:
        return TextMergeResult(ours, False)
    if ours == base:
        return TextMergeResult(theirs, False)
    if theirs == base:
        return TextMergeResult(ours, False)
    # One side only added to the end of the base, and the other added that and more: the
    # shorter is a cut copy of the longer (a cloud client still writing the file on this
    # device), and the longer holds all of it. Merged line by line, the cut last line was
    # a conflict with the whole one, and the cut text went between markers into the note,
    # Zotero and the other device.
    if ours.startswith(theirs) and theirs.startswith(base):
        return TextMergeResult(ours, False)
    if theirs.startswith(ours) and ours.startswith(base):
        return TextMergeResult(theirs, False)
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    lines, conflict = _merge_lines(b, o, t, ours_label, theirs_label)
    text = "\n".join(lines)
    if tidy is not None:
        text = tidy(text)
    if conflict or text in (ours, theirs):
        return TextMergeResult(text, conflict)
    m = split_lines(text)
    if _clean_merge(b, o, m, tidy) == m and _clean_merge(b, m, t, tidy) == m:
        return TextMergeResult(text, False)
    w = _Writer()
    _conflict(w, o, t, ours_label, theirs_label)
    text = "\n".join(w.lines)
    return TextMergeResult(tidy(text) if tidy is not None else text, True)


def _clean_merge(
    b: list[str], o: list[str], t: list[str], tidy: Callable[[str], str] | None
) -> list[str] | None:
    """The lines ``merge3`` would merge ``o`` and ``t`` to before its replay check, or None
    for a conflict."""
    if o == t or t == b:
        return o
    if o == b:
        return t
    lines, conflict = _merge_lines(b, o, t, "", "")
    if conflict:
        return None
    return split_lines(tidy("\n".join(lines))) if tidy is not None else lines


def _merge_lines(
    b: list[str], o: list[str], t: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], bool]:
    """The merged lines and whether a passage had to be kept twice (``merge3`` without its
    replay check)."""
    om, tm = _matching_blocks(b, o), _matching_blocks(b, t)
    ours_carries, theirs_carries = _carries(b, o, om, t, tm), _carries(b, t, tm, o, om)
    if ours_carries != theirs_carries:
        return (o if ours_carries else t), False
    lines, conflict = _diff3(b, o, t, om, tm, ours_label, theirs_label)
    if ours_carries and lines not in (o, t) and len(o) != len(t):
        # Each reads as carrying the other (repeated lines align either way) and diff3 takes
        # neither: the longer keeps more of what was written.
        return (o if len(o) > len(t) else t), False
    return lines, conflict


def _diff3(
    b: list[str],
    o: list[str],
    t: list[str],
    om: Blocks,
    tm: Blocks,
    ours_label: str,
    theirs_label: str,
) -> tuple[list[str], bool]:
    """Classic diff3 over the regions where all three texts agree."""
    w = _Writer()
    conflict = False
    bi = oi = ti = 0
    for b0, b1, o0, o1, t0, t1 in _stable_regions(b, o, t, om, tm):
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
    return w.lines, conflict


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
