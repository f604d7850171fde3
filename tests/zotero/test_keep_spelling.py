"""Notes read back from Zotero keep the vault's spelling where Zotero did not change the text
(issue 8, item 3)."""

from __future__ import annotations

import pytest

from pllm_sync.zotero.notes_html import keep_spelling, roundtrip_markdown

BASE = "$\\theta_{t+1}$ is the update\nwith two lines\n\n* item one\n* item two\n\nLast paragraph."


@pytest.mark.parametrize(
    ("zotero_text", "expected"),
    [
        (roundtrip_markdown(BASE), BASE),  # a re-save: nothing changed, nothing respelled
        (roundtrip_markdown(BASE) + "\n\nAdded.", BASE + "\n\nAdded."),
        (
            roundtrip_markdown(BASE).replace("Last paragraph.", "Edited last."),
            BASE.replace("Last paragraph.", "Edited last."),
        ),
        ("Everything replaced.", "Everything replaced."),
        ("", ""),
    ],
)
def test_only_changed_blocks_take_zoteros_spelling(zotero_text: str, expected: str) -> None:
    assert keep_spelling(BASE, zotero_text) == expected


def test_a_block_zotero_changed_takes_its_text_whole() -> None:
    base = "keep $x_{1}$\n\nchange $y_{2}$"
    zotero = roundtrip_markdown(base).replace("change", "changed")
    # (math comes back unescaped now: it was "$y\\_{2}$", which Obsidian does not render)
    assert zotero.endswith("changed $y_{2}$")
    assert keep_spelling(base, zotero) == "keep $x_{1}$\n\nchanged $y_{2}$"


def test_blocks_that_do_not_round_trip_alone_fall_back_to_the_converted_text() -> None:
    base = "```\ncode\n\nmore code\n```"
    converted = roundtrip_markdown(base) + "\n\nnew"
    assert keep_spelling(base, converted) == converted
