"""Frontmatter we emit reads back as the same values in every reader a user may have:
our reader (libyaml, YAML 1.2 core schema), PyYAML's safe_load (YAML 1.1, what
python-frontmatter and many scripts use) and ruamel.yaml (an independent YAML 1.2 parser)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pllm_sync.vault import yamlio

TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "Yes",
    "NO",
    "y",
    "n",
    "true",
    "False",
    "null",
    "~",
    "",
    "10:00",
    "1:20:30",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "012",
    "0o17",
    "0x1F",
    "1e5",
    ".inf",
    "-.5",
    "+1",
    "1_000",
    "NaN",
    ".nan",
    "=",
    "<<",
    "- item",
    "&a",
    "*a",
    "!!python/object",
    "!!python/object/apply:os.system",
    "!tag",
    "? key",
    "key: value",
    "a:b",
    "x:",
    "#hash",
    "a #b",
    "[[Sections/A/B|B]]",
    "[x]",
    "{x}",
    "|",
    ">",
    "%x",
    "@x",
    "`x`",
    "'q'",
    '"dq"',
    " lead",
    "trail ",
    "multi\nline",
    "tab\there",
    "nul\x00bell\x07",
    "nel\x85ls\u2028ps\u2029",
    "\ufeffbom",
    "é 漢字 🙂",
    "a" * 300,
]


def ruamel_load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


def pyyaml_load(text: str) -> Any:
    return yaml.safe_load(text)


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_strings_read_back_identically_everywhere(value: str) -> None:
    text = yamlio.dump_mapping({"title": value, "aliases": [value, "x"]})
    for load in (yamlio.load, pyyaml_load, ruamel_load):
        data = load(text)
        assert data == {"title": value, "aliases": [value, "x"]}, load


def test_types_and_layout_obsidian_expects() -> None:
    text = yamlio.dump_mapping(
        {
            "year": 2024,
            "doi": None,
            "tags": ["a", "b"],
            "aliases": [],
            "added": dt.date(2024, 5, 1),
            "sections": [yamlio.WikiLink("[[Sections/A|A]]")],
            "sync-conflict": True,
        }
    )
    assert text == (
        "year: 2024\n"
        "doi:\n"
        "tags:\n  - a\n  - b\n"
        "aliases: []\n"
        "added: 2024-05-01\n"
        'sections:\n  - "[[Sections/A|A]]"\n'
        "sync-conflict: true\n"
    )
    assert pyyaml_load(text)["added"] == dt.date(2024, 5, 1)
    assert yamlio.load(text)["added"] == "2024-05-01"  # we never coerce dates


def test_reader_keeps_user_strings_as_strings() -> None:
    data = yamlio.load(
        "a: yes\nb: 10:00\nc: 2024-01-01\nd: on\ne: 012\nf: 0o17\ng: true\nh: ~\ni: 1.5\n"
    )
    assert data == {
        "a": "yes",
        "b": "10:00",
        "c": "2024-01-01",
        "d": "on",
        "e": 12,
        "f": 15,
        "g": True,
        "h": None,
        "i": 1.5,
    }


def test_reader_refuses_python_tags() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlio.load("x: !!python/object/apply:os.system ['true']\n")


@given(st.text(max_size=80))
def test_any_string_round_trips(value: str) -> None:
    text = yamlio.dump_mapping({"k": value, "l": [value]})
    expected = {"k": value, "l": [value]}
    assert yamlio.load(text) == expected
    assert pyyaml_load(text) == expected
    assert ruamel_load(text) == expected
