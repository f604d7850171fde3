"""The direct frontmatter emitter writes exactly the bytes PyYAML's serializer writes.

A pull writes one frontmatter per paper, so plain values skip PyYAML's pure-Python emitter
(see ``yamlio.dump_mapping``). These tests hold the shortcut to the serializer byte for byte,
over hostile strings and random values, and check that what it writes reads back the same in
our reader, PyYAML and ruamel.yaml."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pllm_sync.vault import note as note_mod
from pllm_sync.vault import yamlio

from .test_vault_yaml import TRICKY

EXTRA = [
    "-x",
    ":x",
    "?x",
    "-",
    "?",
    ":",
    "- ",
    "a: b",
    "a:",
    "a #b",
    "a#b",
    "https://arxiv.org/abs/2401.00001#v2",
    "10.1145/3544548.3581388",
    "2310.10100",
    "1e10",
    "0b101",
    "1:20",
    "---x",
    "...x",
    "a\u2028b",
    "a\u2029",
    "\xa0x",
    "x\xa0",
    "tab\t",
    "emoji 😀",
    "😀: x",
    "a  b",
    "It's",
    '"',
    "\\",
    "a\\b",
    "\x7f",
    "\ufffe",
    "Synthetic Paper 1: On Personalization Number 1.",
    "x\n",
    "true\n",
    "title\n",
]


def _same(items: dict[str, Any]) -> str:
    fast = yamlio.dump_mapping(items)
    assert fast == yamlio._dump_serializer(items)
    return fast


@pytest.mark.parametrize("value", TRICKY + EXTRA)
def test_hostile_strings_match_the_serializer(value: str) -> None:
    _same({"title": value, "aliases": [value, "x"], "sections": [yamlio.WikiLink(value)]})


def test_a_typical_new_note_takes_the_direct_path() -> None:
    items = {
        "pllm-sync-id": "arxiv-2401.00001",
        "title": "Synthetic Paper 1: On Personalization",
        "aliases": [],
        "authors": ["Ada Lovelace", "Émile Zola"],
        "year": 2024,
        "venue": "EMNLP 2024",
        "method": None,
        "arxiv": "2401.00001",
        "doi": None,
        "url": "https://arxiv.org/abs/2401.00001",
        "code": None,
        "sections": [yamlio.WikiLink("[[Sections/A/B|B]]")],
        "tags": ["llm", "personalization"],
        "status": None,
        "rating": None,
        "added": dt.date(2026, 12, 1),
        "catalog": "listed",
    }
    assert yamlio._fast_mapping(items) is not None
    _same(items)


SCALARS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(TRICKY + EXTRA),
    st.builds(yamlio.WikiLink, st.text(max_size=30)),
    st.none(),
    st.booleans(),
    st.integers(),
    st.dates(),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))
KEYS = st.one_of(
    st.sampled_from(["title", "pllm-sync-id", "yes", "null", "a_b", "x1"]), st.text(max_size=8)
)


@settings(max_examples=300)
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_random_mappings_match_the_serializer(items: dict[str, Any]) -> None:
    _same(items)


@settings(max_examples=200)
@given(SCALARS.filter(lambda v: isinstance(v, str)))
def test_a_remembered_string_is_written_as_the_first_time(value: str) -> None:
    """``_scalar`` remembers each string's text (and, apart, each link's): the second emit
    of the same value, also as a link after a plain string of the same text and the other
    way round, matches the serializer as the first did."""
    for _ in range(2):
        _same({"title": str(value), "sections": [yamlio.WikiLink(value), str(value)]})
        _same({"sections": [yamlio.WikiLink(value)], "venue": str(value)})
    assert yamlio._STR_TEXT.get(str(value), "unset") in ("unset", yamlio._str_scalar(value))


def _expected(value: Any) -> Any:
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()  # our reader never makes dates
    if isinstance(value, yamlio.WikiLink):
        return str(value)
    return value


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from(["title", "tags", "year", "doi"]), VALUES, min_size=1, max_size=4
    )
)
def test_direct_output_reads_back_everywhere(items: dict[str, Any]) -> None:
    text = _same(items)
    assert yamlio.load(text) == {k: _expected(v) for k, v in items.items()}
    pyyaml = yaml.safe_load(text) or {}
    ruamel = YAML(typ="safe", pure=True).load(io.StringIO(text)) or {}
    for key, value in items.items():
        if isinstance(value, str | list) and not isinstance(value, bool):
            strings = value if isinstance(value, list) else [value]
            if all(type(s) in (str, yamlio.WikiLink) for s in strings):
                assert pyyaml[key] == ruamel[key] == _expected(value)


NOTE_KEYS = st.sampled_from(
    [
        "pllm-sync-id",
        "title",
        "aliases",
        "authors",
        "year",
        "arxiv",
        "doi",
        "method",
        "zotero",
        "sections",
        "tags",
        "status",
        "rating",
        "added",
        "catalog",
        "sync-conflict",
        "mine",
    ]
)
REGIONS = st.sampled_from(
    [
        "<!-- pllm-sync:begin -->\n> [!abstract]- Abstract\n> We study it.\n\n"
        "**Sections:** none\n<!-- pllm-sync:end -->\n",
        "<!-- pllm-sync:begin -->\n**Sections:** none\n<!-- pllm-sync:end -->\n",
        "no region at all\n",
        "",
    ]
)


@settings(max_examples=300)
@given(st.dictionaries(NOTE_KEYS, VALUES, max_size=10), REGIONS, st.text(max_size=30))
def test_a_new_notes_reading_without_parsing_is_the_parsed_reading(
    items: dict[str, Any], region: str, notes: str
) -> None:
    """A pull enters each note it writes into the scan cache from the values it wrote,
    without parsing them back; that reading must be exactly the one a later parse gives
    (else the next sync would see an edit nobody made)."""
    text, reading = note_mod.render_new_note_read(items, region, notes)
    assert text == note_mod.render_new_note(items, region, notes)
    assert reading == note_mod.parse_note(text)
