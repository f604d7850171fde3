"""Catalog text comes from the internet: titles and warnings are made harmless (review)."""

from __future__ import annotations

from pllm_sync.catalog import parse_document
from pllm_sync.model import CatalogWarning, Section


def test_template_code_in_a_title_is_neutralised_with_a_warning() -> None:
    text = (
        "# L\n\n## S\n\n+ **\\[2024 EMNLP\\]** Nice <%* require('child_process')"
        ".exec('touch /tmp/pwned') %> paper. ([Paper](https://arxiv.org/abs/2401.00001))\n"
    )
    doc = parse_document(text, "evil")
    (entry,) = doc.entries
    assert "<%" not in entry.title and "%>" not in entry.title
    assert any(w.line == 5 and "template code" in w.message for w in doc.warnings)


def test_invisible_and_direction_characters_are_removed() -> None:
    text = (
        "# L\n\n## S\n\n+ **\\[2024 EMNLP\\]** Safe\u202e txt.exe\u200b title. "
        "([Paper](https://arxiv.org/abs/2401.00002))\n"
    )
    (entry,) = parse_document(text, "evil").entries
    assert entry.title == "Safe txt.exe title"


def test_warnings_cannot_drive_the_terminal() -> None:
    shown = str(CatalogWarning("s", 3, "bad line", "x\x1b]0;pwned\x07 y \u202e z"))
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b" in shown


def test_many_sections_keep_unique_slugs() -> None:
    root = Section(name="L", slug="l", path=("L",))
    for i in range(3000):
        root.child(f"Section {i}")
        root.child("Dup-Name")
    root.child("dup name")  # same slug, other name
    assert len(root.children) == 3002
    assert len({c.slug for c in root.children}) == 3002
    assert root.child("Section 5") is next(c for c in root.children if c.name == "Section 5")
