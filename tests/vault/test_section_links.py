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


KNOWN = {"L / Benchmarks / Benchmark-Dataset", "L / Methods / Benchmark-Dataset", "L / Methods"}


@pytest.mark.parametrize(
    ("entries", "agreed", "placed", "unknown", "ambiguous"),
    [
        ({"L / Methods"}, (), {"L / Methods"}, (), ()),  # nothing to place
        # a name two sections share: the one the paper is in
        (
            {"Benchmark-Dataset", "L / Methods"},
            {"L / Methods / Benchmark-Dataset", "L / Methods"},
            {"L / Methods / Benchmark-Dataset", "L / Methods"},
            (),
            (),
        ),
        # ... in neither (or both): ambiguous, with both candidates
        (
            {"benchmark-dataset"},
            (),
            set(),
            (),
            (("benchmark-dataset", tuple(sorted(KNOWN - {"L / Methods"}))),),
        ),
        (
            {"Benchmark-Dataset"},
            KNOWN,
            set(),
            (),
            (("Benchmark-Dataset", tuple(sorted(KNOWN - {"L / Methods"}))),),
        ),
        ({"Methods"}, (), {"L / Methods"}, (), ()),  # one section of that name
        ({"Gone", "L / Old / Gone"}, (), set(), ("Gone", "L / Old / Gone"), ()),  # none
    ],
)
def test_a_link_by_a_sections_name_alone_is_placed_where_it_can_be(
    entries: set[str],
    agreed: object,
    placed: set[str],
    unknown: tuple[str, ...],
    ambiguous: tuple[tuple[str, tuple[str, ...]], ...],
) -> None:
    from collections.abc import Collection

    from pllm_sync.vault.sections import place_unknown_sections

    assert isinstance(agreed, Collection)
    got = place_unknown_sections(entries, KNOWN, agreed)
    assert got == (frozenset(placed), unknown, ambiguous)


# ``Q&A?``, ``Q&A`` and ``q&a`` share one note name once sanitised and compared without case
QA_Q, QA, QA_LOW = "L / Q&A?", "L / Q&A", "L / q&a"


def _told_apart(links: SectionLinks) -> None:
    """The targets the index notes get: the first section keeps the plain name."""
    links.register(QA_Q, "Sections/L/Q&A", alias="Q&A?")
    links.register(QA, "Sections/L/Q&A (3b74cc27)", alias="Q&A")
    links.register(QA_LOW, "Sections/L/q&a (0fb82cea)", alias="q&a")


def test_sections_that_share_a_note_name_get_links_of_their_own() -> None:
    links = SectionLinks("Sections")
    for key in (QA_Q, QA, QA_LOW):  # notes rendered before the index notes were named
        links.register_path(tuple(key.split(" / ")))
    targets = {str(links.link_for(k)).split("|")[0].casefold() for k in (QA_Q, QA, QA_LOW)}
    assert len(targets) == 3, targets
    for key in (QA_Q, QA, QA_LOW):
        assert links.key_for(str(links.link_for(key))) == key
    _told_apart(links)  # renaming one section's target forgets only its own old entry
    for key in (QA_Q, QA, QA_LOW):
        assert (
            links.key_for(str(links.link_for(key)))
            == key
            == _fresh(links, str(links.link_for(key)))
        )


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("[[Sections/L/Q&A|Q&A?]]", QA_Q),
        ("[[Sections/L/Q&A (3b74cc27)|Q&A]]", QA),
        ("[[Sections/L/q&a (0fb82cea)|q&a]]", QA_LOW),
        # what an older version wrote for all three: the plain target, the section's name
        ("[[Sections/L/Q&A|Q&A]]", QA),
        ("[[Sections/L/q&a|q&a]]", QA_LOW),
        # a link to the plain note under another alias is that note's section
        ("[[Sections/L/Q&A|Questions]]", QA_Q),
        ("[[Sections/L/Q&A]]", QA_Q),
        ("[[Sections/L/q&a]]", QA_Q),
    ],
)
def test_links_to_sections_that_share_a_note_name(raw: str, key: str) -> None:
    links = SectionLinks("Sections")
    _told_apart(links)
    assert links.key_for(raw) == key == _fresh(links, raw)
