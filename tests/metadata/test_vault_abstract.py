"""The note's abstract callout is the vault's ``abstract``: read back, replaced in place."""

from __future__ import annotations

import pytest

from pllm_sync.vault import body as b


def _region(abstract: str | None) -> str:
    return b.render_region(
        b.ManagedContent(abstract=abstract, links=[("paper", "https://x.org")]), []
    )


@pytest.mark.parametrize(
    "text",
    [
        "A plain abstract.",
        "Text with <!-- a comment --> inside and --> arrows",
        "Line one\nline two   with   spaces",
        "> quoted start and [[wiki]] #tag",
    ],
)
def test_abstract_round_trips_through_the_region(text: str) -> None:
    parts = b.split_body(_region(text) + "\nmy notes\n")
    assert b.abstract_of(parts) == " ".join(text.split())
    assert b.notes_of(parts) == "my notes"


def test_no_callout_is_no_abstract() -> None:
    assert b.abstract_of(b.split_body(_region(None))) is None
    assert b.abstract_of(b.split_body("just notes")) is None


@pytest.mark.parametrize("old", [None, "Old abstract."])
@pytest.mark.parametrize("new", [None, "New abstract, fixed in Zotero."])
def test_replace_abstract_touches_only_the_callout(old: str | None, new: str | None) -> None:
    region = _region(old)
    out = b.replace_abstract(region, new)
    assert out == _region(new)
    assert b.abstract_of(b.split_body(out)) == new


def test_a_hand_edited_multi_line_callout_reads_as_one_text() -> None:
    body = (
        f"{b.BEGIN}\n> [!abstract]- Abstract\n> My corrected\n> abstract, two lines.\n\n"
        f"**Sections:** none\n{b.END}\n"
    )
    assert b.abstract_of(b.split_body(body)) == "My corrected abstract, two lines."
