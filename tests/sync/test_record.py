"""The canonical record's normal forms: what each side's adapter produces must compare equal
for equal content, so a no-op sync writes nothing (record.py, model.normalize_whitespace)."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from pllm_sync.model import normalize_whitespace
from pllm_sync.record import normalize_record

# hostile whitespace: tabs, newlines, NBSP, em space, line/paragraph separators, zero width
# (not whitespace), information separators (whitespace to Python), NEL
TEXT = st.text(
    alphabet=st.sampled_from(
        list("ab .:") + list("\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u200b")
    ),
    max_size=12,
)


@given(TEXT)
@example("  Large\u00a0Language\tModels\n")
def test_whitespace_runs_collapse_to_one_space_and_the_ends_are_trimmed(text: str) -> None:
    assert normalize_whitespace(text) == re.sub(r"\s+", " ", text).strip()


@given(TEXT, st.text(max_size=12))
@example("Synthetic Paper 1: On Personalization", "EMNLP 2024")
@example(" a", "b ")
def test_text_fields_come_out_normalised_whatever_their_spacing(title: str, venue: str) -> None:
    """Text already in its normal form is kept as it is, the rest is normalised: either way
    the field reads as its whitespace-normalised value (``None`` for an empty optional)."""
    out = normalize_record({"title": title, "venue": venue, "method": title, "url": None})
    assert out["title"] == normalize_whitespace(title)
    assert out["venue"] == (normalize_whitespace(venue) or None)
    assert out["method"] == (normalize_whitespace(title) or None)
    assert out["url"] is None
