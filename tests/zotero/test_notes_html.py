"""Notes markdown <-> Zotero note HTML: stable after one round trip, markers recognised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.record import canonical_notes
from pllm_sync.zotero.notes_html import (
    html_to_markdown,
    is_pllm_note,
    markdown_to_html,
    note_html,
    note_markdown,
    roundtrip_markdown,
)

_word = st.text(
    alphabet=st.characters(
        categories=("L", "N"), include_characters="éüß漢字🐶—’", exclude_characters="\x00"
    ),
    min_size=1,
    max_size=8,
)
_phrase = st.lists(_word, min_size=1, max_size=6).map(" ".join)
_inline = st.one_of(
    _phrase,
    _phrase.map(lambda t: f"*{t}*"),
    _phrase.map(lambda t: f"**{t}**"),
    _phrase.map(lambda t: f"`{t}`"),
    st.tuples(_phrase, _word).map(lambda t: f"[{t[0]}](https://example.org/{t[1]})"),
    _phrase.map(lambda t: f"{t} a*b_c"),
)
_line = st.lists(_inline, min_size=1, max_size=4).map(" ".join)
_block = st.one_of(
    _line,
    st.tuples(st.integers(1, 4), _line).map(lambda t: "#" * t[0] + " " + t[1]),
    st.lists(_line, min_size=1, max_size=4).map(lambda xs: "\n".join(f"- {x}" for x in xs)),
    st.lists(_line, min_size=1, max_size=4).map(
        lambda xs: "\n".join(f"{i + 1}. {x}" for i, x in enumerate(xs))
    ),
    _line.map(lambda x: f"> {x}"),
    st.tuples(st.sampled_from(["", "python"]), _phrase).map(lambda t: f"```{t[0]}\n{t[1]}\n```"),
    st.lists(_line, min_size=2, max_size=3).map("\n".join),
)
_doc = st.lists(_block, min_size=1, max_size=6).map("\n\n".join)


@given(_doc)
def test_markdown_is_stable_after_one_round_trip(md: str) -> None:
    once = roundtrip_markdown(md)
    twice = roundtrip_markdown(once)
    assert canonical_notes(twice) == canonical_notes(once)


@given(_doc)
def test_note_html_round_trips_through_the_marker(md: str) -> None:
    html = note_html(md)
    assert is_pllm_note(html)
    assert note_markdown(html) == roundtrip_markdown(md)


def test_common_markdown_survives_unchanged() -> None:
    md = (
        "# Reading notes\n\nThe *key* idea is **retrieval** with `k=5` — see "
        "[the paper](https://arxiv.org/abs/2304.11406).\n\n- one\n- two\n  - nested\n\n"
        "1. first\n2. second\n\n> a quote\n\n```python\nprint('hi')\n```\n\nÜnïcödé 漢字 🐶"
    )
    assert roundtrip_markdown(md) == md


def test_raw_html_in_markdown_is_escaped_not_passed_through() -> None:
    html = markdown_to_html("<script>alert(1)</script> & <b>x</b>")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_markers() -> None:
    # Zotero's editor keeps the heading but drops unknown attributes of the wrapper.
    edited = '<div data-schema-version="9"><h1>pllm-sync notes</h1><p>mine</p></div>'
    assert is_pllm_note(edited) and note_markdown(edited) == "mine"
    assert is_pllm_note('<div data-pllm-sync="notes"><p>x</p></div>')
    assert not is_pllm_note("<div><h1>Notes</h1><p>someone else's note</p></div>")
    assert not is_pllm_note("<p>Comment: 13 pages</p>")
    assert html_to_markdown("") == "" and markdown_to_html("  \n") == ""


@pytest.mark.parametrize(
    "md",
    [
        r"The update is $\alpha_{t+1} = \alpha_t + \eta$.",
        r"A display formula: $$x_{i}^2 * y_{j}$$ and after it snake_case.",
        r"Two spans $a_{1}$ and $b_{2}$, then *emphasis*.",
    ],
)
def test_math_comes_back_from_zotero_unescaped(md: str) -> None:
    """Found by the Obsidian helper: any edit of the notes in Zotero brought the note's
    math back as ``$\\alpha\\_{t+1}$``, which Obsidian no longer renders."""
    from pllm_sync.zotero.notes_html import html_to_markdown, markdown_to_html

    assert html_to_markdown(markdown_to_html(md)) == md
