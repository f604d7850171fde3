"""Block structure comes from markdown-it's token stream (issue 10): what CommonMark calls
code, a quote or a table is what the reader treats as one, wherever it sits."""

from __future__ import annotations

from pllm_sync.catalog import parse_document

ENTRY = "**\\[2024 EMNLP\\]** {title}. ([Paper](https://arxiv.org/abs/2401.0000{n}))"


def _titles(text: str) -> list[tuple[int, str]]:
    return [(e.line, e.title) for e in parse_document(text, "t").entries]


def test_code_fenced_inside_a_list_item_is_not_read() -> None:
    text = "\n".join(
        [
            "# L",
            "## S",
            "- " + ENTRY.format(title="Real Paper", n=1),
            "",
            "    ```",
            "    + " + ENTRY.format(title="Example In Code", n=2),
            "    ```",
        ]
    )
    assert _titles(text) == [(3, "Real Paper")]


def test_a_lazy_line_of_a_blockquote_is_part_of_the_quote() -> None:
    text = "\n".join(
        [
            "# L",
            "## S",
            "> Add your paper in this form:",
            ENTRY.format(title="Template Paper", n=1),
            "",
            "+ " + ENTRY.format(title="Real Paper", n=2),
        ]
    )
    assert _titles(text) == [(6, "Real Paper")]


def test_heading_and_code_right_after_an_html_table_are_markdown() -> None:
    text = "\n".join(
        [
            "# L",
            "<table><tr><td><a href='#s'>S</a></td></tr>",
            "</table>",
            "## S",
            "+ " + ENTRY.format(title="Real Paper", n=1),
            "## Citation",
            "```bibtex",
            "+ " + ENTRY.format(title="In BibTeX", n=2),
            "```",
        ]
    )
    doc = parse_document(text, "t")
    assert [(e.line, e.section, e.title) for e in doc.entries] == [(5, ("L", "S"), "Real Paper")]


def test_table_whose_separator_row_is_short_is_read_with_a_warning() -> None:
    text = "\n".join(
        [
            "# L",
            "## S",
            "| Title | Link |",
            "|---|",
            "| A Paper About Things | [Paper](https://arxiv.org/abs/2401.00001) |",
        ]
    )
    doc = parse_document(text, "t")
    assert [(e.line, e.title) for e in doc.entries] == [(5, "A Paper About Things")]
    (w,) = doc.warnings
    assert w.line == 3 and "separator row" in w.message


def test_setext_underline_is_not_a_section() -> None:
    text = "\n".join(
        ["# L", "## S", "Some intro", "---", "+ " + ENTRY.format(title="Real Paper", n=1)]
    )
    assert [e.section for e in parse_document(text, "t").entries] == [("L", "S")]


def test_table_rows_are_the_rows_markdown_it_reads() -> None:
    """A row without outer pipes and with an escaped pipe belongs to the table; a list
    item right under the table ends it (it is a bullet entry, not a row titled ``- ...``)."""
    text = "\n".join(
        [
            "# L",
            "## S",
            "| Title | Link |",
            "|---|---|",
            "A \\| B Paper Title | [Paper](https://arxiv.org/abs/2401.00001)",
            "- [List Paper Title Here](https://arxiv.org/abs/2401.00002) | note",
        ]
    )
    doc = parse_document(text, "t")
    assert [(e.line, e.style, e.title) for e in doc.entries] == [
        (5, "table", "A | B Paper Title"),
        (6, "bullet", "List Paper Title Here"),
    ]
    assert doc.warnings == []


def test_sections_are_markdown_it_headings() -> None:
    """Heading level and text come from the heading token: a closing ``##`` sequence and a
    comment are not part of the section name; a ``#`` without a space is text."""
    text = "\n".join(
        [
            "# L",
            "## 1. Alignment ##",
            "- " + ENTRY.format(title="First Paper", n=1),
            "### Data <!-- renamed later -->",
            "- " + ENTRY.format(title="Second Paper", n=2),
            "#NotAHeading",
            "- " + ENTRY.format(title="Third Paper", n=3),
        ]
    )
    doc = parse_document(text, "t")
    assert [(e.title, e.section) for e in doc.entries] == [
        ("First Paper", ("L", "Alignment")),
        ("Second Paper", ("L", "Alignment", "Data")),
        ("Third Paper", ("L", "Alignment", "Data")),
    ]


def test_indented_code_is_not_read_but_a_nested_item_is() -> None:
    """Four spaces after a blank line outside a list is code to markdown-it (and GitHub
    shows it so); the same indentation under a list item is a nested item."""
    text = "\n".join(
        [
            "# L",
            "## S",
            "Some prose.",
            "",
            "    + " + ENTRY.format(title="Example In Code", n=1),
            "",
            "- Group",
            "",
            "    + " + ENTRY.format(title="Nested Paper", n=2),
        ]
    )
    assert _titles(text) == [(9, "Nested Paper")]
