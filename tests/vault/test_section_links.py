"""SectionLinks remembers what key_for and link_for answered, until a register() changes
what they read: the remembered answer is always the one worked out afresh."""

from __future__ import annotations

import pytest

from pllm_sync.vault.sections import SectionLinks


def _fresh(links: SectionLinks, raw: str) -> str | None:
    return links._key_for(raw)


@pytest.mark.parametrize(
    ("raw", "before", "after"),
    [
        ("[[X]]", "X", "A / X"),  # a short link: unknown, then the registered section
        ("  [[Sections/A/X|X]] ", "A / X", "A / X"),
        ("[[Sections/Other]]", "Other", "Other"),
        ("X", "X", "A / X"),  # a plain base name resolves once it is known
        ("A / X", "A / X", "A / X"),
        ("   ", None, None),
    ],
)
def test_key_for_is_remembered_until_a_register(
    raw: str, before: str | None, after: str | None
) -> None:
    links = SectionLinks("Sections")
    assert links.key_for(raw) == before == _fresh(links, raw)
    assert links.key_for(raw) == before  # remembered
    links.register("A / X", "Sections/A/X", alias="Ex")
    assert links.key_for(raw) == after == _fresh(links, raw)


def test_a_second_section_of_the_same_name_makes_a_short_link_ambiguous_again() -> None:
    links = SectionLinks("Sections")
    links.register("A / X", "Sections/A/X")
    assert links.key_for("[[X]]") == "A / X"
    links.register("B / X", "Sections/B/X")
    assert links.key_for("[[X]]") == "X" == _fresh(links, "[[X]]")


def test_link_for_follows_a_register() -> None:
    links = SectionLinks("Sections")
    assert links.link_for("A / X") == "[[Sections/A/X|X]]"
    links.register_path(("A", "X"))  # the default target again: the same link
    assert links.link_for("A / X") == "[[Sections/A/X|X]]"
    links.register("A / X", "Sections/Renamed", alias="Ex")
    assert links.link_for("A / X") == "[[Sections/Renamed|Ex]]"
    links.register_path(("A", "X"))  # weaker than the authoritative one: no change
    assert links.link_for("A / X") == "[[Sections/Renamed|Ex]]"
