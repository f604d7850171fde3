"""The canonical record's normal forms: what each side's adapter produces must compare equal
for equal content, so a no-op sync writes nothing (record.py, model.normalize_whitespace)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pllm_sync.model import normalize_whitespace
from pllm_sync.record import (
    _EMPTY_FORM,
    SYNCED_FIELDS,
    Record,
    _already_canonical,
    _normalize_field,
    canonical_tags,
    normalize_record,
    reserved_tag,
)

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


@pytest.mark.parametrize(
    ("given_record", "canonical"),
    [
        (
            {"title": " x  y ", "authors": [" a ", "", "b\tc"], "tags": None, "sections": None},
            {"title": "x y", "authors": ("a", "b c"), "tags": frozenset(), "sections": frozenset()},
        ),
        (
            {"year": "2024", "rating": True, "notes": None, "venue": "", "status": "read"},
            {"year": 2024, "rating": None, "notes": "", "venue": None, "status": "read"},
        ),
        (
            {"title": None, "authors": None, "year": 2024.0, "rating": "5", "doi": "\xa010.1/x\n"},
            {"title": "", "authors": (), "year": None, "rating": 5, "doi": "10.1/x"},
        ),
        (
            {"tags": ["#to read", "pllm/x", "123"], "notes": "a \r\nb  \n\n", "code": None},
            {"tags": frozenset({"to-read"}), "notes": "a\nb", "code": None},
        ),
        (  # already canonical: kept as it is
            {"title": "A: b", "authors": ("A B",), "year": 2024, "catalog": "listed"},
            {"title": "A: b", "authors": ("A B",), "year": 2024, "catalog": "listed"},
        ),
    ],
)
def test_each_field_gets_its_canonical_form(given_record: Record, canonical: Record) -> None:
    out = normalize_record(given_record)
    assert out == canonical
    assert {k: type(v) for k, v in out.items()} == {k: type(v) for k, v in canonical.items()}


FIELD_INPUT = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3000)
    | TEXT
    | st.tuples(TEXT, TEXT)
    | st.lists(TEXT, max_size=3)
    | st.frozensets(TEXT, max_size=3)
)


@given(st.dictionaries(st.sampled_from([*SYNCED_FIELDS, "other"]), FIELD_INPUT, max_size=8))
def test_a_normalised_record_is_its_own_normal_form(rec: Record) -> None:
    """What an adapter returns, normalised again, is unchanged, value for value and type for
    type (a no-op sync compares these records)."""
    try:
        once = normalize_record(rec)
    except (AttributeError, TypeError):  # a value no adapter produces (a number for tags)
        return
    twice = normalize_record(once)
    assert twice == once
    assert {k: type(v) for k, v in twice.items()} == {k: type(v) for k, v in once.items()}


def _normalize_field_by_field(rec: Record) -> Record:
    """The general form of ``normalize_record`` (each field through ``_already_canonical``,
    then its normaliser), which its inlined fast checks must agree with."""
    out: Record = {}
    for k, v in rec.items():
        if v is None:
            out[k] = _EMPTY_FORM.get(k)
        elif _already_canonical(k, v):
            out[k] = v
        else:
            out[k] = _normalize_field(k, v)
    return out


@given(st.dictionaries(st.sampled_from([*SYNCED_FIELDS, "other"]), FIELD_INPUT, max_size=8))
@example({"title": "", "venue": " a", "year": True, "rating": 3, "authors": ("a", "b  c")})
@example({"method": "a\u2028b", "doi": "x ", "catalog": "listed", "status": "\xa0"})
def test_the_inlined_checks_agree_with_the_field_by_field_form(rec: Record) -> None:
    try:
        want = _normalize_field_by_field(rec)
    except (AttributeError, TypeError):
        with pytest.raises((AttributeError, TypeError)):
            normalize_record(rec)
        return
    got = normalize_record(rec)
    assert got == want
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}


@pytest.mark.parametrize(
    ("tag", "reserved"),
    [
        ("status/read", True),
        ("Status/To-Read", True),
        ("rating/5", True),
        ("rating/10", True),
        ("status", False),  # nothing after the slash: Zotero reads no status from it
        ("rating/good", False),  # Zotero reads no rating from it: a tag like any other
        ("statusreport", False),
        ("reading/status", False),
    ],
)
def test_tags_zotero_reads_as_status_or_rating_are_reserved(tag: str, reserved: bool) -> None:
    assert reserved_tag(tag) is reserved
    assert (tag.lower() in canonical_tags([tag])) is not reserved
