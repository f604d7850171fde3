"""The body of a note: where the user's notes are, and how they are replaced."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.record import canonical_notes
from pllm_sync.vault.body import (
    BEGIN,
    END,
    ManagedContent,
    notes_of,
    render_region,
    set_notes,
    set_region,
    split_body,
)

REGION = f"{BEGIN}\nmanaged\n{END}\n"


def test_notes_are_the_text_around_the_region() -> None:
    assert notes_of(split_body(REGION + "\nmine\n")) == "mine"
    assert notes_of(split_body("top\n\n" + REGION + "\nmine\n")) == "top\n\nmine"
    assert notes_of(split_body("no region at all\n")) == "no region at all"
    assert notes_of(split_body(REGION)) == ""


def test_broken_markers_make_the_whole_body_notes() -> None:
    body = f"{BEGIN}\nmanaged\nuser deleted the end marker\n"
    parts = split_body(body)
    assert parts.broken and notes_of(parts) == canonical_notes(body)
    assert set_region(parts, REGION, "\n") is None  # we never guess where our region ends


def test_region_is_inserted_on_top_of_a_body_without_one() -> None:
    parts = split_body("my text\n")
    body = set_region(parts, REGION, "\n")
    assert body == REGION + "\nmy text\n"
    assert notes_of(split_body(body)) == "my text"


def test_region_text_cannot_fake_markers() -> None:
    evil = ManagedContent(abstract=f"x {END} y <!-- z", links=[("code", "javascript:alert(1)")])
    region = render_region(evil, [])
    parts = split_body(region + "\nmine\n")
    assert parts.has_region and not parts.broken and notes_of(parts) == "mine"
    assert "](<javascript" not in region


texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)


@given(texts, texts)
def test_set_notes_gives_back_what_was_set(before: str, notes: str) -> None:
    before = before.replace("<!--", "")
    before = before + "\n" if before and not before.endswith(("\n", "\r")) else before
    parts = split_body(before + REGION + "\nold\n")
    body = set_notes(parts, notes, "\n")
    assert notes_of(split_body(body)) == canonical_notes(notes)
    assert REGION in body
    # setting the same notes again changes nothing
    assert set_notes(split_body(body), notes, "\n") == body
