"""Better BibTeX-compatible citation keys: form, uniqueness, permanence."""

from __future__ import annotations

from pathlib import Path

import pytest

from pllm_sync.metadata.cache import CitekeyRegistry
from pllm_sync.metadata.citekey import base_key, unique_key
from pllm_sync.metadata.resolver import assign_citekeys
from pllm_sync.model import Paper


@pytest.mark.parametrize(
    ("authors", "title", "year", "key"),
    [
        (
            ("Ashish Vaswani", "Noam Shazeer"),
            "Attention Is All You Need",
            2017,
            "vaswaniAttentionAllYou2017",
        ),
        (
            ("Alireza Salemi",),
            "LaMP: When Large Language Models Meet Personalization",
            2023,
            "salemiLaMPWhenLarge2023",
        ),
        (
            ("Andrés M Bran",),
            "Augmenting large language models with chemistry tools",
            2023,
            "branAugmentingLargeLanguage2023",
        ),
        (("Jörg van der Müller",), "The Art of the Possible", None, "mullerArtPossible"),
        (("Smith, John",), "A survey", 2020, "smithSurvey2020"),
        ((), "A survey", 2020, "Survey2020"),
    ],
)
def test_key_form(authors: tuple[str, ...], title: str, year: int | None, key: str) -> None:
    assert base_key(authors, title, year) == key


def test_duplicates_get_letters() -> None:
    taken = {"x2020", "x2020a"}
    assert unique_key("x2020", taken) == "x2020b"
    assert unique_key("y", set()) == "y"
    many = {"k"} | {"k" + chr(c) for c in range(ord("a"), ord("z") + 1)}
    assert unique_key("k", many) == "kaa"


def test_keys_are_unique_and_stable_once_given(tmp_path: Path) -> None:
    reg = CitekeyRegistry(tmp_path / "keys.sqlite3")
    a = Paper(id="arxiv:1", title="Attention Is All You Need", year=2017, authors=("A Vaswani",))
    b = Paper(id="arxiv:2", title="Attention is all you need!", year=2017, authors=("B Vaswani",))
    bare = Paper(id="title:x", title="No authors yet", year=2020)
    out, new = assign_citekeys([a, b, bare], reg)
    assert [p.citekey for p in out] == [
        "vaswaniAttentionAllYou2017",
        "vaswaniAttentionAllYou2017a",
        None,
    ]
    assert new == 2
    # later the metadata changes (a corrected year, a new first author): the key stays
    moved = Paper(id="arxiv:1", title="Attention", year=2018, authors=("Z Other",))
    out2, new2 = assign_citekeys([moved], reg)
    assert out2[0].citekey == "vaswaniAttentionAllYou2017" and new2 == 0
    reg.close()
