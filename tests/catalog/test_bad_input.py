"""Hostile and broken input: no crash, no silent drop, bounded cost."""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.catalog import build_catalog, fetch_source, parse_document
from pllm_sync.config import SourceConfig

from .entry_lines import entry_lines

HEADER = "| Method | Paper Title | Published At | Link |\n| --- | --- | --- | --- |\n"


def _no_silent_drop(text: str, source: str = "t") -> None:
    doc = parse_document(text, source)
    seen = {e.line for e in doc.entries} | doc.warned_lines()
    missing = entry_lines(text) - seen
    assert not missing, sorted(missing)[:10]


def test_binary_file(tmp_path: Path) -> None:
    rnd = random.Random(7)
    data = bytes(rnd.randrange(256) for _ in range(200_000)) + b"\x00\x01|[](\n" * 100
    p = tmp_path / "blob.md"
    p.write_bytes(data)
    fetch = fetch_source(SourceConfig(name="blob", path=p))
    assert fetch.warning is not None and "binary" in fetch.warning
    doc = parse_document(fetch.text, "blob")
    assert doc.entries == []
    build_catalog([doc])


def test_empty_and_whitespace_files() -> None:
    for text in ("", "\n\n\n", "   \t  ", "\ufeff", "\r\n\r\n"):
        doc = parse_document(text, "empty")
        assert doc.entries == [] and doc.warnings == []
        assert doc.taxonomy.name == "empty" and doc.taxonomy.children == []
    assert build_catalog([parse_document("", "empty")]).papers == []


def test_rows_with_missing_and_extra_cells_are_warned_by_line() -> None:
    text = (
        "# L\n## S\n"
        + HEADER
        + "\n".join(
            [
                "| *A* | Title With Missing Cells |",  # line 5: only 2 cells
                "| *B* |",  # line 6: no title
                "| | | | |",  # line 7: empty row
                "| *C* | Title C | ACL'24 | [x](https://arxiv.org/abs/2401.00003) | extra | more |",
                "|*D*|Title D|ACL'24|[![Paper](i)](https://arxiv.org/abs/2401.00004)",  # no last pipe
            ]
        )
    )
    doc = parse_document(text, "t")
    assert [(e.line, e.title) for e in doc.entries] == [
        (5, "Title With Missing Cells"),
        (8, "Title C"),
        (9, "Title D"),
    ]
    by_line = {w.line: w.message for w in doc.warnings}
    assert "only 2 cells" in by_line[5]
    assert "no paper title" in by_line[6]
    assert "empty table row" in by_line[7]
    assert "extra cells" in by_line[8]
    _no_silent_drop(text)


def test_titles_that_look_like_paths_yaml_or_html_survive() -> None:
    titles = [
        "../../etc/passwd: A Study",
        "key: value",
        "- x",
        "&anchor Title *alias",
        "!!python/object:os.system Title",
        "Title with | escaped \\| pipe",
        "{{template}} and %s and ${HOME}",
        "Null: ~ and yes: no",
    ]
    lines = [
        f"+ **\\[2024 ACL\\]** {t}. ([Paper](https://arxiv.org/abs/2401.{i:05d}))"
        for i, t in enumerate(titles)
    ]
    lines.append(
        "+ **\\[2024 ACL\\]** <script>alert(1)</script>Safe Title. ([Paper](https://arxiv.org/abs/2401.09999))"
    )
    text = "# L\n## S\n" + "\n".join(lines) + "\n"
    doc = parse_document(text, "t")
    got = [e.title for e in doc.entries]
    # Kept verbatim; only markdown escapes are undone (``\\|`` -> ``|``) and HTML tags dropped.
    assert got == [
        "../../etc/passwd: A Study",
        "key: value",
        "- x",
        "&anchor Title *alias",
        "!!python/object:os.system Title",
        "Title with | escaped | pipe",
        "{{template}} and %s and ${HOME}",
        "Null: ~ and yes: no",
        "alert(1)Safe Title",
    ]
    html = [w for w in doc.warnings if w.line == 11]
    assert html and "<script>" in html[0].message
    _no_silent_drop(text)


def test_control_characters_and_mojibake() -> None:
    text = (
        "# L\xad\n[![](https://img.shields.io/badge/ðŸ“‘-Survey_Paper-blue)](https://a.b)\n"
        "+ **\\[2024 ACL\\]** Bad\x00Title\x1b[31m. ([Paper](https://arxiv.org/abs/2401.00001))\n"
    )
    doc = parse_document(text, "t")
    assert doc.entries[0].title == "BadTitle[31m"
    assert any("control characters" in w.message for w in doc.warnings)


def test_unclosed_code_fence_and_comment_are_reported() -> None:
    entry = "+ **\\[2024 ACL\\]** Hidden. ([Paper](https://arxiv.org/abs/2401.00001))\n"
    for opener in ("```", "<!-- start"):
        doc = parse_document(f"# L\n{opener}\n{entry}", "t")
        assert doc.entries == []
        assert any("never closed" in w.message for w in doc.warnings)


def test_unclosed_html_table_ends_at_a_blank_line() -> None:
    text = '# L\n<table>\n<tr><td><a href="#x">X</a>\n\n' + (
        "+ **\\[2024 ACL\\]** Visible. ([Paper](https://arxiv.org/abs/2401.00001))\n"
    )
    assert [e.title for e in parse_document(text, "t").entries] == ["Visible"]


_FRAGMENTS = st.sampled_from(
    [
        "+ ",
        "- ",
        "* ",
        "1. ",
        "+",
        "|",
        " | ",
        "||",
        "| --- |",
        "#",
        "## ",
        "> ",
        "```",
        "<!--",
        "-->",
        "<table>",
        "</table>",
        "<br>",
        "**",
        "\\[",
        "\\]",
        "[",
        "]",
        "(",
        ")",
        "![",
        "](",
        "[Paper](",
        "[Code](",
        "https://arxiv.org/abs/2401.00001",
        "http://x",
        "2024 EMNLP",
        "Arxiv-2603",
        "'24",
        " Title ",
        ".",
        ",",
        "\xa0",
        "\t",
        "é",
        "\x00",
        "\\",
        "_",
        "$",
        "@",
        "`",
    ]
)


@given(st.lists(st.lists(_FRAGMENTS, max_size=14).map("".join), max_size=30).map("\n".join))
def test_arbitrary_markdown_never_crashes(text: str) -> None:
    doc = parse_document(text, "fuzz")
    n = text.count("\n") + 1
    for e in doc.entries:
        assert 1 <= e.line <= n
        assert e.title
    build_catalog([doc, parse_document(text, "fuzz2")])


def test_fifty_megabytes_parse_in_bounded_memory(tmp_path: Path) -> None:
    """A 50 MB README: a 10 MB single line of brackets, a 19,999-character bracket line just
    under the per-line limit, 30 MB of prose, an 8 MB code block, and 4,000 real entries.
    Parsed in a child process so its peak memory can be read; the global pytest timeout
    catches a super-linear blow-up."""
    path = tmp_path / "big.md"
    with path.open("w", encoding="utf-8") as f:
        f.write("# Big\n## Papers\n")
        f.write(HEADER)
        for i in range(2000):
            f.write(
                f"| *M{i}* | Table Paper {i} | ACL'24 | [![Paper](i)](https://arxiv.org/abs/2401.{i:05d}) |\n"
            )
        f.write("\n" + "[(" * 5_000_000 + "\n")
        f.write("[" * 9_999 + "](" * 5_000 + "\n")
        prose = (
            "Lorem ipsum dolor sit amet [not](a link) consectetur | adipiscing * elit. " * 4 + "\n"
        )
        f.write(prose * (33_000_000 // len(prose)))
        f.write(
            "```\n"
            + (
                "+ **\\[2024 ACL\\]** In code. ([Paper](https://arxiv.org/abs/2402.00001))\n"
                * 100_000
            )
            + "```\n"
        )
        for i in range(2000):
            f.write(
                f"+ **\\[2024 ACL\\]** Bullet Paper {i}. ([Paper](https://arxiv.org/abs/2403.{i:05d}))\n"
            )
    size = path.stat().st_size
    assert size >= 50_000_000
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pathlib import Path
        from pllm_sync.catalog import parse_document, build_catalog
        doc = parse_document(Path({str(path)!r}).read_text(encoding="utf-8"), "big")
        cat = build_catalog([doc])
        print(len(doc.entries), len(cat.papers), len(doc.warnings))
        # VmHWM is this program's own peak: ru_maxrss would also count the pytest worker
        # this process was forked from (Linux keeps the high-water mark across exec).
        hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
        print(hwm[0].split()[1] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    counts, rss = res.stdout.split("\n")[:2]
    entries, papers, warnings = map(int, counts.split())
    assert (entries, papers) == (4000, 4000)
    assert warnings == 1  # the 10 MB line, named by its line number
    peak_mb = int(rss) / 1024  # both are KiB on Linux
    print(f"50 MB parse: peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 8 * size / 1_000_000, f"peak {peak_mb:.0f} MB for a {size / 1e6:.0f} MB file"
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss > 0
