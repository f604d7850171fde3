"""Every entry shape the reader knows, one small document each (issue 10's list of shapes)."""

from __future__ import annotations

from pllm_sync.catalog import Entry, parse_document

A1, A2, A3 = "2401.00001", "2401.00002", "2401.00003"


def _entries(md: str) -> list[Entry]:
    doc = parse_document(md, "t")
    return doc.entries


def test_bold_title_with_role_link_bullets_are_read() -> None:
    """The issue's example: this shape used to give 0 papers and 0 warnings."""
    md = f"# L\n## S\n- **First Paper Title** [[paper]](https://arxiv.org/abs/{A1})\n"
    md += f"- **Second Paper Title** [[pdf]](https://arxiv.org/pdf/{A2}) [[code]](https://github.com/a/b)\n"
    es = _entries(md)
    assert [(e.title, e.ids.arxiv) for e in es] == [
        ("First Paper Title", A1),
        ("Second Paper Title", A2),
    ]
    assert es[1].code_url == "https://github.com/a/b"


def test_html_table_one_row_per_line_with_header_and_badges() -> None:
    md = (
        "# L\n## HTML\n<table>\n"
        "<tr><th>Title</th><th>Venue</th><th>Paper</th><th>Code</th></tr>\n"
        f'<tr><td>Alpha: A Paper</td><td>ACL 2024</td><td><a href="https://arxiv.org/abs/{A1}">'
        '<img src="https://img.shields.io/badge/arXiv-b31b1b.svg" alt="arXiv"></a></td>'
        '<td><a href="https://github.com/x/alpha">code</a></td></tr>\n'
        f'<tr><td><a href="https://arxiv.org/abs/{A2}">Beta [Tag] Paper</a></td><td>NeurIPS 2023</td>'
        "<td></td><td></td></tr>\n"
        "</table>\n"
    )
    es = _entries(md)
    assert [(e.line, e.title, e.ids.arxiv, e.style) for e in es] == [
        (5, "Alpha: A Paper", A1, "html"),
        (6, "Beta [Tag] Paper", A2, "html"),
    ]
    assert es[0].code_url == "https://github.com/x/alpha"
    assert es[0].venue is not None and es[0].venue.name == "ACL" and es[0].year == 2024
    assert es[0].section == ("L", "HTML")


def test_html_table_rows_over_many_lines_and_rowspan() -> None:
    md = (
        "# L\n<table>\n  <thead>\n    <tr>\n      <th>Venue</th>\n      <th>Paper</th>\n"
        "    </tr>\n  </thead>\n"
        '  <tr>\n    <td rowspan="2">ICLR 2024</td>\n'
        f'    <td><a href="https://arxiv.org/abs/{A1}">First Spread Paper</a></td>\n  </tr>\n'
        "  <tr>\n"
        f'    <td><a href="https://arxiv.org/abs/{A2}">Second Spread Paper</a></td>\n  </tr>\n'
        "\n"
        "  <tr>\n    <td>ACL 2023</td>\n"
        f'    <td><a href="https://arxiv.org/abs/{A3}">After A Blank Line</a></td>\n  </tr>\n'
        "</table>\n"
    )
    es = _entries(md)
    assert [(e.line, e.title) for e in es] == [
        (9, "First Spread Paper"),
        (13, "Second Spread Paper"),
        (17, "After A Blank Line"),
    ]
    assert [e.year for e in es] == [2024, 2024, 2023]


def test_html_table_of_contents_is_not_papers() -> None:
    md = '# L\n<table><tr><td><ul><li><a href="#sec">Sec</a></li></ul></td></tr></table>\n'
    doc = parse_document(md, "t")
    assert doc.entries == []


def test_one_heading_per_paper_with_badges_then_summary() -> None:
    md = (
        "# L\n## Reasoning\n"
        f"### 12. [Chain of Thought Prompting Elicits Reasoning](https://arxiv.org/abs/{A1})\n"
        "[![Code](https://img.shields.io/badge/Code-x-blue)](https://github.com/x/cot)\n"
        "\nA summary that mentions [a blog](https://example.com/blog) in passing.\n"
        f"### 13. [Second Heading Paper Title](https://arxiv.org/abs/{A2})\n"
        "Summary.\n"
        "## Next Section\n"
        f"- [Bullet Paper In Next Section](https://arxiv.org/abs/{A3})\n"
    )
    doc = parse_document(md, "t")
    assert [(e.title, e.style, e.section) for e in doc.entries] == [
        ("Chain of Thought Prompting Elicits Reasoning", "heading", ("L", "Reasoning")),
        ("Second Heading Paper Title", "heading", ("L", "Reasoning")),
        ("Bullet Paper In Next Section", "bullet", ("L", "Next Section")),
    ]
    assert doc.entries[0].code_url == "https://github.com/x/cot"


def test_paragraph_title_link_then_badge_lines() -> None:
    md = (
        "# L\n## S\n"
        f"[**A Paragraph Style Paper Title**](https://arxiv.org/abs/{A1})\n"
        "[![Code](https://img.shields.io/badge/Code-x)](https://github.com/x/y)"
        " [![Project](https://img.shields.io/badge/Project-x)](https://x.github.io/)\n"
        "\nSome prose with [a link](https://example.com) is not a paper.\n"
    )
    es = _entries(md)
    assert [(e.title, e.ids.arxiv, e.code_url) for e in es] == [
        ("A Paragraph Style Paper Title", A1, "https://github.com/x/y")
    ]
    assert [lk.role for lk in es[0].links] == ["website"]


def test_numbered_multiline_entries_with_br_and_sub_bullets() -> None:
    md = (
        "# L\n## S\n"
        f"1. **Multi Line Paper Title**\n   *Jane Doe, John Roe.* ACL 2024.\n"
        f"   [[paper](https://arxiv.org/abs/{A1})]\n"
        f"2) Br Paper Title <br> Ann Poe, Bob Lee <br> [[pdf]](https://arxiv.org/pdf/{A2})\n"
        f"- [Sub Bullet Paper Title](https://arxiv.org/abs/{A3})\n"
        "  - Authors: Carl Fox, Dana Wu\n"
        "  - Venue: NeurIPS 2023\n"
        "  - Institutions: Somewhere University\n"
        "  - TL;DR: short [link](https://example.com/x) summary.\n"
        "  - Code: [repo](https://github.com/c/d)\n"
    )
    doc = parse_document(md, "t")
    es = doc.entries
    assert [(e.title, e.authors) for e in es] == [
        ("Multi Line Paper Title", ("Jane Doe", "John Roe")),
        ("Br Paper Title", ("Ann Poe", "Bob Lee")),
        ("Sub Bullet Paper Title", ("Carl Fox", "Dana Wu")),
    ]
    assert es[2].venue is not None and es[2].venue.name == "NeurIPS" and es[2].year == 2023
    assert [lk.url for lk in es[2].links] == ["https://github.com/c/d"]
    assert len(es) == 3  # the sub-bullets are not papers of their own


def test_date_and_venue_tags() -> None:
    md = (
        "# L\n"
        f"- [2025/04] Slash Date Paper. [[paper](https://arxiv.org/abs/{A1})]\n"
        f"- [Mar 2024] Month Date Paper [[paper](https://arxiv.org/abs/{A2})]\n"
        f"- **[2024 NeurIPS]** Bold Venue Tag Paper [[paper](https://arxiv.org/abs/{A3})]\n"
        "- [Paren Venue Paper](https://arxiv.org/abs/2401.00004) (ACL 2024)\n"
        "- [Fullwidth Date Paper](https://arxiv.org/abs/2401.00005)（2023.05.02）\n"
        '- "Quoted Title Paper," [[paper](https://arxiv.org/abs/2401.00006)]\n'
    )
    es = _entries(md)
    got = [(e.title, e.year, e.venue.name if e.venue else None) for e in es]
    assert got == [
        ("Slash Date Paper", 2025, None),
        ("Month Date Paper", 2024, None),
        ("Bold Venue Tag Paper", 2024, "NeurIPS"),
        ("Paren Venue Paper", 2024, "ACL"),
        ("Fullwidth Date Paper", 2023, None),  # the date tag, not the arXiv id's 2024
        ("Quoted Title Paper", 2024, None),
    ]


def test_a_list_with_links_but_no_known_shape_says_so() -> None:
    md = "# L\nSee https://example.com and [our site](https://example.com).\n"
    doc = parse_document(md, "t")
    assert doc.entries == []
    assert any("no paper entries found" in w.message for w in doc.warnings)


def test_hostile_html_table_is_linear_and_safe() -> None:
    rows = "".join(
        f'<tr><td><a href="https://arxiv.org/abs/2401.{i:05d}">Paper {i} <script>x</script>'
        "</a></td></tr>"
        for i in range(2000)
    )
    md = "# L\n<table><tr><th>Title</th></tr>" + rows + "<tr><td><a href=" + "<" * 50_000
    doc = parse_document(md, "t")
    assert len(doc.entries) == 2000
    assert all("<" not in e.title for e in doc.entries)


def test_bold_title_paragraph_then_field_bullets() -> None:
    md = (
        "# L\n# Diffusion\n\n**Instance Level Control For Images**\n\n"
        "- Homepage: https://example.github.io/inst/\n\n"
        f"- Paper: https://arxiv.org/abs/{A1}\n- Code: https://github.com/x/inst\n\n"
        "**A Bold Paragraph Title** <br />\nAnn Poe, Bob Lee.\n"
        f"[[paper](https://arxiv.org/abs/{A2})][[code](https://github.com/x/y)]\n"
    )
    es = _entries(md)
    assert [(e.title, e.ids.arxiv, e.code_url) for e in es] == [
        ("Instance Level Control For Images", A1, "https://github.com/x/inst"),
        ("A Bold Paragraph Title", A2, "https://github.com/x/y"),
    ]
    assert es[1].authors == ("Ann Poe", "Bob Lee")


def test_loose_list_item_with_its_links_in_an_indented_paragraph() -> None:
    md = (
        "# L\n## Contents\n### Tools\n"
        "* **Adaptive Chameleon or Stubborn Sloth** Preprint 2023.\n\n"
        f"  *Jian Xie, Kai Zhang* [[pdf](https://arxiv.org/pdf/{A1}.pdf)]\n\n"
        f"- paper: [Visual Instruction Tuning](https://arxiv.org/abs/{A2})\n"
    )
    es = _entries(md)
    assert [(e.title, e.authors, e.section[-1]) for e in es] == [
        ("Adaptive Chameleon or Stubborn Sloth", ("Jian Xie", "Kai Zhang"), "Tools"),
        ("Visual Instruction Tuning", (), "Tools"),
    ]


def test_html_table_with_a_two_row_header_and_colspan() -> None:
    md = (
        "# L\n<table>\n<tr><td rowspan='2'>Model</td><td colspan='2'>Memory</td>"
        "<td rowspan='2'>Paper</td><td rowspan='2'>Code</td></tr>\n"
        "<tr><td>Operation</td><td>Structure</td></tr>\n"
        f"<tr><td>SayCan</td><td>-</td><td>-</td><td><a href='https://arxiv.org/abs/{A1}'>"
        "Paper</a></td><td><a href='https://say-can.github.io/'>Code</a></td></tr>\n"
        "</table>\n"
    )
    es = _entries(md)
    assert [(e.title, e.ids.arxiv) for e in es] == [("SayCan", A1)]


def test_every_link_gets_a_kind() -> None:
    md = (
        "# L\n| Title | Links |\n| --- | --- |\n"
        "| Kinds Paper | [![arXiv](https://img.shields.io/badge/arXiv-x)](https://arxiv.org/abs/2401.00001)"
        " [pdf](https://openaccess.thecvf.com/content/x_paper.pdf)"
        " [DOI](https://doi.org/10.1145/123.456) [OpenReview](https://openreview.net/forum?id=abc)"
        " [ACL](https://aclanthology.org/2024.acl-long.1/) [Code](https://github.com/a/b)"
        " [Project](https://a.github.io/b/) [Data](https://huggingface.co/datasets/a/b)"
        " [Video](https://www.youtube.com/watch?v=x) |\n"
    )
    (e,) = _entries(md)
    assert [k for k, _ in e.link_kinds] == [
        "arxiv",
        "code",
        "pdf",
        "doi",
        "openreview",
        "acl",
        "project",
        "dataset",
        "video",
    ]


def test_a_huge_entry_is_read_in_bounded_time() -> None:
    """A tagged line followed by 200,000 characters of emphasis and quote markers: the title
    and author searches look at a bounded prefix, so this stays linear."""
    filler = '*a* _b_ "c" **d** ' * 12_000
    lines = "\n".join(filler[k : k + 15_000] for k in range(0, len(filler), 15_000))
    md = "# L\n- [2024/01] Title " + lines + "\n[[paper](https://arxiv.org/abs/2401.00001)]\n"
    doc = parse_document(md, "t")
    assert len(doc.entries) == 1
    assert doc.entries[0].ids.arxiv == "2401.00001"


def test_the_survey_a_list_announces_in_its_introduction_or_news() -> None:
    md = (
        "# Papers\n> The organization follows our survey "
        '[**"A Survey of Large Language Models"**](https://arxiv.org/abs/2303.18223).\n'
        "## News\n- [2023/09] Our survey is released! See "
        "[The Rise and Potential of Agents: A Survey](https://arxiv.org/abs/2309.07864).\n"
        "- We moved to [a new website](https://example.com/site) for the survey.\n"
        "## Section\n"
        "> See also the survey [Some Other Survey On Agents](https://arxiv.org/abs/2401.00009)\n"
    )
    doc = parse_document(md, "t")
    assert [(e.title, e.section) for e in doc.entries] == [
        ("A Survey of Large Language Models", ("Papers",)),
        ("The Rise and Potential of Agents: A Survey", ("Papers",)),
    ]


def test_link_less_bold_titles_with_authors_and_venue_labelled_links() -> None:
    md = (
        "# L\n## Surveys\n"
        "- **Multimodal Deep Learning Explained;** Matthias Aßenmacher et al\n"
        "- **GLM-130B** [[BAAI]](https://example.org/glm) Oct. 2022\n"
        "   GLM-130B: An Open Bilingual Pre-trained Model [[ICLR'23]](https://arxiv.org/pdf/2210.02414.pdf)\n"
        "- [Section link](#surveys)\n"
    )
    doc = parse_document(md, "t")
    got = [(e.title, e.authors, e.ids.arxiv) for e in doc.entries]
    assert got == [
        ("Multimodal Deep Learning Explained", ("Matthias Aßenmacher",), None),
        ("GLM-130B", (), "2210.02414"),
    ]
    assert doc.entries[0].url is None  # kept as a paper without links (title-hash id)
