"""Untrusted titles become safe, stable file names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.vault.names import (
    MAX_NAME_BYTES,
    cut_utf8,
    is_litter,
    note_stem,
    sanitize_name,
    with_suffix,
)

GOLDEN = [
    (
        "LaMP: When Large Language Models Meet Personalization",
        None,
        "LaMP - When Large Language Models Meet Personalization",
    ),
    (
        "When Large Language Models Meet Personalization",
        "LaMP",
        "LaMP - When Large Language Models Meet Personalization",
    ),
    ("LaMP: a benchmark", "LaMP", "LaMP - a benchmark"),
    ('He said "hi" #1 [[x]] ^b | a/b\\c * ? < >', None, "He said 'hi' 1 ((x)) b - a-b-c"),
    ("../../etc/passwd", None, "etc-passwd"),
    ("....", None, ""),
    ("CON", None, "CON_"),
    ("nul.txt", None, "nul.txt_"),
    ("com1", None, "com1_"),
    ("Tab\tNUL\x00Bell\x07 DEL\x7f end", None, "Tab NUL Bell DEL end"),
    (".hidden title", None, "hidden title"),
    ("Wait... what?", None, "Wait… what"),
    ("Ünïcödé 漢字 — ok", None, "Ünïcödé 漢字 — ok"),
    ("trailing dots and spaces . . .", None, "trailing dots and spaces"),
]


@pytest.mark.parametrize(("title", "method", "expected"), GOLDEN)
def test_golden_names(title: str, method: str | None, expected: str) -> None:
    base = f"{method} - {title}" if method and not title.startswith(method) else title
    assert sanitize_name(base) == expected


def test_empty_title_falls_back_to_id() -> None:
    assert note_stem(None, "....", "title:abc").startswith("Untitled ")
    assert note_stem("", "", "x") == note_stem("", "", "x")  # stable


def test_long_title_is_cut_in_bytes_on_a_character_boundary() -> None:
    title = "é" * 300  # 2 bytes each
    name = sanitize_name(title)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert name == "é" * (MAX_NAME_BYTES // 2)
    suffixed = with_suffix(name, "arxiv:1")
    assert len(suffixed.encode("utf-8")) <= MAX_NAME_BYTES and suffixed.endswith(")")


def test_cut_never_splits_an_accent_from_its_letter() -> None:
    text = "a" * 9 + "e\u0301"  # e + combining acute: 1 + 2 bytes
    assert cut_utf8(text, 11) == "a" * 9  # "e" alone would lose its accent


@given(st.text(min_size=0, max_size=400))
def test_any_text_becomes_one_safe_component(text: str) -> None:
    name = sanitize_name(text)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not any(c in name for c in '\\/:*?"<>|#^[]')
    assert not any(ord(c) < 32 or ord(c) == 127 for c in name)
    assert not name.startswith(".") and ".." not in name
    assert name == name.strip(" .")
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


@pytest.mark.parametrize(
    ("name", "litter"),
    [
        ("note.md", False),
        ("Note (2).md", False),
        (".note.md.swp", True),
        ("note.sync-conflict-20240101-120000-ABCDEFG.md", True),
        ("note (conflicted copy 2024-01-01).md", True),
        ("~$note.md", True),
        (".#note.md", True),
        ("note.md~", True),
        ("note.tmp", True),
        (".LaMP.md.x1y2.tmp", True),
    ],
)
def test_litter(name: str, litter: bool) -> None:
    assert is_litter(name) is litter


_FRAGMENTS = ["conflict", "CONFLİCT", "confLıct", "onfl", ".sync", "-", " (", "ed copy", ".md"]
_CONFLICTISH = st.lists(st.sampled_from([*_FRAGMENTS, "a", "İ", "ı", "~", "$", "#", "."])).map(
    "".join
)


@given(st.one_of(_CONFLICTISH, _CONFLICTISH.map(lambda s: s + ".md"), st.text(max_size=30)))
def test_litter_fast_path_agrees_with_the_patterns(name: str) -> None:
    """A note's name skips the patterns unless it spells "conflict" in some case (every
    scan asks this of every file): the answer is the patterns' own, whatever the case."""
    from pllm_sync.vault.names import _LITTER_RE

    expected = name.startswith((".", "~$", "#")) or bool(_LITTER_RE.search(name))
    assert is_litter(name) is expected
    if name.endswith(".md") and name[:1] not in ".~#" and "onfl" not in name.lower():
        assert not expected  # what the vault walk takes without asking


def _sanitize_by_regex(text: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``sanitize_name`` as it was written before its fast steps: every rule a regex."""
    import unicodedata

    from pllm_sync.vault import names

    t = unicodedata.normalize("NFC", text)
    if not t.isprintable():
        t = "".join(" " if names._is_control(c) else c for c in t)
    t = names._FORBIDDEN.sub(lambda m: names._REPLACE[m.group(0)], t)
    t = names._SPACES.sub(" ", t).strip(" .-")
    t = names._DOTS.sub("…", t)
    t = names._DASHES.sub(" - ", t)
    t = t.strip(" .-")
    t = names.cut_at_word(t, max_bytes).rstrip(" .-")
    if t.split(".")[0].strip().upper() in names._WINDOWS_RESERVED:
        t = names.cut_utf8(t, max_bytes - 1) + "_"
    return t


@pytest.mark.parametrize(
    "text",
    [
        "Synthetic Paper 7: On Personalization Number 7.",
        "  \t lead and trail \u2003 ",
        "a\u2028b\u3000c\x1cd\x85e",
        "..hidden.. and ... dots",
        "A - B - C",
        "a -- b",
        "a - \t - b",
        "-x-",
        "one-dash",
        'what? a <b> | c* "d" #e ^f [g] \\h/i:j',
        "con.txt",
        "  CON  .md",
        "COM¹",
        ". . . - - -",
        "x" * 130 + " y",
        "Ünïcödé\u0301 ti\u200btle\u202e",
        "",
    ],
)
def test_sanitize_fast_steps_match_the_regexes(text: str) -> None:
    assert sanitize_name(text) == _sanitize_by_regex(text)
    assert sanitize_name(text, 12) == _sanitize_by_regex(text, 12)


@given(st.text(alphabet=st.sampled_from(" \t\u3000\u2028\x1f.-:/abcÉ?#[]"), max_size=40))
def test_sanitize_fast_steps_match_the_regexes_on_any_mix(text: str) -> None:
    assert sanitize_name(text) == _sanitize_by_regex(text)


def test_str_split_whitespace_is_the_regex_whitespace() -> None:
    """The fast step splits on ``str.split``'s whitespace where the regex matched ``\\s``."""
    import re
    import sys

    space = re.compile(r"\s")
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        assert (len(f"a{c}b".split()) == 2) == bool(space.fullmatch(c)), hex(cp)
