"""A state row's text does not depend on which JSON encoder wrote it.

``put_papers`` skips a row whose encoded values equal the stored ones, so a record must
encode to the same bytes whether orjson is loaded (a pull) or not (a no-op sync): else the
first sync after every pull would rewrite every row. These hold orjson's text equal to
``json``'s for every kind of value a record holds, and check the fallbacks (floats, values
orjson refuses) still give ``json``'s text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.sync import state
from pllm_sync.sync.state import PaperState, StateDB, decode_record, encode_record


def reference(record: dict[str, Any]) -> str:
    """What ``encode_record`` wrote before orjson: the stdlib encoder, always."""
    return state._JSON.encode(state._enc_items(record))


def test_orjson_is_taken_once_loaded() -> None:
    # the fast path is real: with orjson imported, plain records go through it
    assert state._ORJSON_SORT == orjson.OPT_SORT_KEYS
    assert state._orjson_dumps() is orjson.dumps


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), text)
leaf = st.one_of(
    scalar,
    st.frozensets(text, max_size=4),
    st.tuples(text, text),
    st.lists(scalar, max_size=4),
)
value = st.recursive(leaf, lambda inner: st.dictionaries(text, inner, max_size=3), max_leaves=8)
records = st.dictionaries(text, value, max_size=8)


@given(records)
def test_orjson_writes_json_s_bytes(record: dict[str, Any]) -> None:
    assert not state._has_float(state._enc_items(record))
    assert encode_record(record) == reference(record)


@given(records)
def test_a_record_reads_back_as_written(record: dict[str, Any]) -> None:
    # tuples inside plain lists come back as tuples too: compare through one round
    once = decode_record(encode_record(record))
    assert decode_record(encode_record(once)) == once


def test_keys_sort_as_json_sorts_them() -> None:
    # code-point order, astral characters and escapes included
    record = {"b": 1, "a": 2, "é": 3, "\U0001f600": 4, "z\x00": 5, "Z": 6, '"': 7, "\u2028": 8}
    assert encode_record(record) == reference(record)
    assert list(decode_record(encode_record(record))) == sorted(record)


def test_what_orjson_would_spell_differently_takes_json() -> None:
    for record in (
        {"score": 1e16},  # orjson: 1e16, json: 1e+16
        {"score": 1e-05},
        {"nested": {"$x": [1, 2.5]}},
        {"tags": [float("nan")], "other": float("inf")},  # json: NaN, Infinity
        {"big": 2**70},  # orjson refuses ints over 64 bits
        {"title": "lone \ud800 surrogate"},  # orjson refuses it
    ):
        assert encode_record(record) == reference(record)


def test_a_row_put_again_is_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user notices: after a pull (orjson loaded), an unchanged paper's row is not
    written again by the next run, whichever encoder that run uses."""
    paper = PaperState(
        pllm_id="arxiv:2401.00001",
        base={
            "title": "Ünïcode — “quotes” \\ and \n lines",
            "year": 2024,
            "authors": ("A", "B"),
            "sections": frozenset({"x", "y"}),
        },
    )
    with StateDB.open(tmp_path / "state.sqlite3") as db:
        db.put_papers([paper])
    stamp = paper.updated_at
    monkeypatch.setattr(state, "_orjson_dumps", lambda: None)  # a run without orjson
    with StateDB.open(tmp_path / "state.sqlite3") as db:
        again = db.all_papers()[paper.pllm_id]
        db.put_papers([again])
        assert again.updated_at == stamp
