"""The notes text merge: edits on different lines combine, overlaps keep both, nothing is lost."""

from __future__ import annotations

from collections import Counter

from hypothesis import example, given
from hypothesis import strategies as st

from pllm_sync.sync.textmerge import (
    MARKER_END,
    MARKER_PREFIX,
    TextMergeResult,
    has_conflict_markers,
    merge3,
    merge_union,
    split_lines,
)

BASE = "# Summary\nIt personalises prompts.\n\n## Method\nRetrieval over the profile.\n\n## Verdict\nGood."


def test_edits_in_different_paragraphs_merge_cleanly() -> None:
    zotero = BASE.replace("It personalises prompts.", "It personalises prompts per user.")
    vault = BASE.replace("Good.", "Good, but small eval.")
    r = merge3(BASE, zotero, vault)
    assert not r.conflict
    assert "It personalises prompts per user." in r.text
    assert "Good, but small eval." in r.text
    assert not has_conflict_markers(r.text)


def test_one_side_changed_takes_that_side_verbatim() -> None:
    vault = BASE + "\n\nA new paragraph."
    assert merge3(BASE, BASE, vault).text == vault
    assert merge3(BASE, vault, BASE).text == vault


def test_same_edit_on_both_sides_is_no_conflict() -> None:
    edited = BASE.replace("Good.", "Great.")
    r = merge3(BASE, edited, edited)
    assert r == type(r)(edited, False)


def test_overlapping_edits_keep_both_versions_between_markers() -> None:
    zotero = BASE.replace("Good.", "Good (zotero).")
    vault = BASE.replace("Good.", "Bad (vault).")
    r = merge3(BASE, zotero, vault)
    assert r.conflict
    lines = r.text.split("\n")
    assert "Good (zotero)." in lines and "Bad (vault)." in lines
    # zotero's version comes first, under its label, and the block is closed
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"{MARKER_PREFIX} zotero"))
    middle = next(i for i, ln in enumerate(lines) if ln.startswith(f"{MARKER_PREFIX} vault"))
    end = lines.index(MARKER_END)
    assert start < lines.index("Good (zotero).") < middle < lines.index("Bad (vault).") < end
    # untouched text outside the conflict stays once
    assert lines.count("Retrieval over the profile.") == 1


def test_marker_lines_are_paragraphs_of_their_own() -> None:
    """Markdown would glue a marker to adjacent text (or read it as markup) without blanks."""
    r = merge3("a\nb\nc", "a\nB1\nc", "a\nB2\nc")
    lines = r.text.split("\n")
    for i, ln in enumerate(lines):
        if ln.startswith(MARKER_PREFIX):
            assert i == 0 or lines[i - 1] == ""
            assert i == len(lines) - 1 or lines[i + 1] == ""
    assert "\n\n\n" not in r.text


def test_edit_against_deletion_is_a_conflict_that_keeps_the_edit() -> None:
    base = "keep\ndrop me\nkeep too"
    r = merge3(base, "keep\nkeep too", "keep\ndrop me, edited\nkeep too")
    assert r.conflict
    assert "drop me, edited" in r.text


def test_common_lines_inside_an_overlap_are_written_once() -> None:
    base = "x"
    r = merge3(base, "shared\nmine\nend", "shared\ntheirs\nend")
    assert r.conflict
    assert r.text.split("\n").count("shared") == 1
    assert r.text.split("\n").count("end") == 1


def test_custom_labels() -> None:
    r = merge3("a", "b", "c", ours_label="left", theirs_label="right")
    assert f"{MARKER_PREFIX} left" in r.text and f"{MARKER_PREFIX} right" in r.text


def test_union_without_base_keeps_lines_from_both() -> None:
    r = merge_union("intro\nmine", "intro\nmine\nappended in the vault")
    assert r == type(r)("intro\nmine\nappended in the vault", False)
    r = merge_union("intro\nzotero wrote this", "intro\nvault wrote that")
    assert r.conflict
    assert "zotero wrote this" in r.text and "vault wrote that" in r.text
    assert merge_union("", "only vault").text == "only vault"
    assert merge_union("only zotero", "").text == "only zotero"


ALPHAS = "\n".join(["alpha"] * 7 + ["beta"])
ZOTERO_DROPS_AN_ALPHA = "\n".join(["alpha"] * 6 + ["beta"])
VAULT_DROPS_BETA = "\n".join(["alpha"] * 7)
SIX_ALPHAS = "\n".join(["alpha"] * 6)


def test_deletions_in_a_run_of_identical_lines_merge_to_both_deletions() -> None:
    r = merge3(ALPHAS, ZOTERO_DROPS_AN_ALPHA, VAULT_DROPS_BETA)
    assert r == TextMergeResult(SIX_ALPHAS, False)


def test_a_replay_with_the_vault_already_merged_keeps_every_alpha() -> None:
    """A run wrote the merge to the vault and stopped: merging again from the same base must
    not apply Zotero's deletion a second time (it used to leave five alphas)."""
    assert merge3(ALPHAS, ZOTERO_DROPS_AN_ALPHA, SIX_ALPHAS) == TextMergeResult(SIX_ALPHAS, False)


def test_a_replay_with_zotero_already_merged_is_no_conflict() -> None:
    """The other order: Zotero holds the merge; the replay used to see a conflict."""
    assert merge3(ALPHAS, SIX_ALPHAS, VAULT_DROPS_BETA) == TextMergeResult(SIX_ALPHAS, False)


def test_a_replay_after_moving_a_repeated_line_reaches_the_same_text() -> None:
    """Repeated lines anywhere (not only in runs) could be aligned differently on replay."""
    base, zotero, vault = "x\ny", "y", "x\ny\nx"
    r = merge3(base, zotero, vault)
    assert r == TextMergeResult("y\nx", False)
    assert merge3(base, r.text, vault) == r
    assert merge3(base, zotero, r.text) == r


def test_a_side_that_already_carries_the_other_is_the_merge() -> None:
    base = "P1\n\nP2\n\nP3"
    vault = "P1\n\nP2\n\nP3\n\nP4"
    both = "P1\n\nP3\n\nP4"  # Zotero dropped P2 and took the vault's P4 along
    assert merge3(base, both, vault) == TextMergeResult(both, False)
    assert merge3(base, vault, both) == TextMergeResult(both, False)


def test_a_paragraph_dropped_next_to_one_added_replays_without_a_duplicate() -> None:
    """Zotero drops P2, the vault adds P4 before it. The blank lines around them trade
    places, and a replay used to write P4 twice."""
    base, zotero, vault = "P1\n\nP2\n\nP3", "P1\n\nP3", "P1\n\nP4\n\nP2\n\nP3"
    r = merge3(base, zotero, vault)
    assert r == TextMergeResult("P1\n\nP4\n\nP3", False)
    assert merge3(base, r.text, vault) == r
    assert merge3(base, zotero, r.text) == r


def test_a_merge_no_replay_could_reach_again_keeps_both_versions() -> None:
    """Zotero drops one of two identical lines; the vault adds ``a`` and ``b`` at the top.
    diff3 would give ``a b a``, but next to either side that text reads as other edits (a
    line added rather than one added and one dropped), so a run stopped between the two
    writes would merge to something else next time. Both versions are kept instead."""
    r = merge3("a\na", "a", "a\nb\na\na")
    assert r.conflict and has_conflict_markers(r.text)
    kept = Counter(ln for ln in split_lines(r.text) if not ln.startswith(MARKER_PREFIX))
    assert kept["b"] == 1 and kept["a"] >= 3  # the vault's version whole, Zotero's too


def test_split_lines_round_trips() -> None:
    for t in ("", "a", "a\n", "\n", "a\n\nb"):
        assert "\n".join(split_lines(t)) == t


# --- properties -----------------------------------------------------------------------------

LINE = st.sampled_from(["alpha", "beta", "gamma", "delta", "", "- item", "## H", "x", "y", "z"])
TEXT = st.lists(LINE, max_size=12).map("\n".join)


@st.composite
def edits_of(draw: st.DrawFn, base: str) -> str:
    """A plausible edit of ``base``: some lines deleted, replaced or inserted."""
    lines = split_lines(base)
    out: list[str] = []
    for ln in lines:
        op = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace", "insert"]))
        if op == "keep":
            out.append(ln)
        elif op == "replace":
            out.append(draw(LINE))
        elif op == "insert":
            out.extend([draw(LINE), ln])
    out.extend(draw(st.lists(LINE, max_size=2)))
    return "\n".join(out)


@st.composite
def triples(draw: st.DrawFn) -> tuple[str, str, str]:
    base = draw(TEXT)
    return base, draw(edits_of(base)), draw(edits_of(base))


def _cut_copy_of(side: str, base: str, text: str) -> bool:
    """``side`` only added to the end of ``base`` and is the beginning of ``text``: all of
    it is there, though its last line may be cut (a copy still arriving)."""
    return side.startswith(base) and text.startswith(side)


def _non_base_lines(text: str, base: str) -> Counter[str]:
    """Lines of ``text`` beyond those the base already had (with multiplicity)."""
    return Counter(split_lines(text)) - Counter(split_lines(base))


@given(triples())
def test_never_loses_a_line_either_side_added(t: tuple[str, str, str]) -> None:
    base, ours, theirs = t
    r = merge3(base, ours, theirs)
    got = Counter(split_lines(r.text))
    for side in (ours, theirs):
        if _cut_copy_of(side, base, r.text):
            continue
        missing = _non_base_lines(side, base) - got
        assert not missing, (missing, r.text)


@given(triples())
def test_clean_merges_carry_no_markers_and_conflicts_always_do(t: tuple[str, str, str]) -> None:
    base, ours, theirs = t
    r = merge3(base, ours, theirs)
    assert r.conflict == has_conflict_markers(r.text)


@given(triples())
def test_clean_merge_is_symmetric(t: tuple[str, str, str]) -> None:
    base, ours, theirs = t
    r1, r2 = merge3(base, ours, theirs), merge3(base, theirs, ours)
    assert r1.conflict == r2.conflict
    if not r1.conflict:
        assert r1.text == r2.text


@given(triples())
def test_merge_is_idempotent_and_stable(t: tuple[str, str, str]) -> None:
    base, ours, theirs = t
    r = merge3(base, ours, theirs)
    assert merge3(r.text, r.text, r.text).text == r.text
    # a side that already holds the merge changes nothing when merged against it again
    assert merge3(base, r.text, r.text).text == r.text


REPEATED = st.sampled_from(["alpha", "beta", ""])
"""Few distinct lines, so that runs and repeats (where alignment is a guess) are the rule."""


@st.composite
def repetitive_triples(draw: st.DrawFn) -> tuple[str, str, str]:
    base = "\n".join(draw(st.lists(REPEATED, max_size=9)))
    out = []
    for _ in range(2):
        lines: list[str] = []
        for ln in split_lines(base):
            op = draw(st.sampled_from(["keep", "keep", "drop", "insert"]))
            if op != "drop":
                lines.append(ln)
            if op == "insert":
                lines.append(draw(REPEATED))
        lines.extend(draw(st.lists(REPEATED, max_size=2)))
        out.append("\n".join(lines))
    return base, out[0], out[1]


@example((ALPHAS, ZOTERO_DROPS_AN_ALPHA, VAULT_DROPS_BETA))
@example(("x\ny", "y", "x\ny\nx"))
@given(st.one_of(triples(), repetitive_triples()))
def test_a_replay_with_either_side_already_merged_reaches_the_same_result(
    t: tuple[str, str, str],
) -> None:
    """A run that wrote a clean merge to one side and stopped (or may not write the other
    side) merges again from the same base next time; it must reach the same text, however
    often it is repeated, and without a conflict."""
    base, ours, theirs = t
    r = merge3(base, ours, theirs)
    if r.conflict:
        return  # a marked merge is recognised by the paper merge (see test_merge_properties)
    assert merge3(base, r.text, theirs) == r
    assert merge3(base, ours, r.text) == r
    assert merge3(base, theirs, r.text) == r
    assert merge3(base, r.text, ours) == r


@given(st.one_of(triples(), repetitive_triples()))
def test_no_line_is_lost_among_repeated_lines(t: tuple[str, str, str]) -> None:
    base, ours, theirs = t
    text = merge3(base, ours, theirs).text
    got = Counter(split_lines(text))
    for side in (ours, theirs):
        assert _cut_copy_of(side, base, text) or not _non_base_lines(side, base) - got


@given(triples())
def test_one_sided_change_is_taken_verbatim(t: tuple[str, str, str]) -> None:
    base, ours, _ = t
    assert merge3(base, ours, base) == merge3(base, base, ours)
    assert merge3(base, ours, base).text == ours


@given(TEXT, TEXT)
def test_union_keeps_every_line_of_both_whatever_the_order(ours: str, theirs: str) -> None:
    r = merge_union(ours, theirs)
    # the result does not depend on the order; each version keeps its label
    assert merge_union(theirs, ours, ours_label="vault", theirs_label="zotero") == r
    got = Counter(split_lines(r.text))
    assert not Counter(split_lines(ours)) - got
    assert not Counter(split_lines(theirs)) - got


def test_a_copy_cut_short_is_no_conflict_and_the_whole_text_wins() -> None:
    """A cloud client still writing a note on this device: the vault holds the beginning of
    what the other device wrote (and Zotero got). Nothing is lost and nothing is marked."""
    base = "Old line."
    whole = "Old line.\nMy long laptop notes paragraph one.\n\nParagraph two."
    for cut in ("Old line.\nMy long laptop note", "Old line.\n", "Old line.\nMy long laptop"):
        assert merge3(base, whole, cut) == TextMergeResult(whole, False)
        assert merge3(base, cut, whole) == TextMergeResult(whole, False)


def test_a_shorter_side_that_removed_text_is_merged_line_by_line_as_before() -> None:
    """Not a cut copy: the shorter side deleted a line of the base, so it is no beginning
    of the other, and the deletion is not undone by taking the longer text."""
    base, ours, theirs = "A\nB", "A\nB\nC", "A"
    r = merge3(base, ours, theirs)
    assert r.text != ours
    assert "C" in split_lines(r.text)
