"""One test per quirk family of catalog-notes.md §3-§5, on lines copied from the real lists."""

from __future__ import annotations

import pytest

from pllm_sync.catalog import Entry, ParsedDocument, build_catalog, ids_from_url, parse_document
from pllm_sync.model import PaperIds, VenueKind, title_hash

from .helpers import CATALOGS, HEAD, SEEDS, parsed

TABLE_HEAD = (
    "# List\n\n## Sec\n\n"
    "|  Method   | Paper Title | Published At | Link |\n"
    "| :-------: | :---------: | :----------: | :--: |\n"
)
PAPER = "[![Paper](https://img.shields.io/badge/Paper-blue)]"


def table(*rows: str) -> ParsedDocument:
    return parse_document(TABLE_HEAD + "\n".join(rows) + "\n", "t")


def bullets(*lines: str) -> ParsedDocument:
    return parse_document("# List\n\n## Sec\n\n" + "\n\n".join(lines) + "\n", "b")


def only(doc: ParsedDocument) -> Entry:
    assert len(doc.entries) == 1, [e.title for e in doc.entries]
    return doc.entries[0]


# --- §3 table quirks ----------------------------------------------------------------------


def test_broken_nested_badge_link_uses_the_inner_target() -> None:
    doc = table(
        "|  *ONCE*  | ONCE: Boosting Content-based Recommendation with Both Open- and "
        "Closed-source Large Language Models |      WSDM'24       | "
        f"{PAPER}([https://arxiv.org/abs/2306.07206](https://arxiv.org/abs/2305.06566)) "
        "[![Github](https://img.shields.io/github/stars/Jyonn/ONCE.svg?style=social&label=Github)]"
        "(https://github.com/Jyonn/ONCE) |"
    )
    e = only(doc)
    assert e.url == "https://arxiv.org/abs/2305.06566"
    assert e.ids.arxiv == "2305.06566"
    assert e.code_url == "https://github.com/Jyonn/ONCE"
    assert [w.line for w in doc.warnings] == [7]
    assert "inner URL" in doc.warnings[0].message


def test_leading_space_target_and_badges_without_separator() -> None:
    e = only(
        table(
            "| *OPPU*  | Democratizing Large Language Models via Personalized Parameter-Efficient "
            f"Fine-tuning |   EMNLP'24   | {PAPER}(https://aclanthology.org/2025.acl-long.1177.pdf)"
            "[![Github](https://img.shields.io/github/stars/TamSiuhin/OPPU.svg?style=social)]"
            "( https://github.com/TamSiuhin/OPPU) |"
        )
    )
    assert e.url == "https://aclanthology.org/2025.acl-long.1177.pdf"
    assert e.code_url == "https://github.com/TamSiuhin/OPPU"
    assert e.ids.acl == "2025.acl-long.1177"


def test_star_badge_image_is_never_the_link() -> None:
    e = only(
        table(
            "| *Drift* | Drift: Decoding-time Personalized Alignments with Implicit User "
            "Preferences | Arxiv'25, EMNLP Findings'25 | "
            f"{PAPER}(https://arxiv.org/pdf/2502.14289)  "
            "[![Github](https://img.shields.io/github/stars/zowiezhang/Amulet.svg?style=social"
            "&label=Github)](https://github.com/minbeomkim/Drift) |"
        )
    )
    assert e.code_url == "https://github.com/minbeomkim/Drift"
    urls = [e.url, e.code_url, *(lk.url for lk in e.links)]
    assert not any("shields.io" in u or "Amulet" in u for u in urls if u)
    # The seed's PersonalLLM row: a "Github" badge that links to a Hugging Face dataset.
    seed = parsed(SEEDS / "000_table-list.md", "jiahongliu21")
    pllm = next(x for x in seed.entries if x.line == 135)
    assert pllm.code_url is None
    assert ("dataset", "https://huggingface.co/datasets/namkoong-lab/PersonalLLM") in {
        (lk.role, lk.url) for lk in pllm.links
    }


@pytest.mark.parametrize(
    ("url", "ids"),
    [
        ("https://arxiv.org/abs/2304.11406", PaperIds(arxiv="2304.11406")),
        ("https://arxiv.org/pdf/2503.07018", PaperIds(arxiv="2503.07018")),
        ("https://arxiv.org/pdf/2409.11901/", PaperIds(arxiv="2409.11901")),
        ("https://arxiv.org/abs/2408.10075v1", PaperIds(arxiv="2408.10075")),
        ("http://arxiv.org/pdf/2606.07877v1", PaperIds(arxiv="2606.07877")),
        ("https://arxiv.org/pdf/2603.28886.pdf", PaperIds(arxiv="2603.28886")),
        ("https://www.arxiv.org/abs/2407.11016", PaperIds(arxiv="2407.11016")),
        ("https://www.arxiv.org/pdf/2506.13772v2", PaperIds(arxiv="2506.13772")),
        ("https://arxiv.org/html/2501.00001v3", PaperIds(arxiv="2501.00001")),
        ("https://arxiv.org/abs/cs/0501001v2", PaperIds(arxiv="cs/0501001")),
        ("https://openreview.net/pdf?id=njE3swFBMc", PaperIds(openreview="njE3swFBMc")),
        ("https://openreview.net/forum?id=LYHEY783Np", PaperIds(openreview="LYHEY783Np")),
        ("https://aclanthology.org/2021.naacl-main.157/", PaperIds(acl="2021.naacl-main.157")),
        (
            "https://aclanthology.org/2021.findings-acl.129.pdf",
            PaperIds(acl="2021.findings-acl.129"),
        ),
        ("https://aclanthology.org/2024.personalize-1.8.pdf", PaperIds(acl="2024.personalize-1.8")),
        (
            "https://dlnext.acm.org/doi/pdf/10.1145/3626772.3657783",
            PaperIds(doi="10.1145/3626772.3657783"),
        ),
        ("https://dl.acm.org/doi/10.1145/3626772.3657783", PaperIds(doi="10.1145/3626772.3657783")),
        ("https://doi.org/10.1007/ABC-123", PaperIds(doi="10.1007/abc-123")),
        ("https://ieeexplore.ieee.org/document/10337079", PaperIds()),
        ("https://neurips.cc/virtual/2025/loc/san-diego/poster/116748", PaperIds()),
        ("https://aclanthology.org/volumes/2024.personalize-1/", PaperIds()),
        ("https://github.com/arxiv/2401.00001", PaperIds()),
    ],
)
def test_paper_url_forms_give_normalised_ids(url: str, ids: PaperIds) -> None:
    assert ids_from_url(url) == ids


def test_br_title_cell_keeps_new_title_and_matches_the_old_one() -> None:
    doc = table(
        "|  _CoS_ | (CoS: Enhancing Personalization and Mitigating Bias with Context Steering) "
        "<br> Context Steering: Controllable Personalization at Inference Time |   "
        f"(arXiv'24) <br> ICLR'25         |  {PAPER}(https://arxiv.org/abs/2405.01768) "
        f"{PAPER}(https://openreview.net/forum?id=xQCXInDq0m) |"
    )
    e = only(doc)
    assert e.title == "Context Steering: Controllable Personalization at Inference Time"
    assert e.aliases == (
        "CoS: Enhancing Personalization and Mitigating Bias with Context Steering",
    )
    assert e.venue is not None and (e.venue.name, e.venue.year) == ("ICLR", 2025)
    assert e.ids == PaperIds(arxiv="2405.01768", openreview="xQCXInDq0m")
    assert ("paper", "https://openreview.net/forum?id=xQCXInDq0m") in {
        (lk.role, lk.url) for lk in e.links
    }
    # An older listing under the old title (same arXiv id) is the same paper.
    old = bullets(
        "+ **\\[2024 Arxiv-2405\\]** CoS: Enhancing Personalization and Mitigating Bias with "
        "Context Steering. ([Paper](https://arxiv.org/pdf/2405.01768))"
    )
    cat = build_catalog([doc, old])
    assert len(cat.papers) == 1
    assert cat.papers[0].title == e.title


def test_headerless_system_agent_table_reuses_the_previous_header() -> None:
    doc = parsed(CATALOGS / "jiahongliu21" / "2025-09-22_e726acf.md", "jiahongliu21")
    agent = [e for e in doc.entries if e.section[1:] == ("System (Agent)",)]
    assert [e.line for e in agent] == [186, 187, 188]
    assert agent[0].method == "LD_Agent"
    assert agent[0].title == "Hello Again! LLM-powered Personalized Agent for Long-term Dialogue"
    assert agent[0].venue is not None and agent[0].venue.label() == "NAACL 2025"
    assert any(w.line == 186 and "no header row" in w.message for w in doc.warnings)


def test_related_workshops_table_is_not_read() -> None:
    doc = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    assert not [e for e in doc.entries if 291 <= e.line <= 302]
    assert not any("Workshop" in p for e in doc.entries for p in e.section)
    assert not any(w.line and 291 <= w.line <= 302 for w in doc.warnings)


def test_toc_html_comments_and_bibtex_are_not_entries() -> None:
    md = "\n".join(
        [
            "# List",
            "[![](https://img.shields.io/badge/📑-Survey_Paper-blue)](https://arxiv.org/abs/2502.11528)",
            "- **Awesome Personalized LLMs**",
            "  - [Personalized Prompting](#personalized-prompting)",
            "* **A Survey of Personalized LLMs** [https://arxiv.org/abs/2502.11528]",
            '<table style="width: 100%;">',
            "  <tr><td>",
            '        <li><a href="#contrastive-prompting">Contrastive</a></li>Fdirft',
            "+ **\\[2024 EMNLP\\]** Inside an HTML table. ([Paper](https://arxiv.org/abs/2401.00001))",
            "  </td></tr>",
            "</table>",
            "<!-- + **\\[2024 EMNLP\\]** Commented out. ([Paper](https://arxiv.org/abs/2401.00002))",
            "| Method | Paper Title | Published At | Link |",
            "-->",
            "## Sec",
            "+ **\\[2024 EMNLP\\]** Real Paper. ([Paper](https://arxiv.org/abs/2401.00003)) <!-- x -->",
            "# Citation",
            "```bibtex",
            "@article{x, title={+ **\\[2024 EMNLP\\]** Not an entry ([Paper](https://a.b/c))}}",
            "| *M* | Not a row | ACL'24 | [![Paper](x)](https://arxiv.org/abs/2401.00004) |",
            "```",
        ]
    )
    doc = parse_document(md, "t")
    # The survey the list announces in its introduction is a paper of the list (issue 10);
    # the TOC, the HTML table, the comment and the BibTeX block are not.
    assert [(e.line, e.title) for e in doc.entries] == [
        (5, "A Survey of Personalized LLMs"),
        (16, "Real Paper"),
    ]
    assert doc.entries[0].ids.arxiv == "2502.11528"
    assert doc.warnings == []


def test_blockquote_contribution_template_and_criteria_are_skipped() -> None:
    doc = parsed(HEAD["vanillacreamer"], "vanillacreamer")
    assert not [e for e in doc.entries if e.line < 20]
    seed = parsed(SEEDS / "001_bullet-list.md", "vanillacreamer")
    assert min(e.line for e in seed.entries) == 8  # line 6 is the template in a blockquote


def test_venue_typed_into_the_link_cell() -> None:
    doc = table(
        "|  MiLP | Personalized LLM Response Generation with Parameterized Memory Injection |"
        f"            |       Arxiv'24   {PAPER}(https://arxiv.org/abs/2404.03565) |"
    )
    e = only(doc)
    assert e.venue is not None and e.venue.label() == "arXiv 2024"
    assert e.url == "https://arxiv.org/abs/2404.03565"
    assert "Link cell" in doc.warnings[0].message


def test_extra_cell_with_a_bare_github_image() -> None:
    doc = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    rpm = next(e for e in doc.entries if e.line == 90)
    assert rpm.title == "RPM: Reasoning-Level Personalization for Black-Box Large Language Models"
    assert rpm.url == "https://iclr.cc/virtual/2026/poster/10007420"
    assert rpm.code_url == "https://github.com/jieyong99/RPM"
    assert {w.line for w in doc.warnings if "cells" in w.message} == {90}


def test_truncated_link_cell_is_read_with_a_warning() -> None:
    doc = parsed(CATALOGS / "jiahongliu21" / "2026-03-27_e5f5bf6.md", "jiahongliu21")
    drift = next(e for e in doc.entries if e.line == 194)
    assert drift.ids.arxiv == "2502.14289"
    assert drift.code_url == "https://github.com/minbeomkim/Drift_"
    assert any(w.line == 194 and "closing ')'" in w.message for w in doc.warnings)


def test_badge_labels_give_link_roles_and_two_paper_badges() -> None:
    e = only(
        table(
            "| *X* | A Paper With Every Badge | NeurIPS'25 | "
            "[![Hugging Face Model Hub](https://img.shields.io/badge/HF-Model)]"
            "(https://huggingface.co/datasets/org/data) "
            "[![Home](https://img.shields.io/badge/Home-red)](https://x.github.io/) "
            "[![YouTube](https://img.shields.io/badge/YouTube-FF0000)](https://www.youtube.com/watch?v=1) "
            "[![Demo](https://img.shields.io/badge/HuggingFace-Demo-green)](https://huggingface.co/spaces/a/b) "
            f"{PAPER}(https://arxiv.org/abs/2503.02450) {PAPER}(https://arxiv.org/abs/2507.05257) "
            "[![Github](https://img.shields.io/github/stars/a/b.svg)](https://github.com/a/b) |"
        )
    )
    assert e.url == "https://arxiv.org/abs/2503.02450"  # the first Paper badge is primary
    assert e.code_url == "https://github.com/a/b"
    assert [(lk.role, lk.url) for lk in e.links] == [
        ("dataset", "https://huggingface.co/datasets/org/data"),
        ("home", "https://x.github.io/"),
        ("video", "https://www.youtube.com/watch?v=1"),
        ("demo", "https://huggingface.co/spaces/a/b"),
        ("paper", "https://arxiv.org/abs/2507.05257"),
    ]


@pytest.mark.parametrize(
    ("cell", "method"),
    [
        ("*Cue-CoT*", "Cue-CoT"),
        ("_MemPrompt_", "MemPrompt"),
        ("UserIdentifier", "UserIdentifier"),
        ("Divide and Conquer", "Divide and Conquer"),
        ("   ", None),
        ("*CIPHER*, *PRELUDE*", "CIPHER, PRELUDE"),
        ("*PUMA*, *PersonalWAB Benchmark*", "PUMA, PersonalWAB Benchmark"),
        ("*ROPG / RSPG*", "ROPG / RSPG"),
        ("*LD_Agent*", "LD_Agent"),
    ],
)
def test_method_cell_forms(cell: str, method: str | None) -> None:
    e = only(
        table(f"| {cell} | Some Paper Title | ACL'24 | {PAPER}(https://arxiv.org/abs/2401.00001) |")
    )
    assert e.method == method


def test_columns_are_mapped_by_header_not_position() -> None:
    doc = parsed(CATALOGS / "jiahongliu21" / "2025-01-06_fc569a6.md", "jiahongliu21")
    e = doc.entries[0]
    assert e.title.startswith("RECAP: Retrieval-Enhanced Context-Aware Prefix Encoder")
    assert e.method is None
    assert ("affiliation", "Information Sciences Institute") in e.extra
    assert e.venue is not None and e.venue.label() == "ACL 2023"
    head = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    humsum = next(x for x in head.entries if x.line == 285)
    assert ("domain", "Humanity") in humsum.extra
    assert humsum.venue is not None and humsum.venue.kind is VenueKind.WORKSHOP


def test_rows_following_another_tables_layout() -> None:
    """2025-01-12: Method-style rows under a `Paper Title | Affiliation` header."""
    doc = parsed(CATALOGS / "jiahongliu21" / "2025-01-12_c9f64b6.md", "jiahongliu21")
    regen = next(e for e in doc.entries if e.line == 111)
    assert (
        regen.title
        == "Beyond Retrieval: Generating Narratives in Conversational Recommender Systems"
    )
    assert regen.method == "REGEN"
    assert any(w.line == 111 and "does not match" in w.message for w in doc.warnings)


def test_placeholder_row_without_title_is_warned_not_invented() -> None:
    doc = parsed(CATALOGS / "jiahongliu21" / "2025-01-12_654c288.md", "jiahongliu21")
    assert 68 not in {e.line for e in doc.entries}
    assert any(w.line == 68 and "no paper title" in w.message for w in doc.warnings)


def test_title_cleanup_rules() -> None:
    doc = bullets(
        "+ **\\[2024 EMNLP\\]** Can LLM be a Personalized Judge? ([Paper](https://arxiv.org/pdf/2406.11657))",
        "+ **\\[2026 Arxiv-2605\\]** STALE: Can LLM Agents Know When Their Memories Are No Longer Valid?. "
        "([Paper](http://arxiv.org/pdf/2605.06527v1))",
        "+ **\\[2024 WI-IAT\\]** Synthetic Data\xa0Generation\xa0with LLMs. ([Paper](https://arxiv.org/pdf/2410.22182))",
        "+ **\\[2026 CVPR\\]** PersonaVLM — Long-Term Personalized Multimodal LLMs. ([Paper](https://arxiv.org/pdf/2604.13074))",
        "+ **\\[2025 NeurIPS\\]** MMPB: It’s Time for Multi-Modal Personalization. ([Paper](https://a.org/x))",
        "+ \\[2024 NeurIPS\\] Panacea: Pareto Alignment via Preference Adaptation for LLMs ([paper](https://arxiv.org/pdf/2402.02030))",
    )
    assert [e.title for e in doc.entries] == [
        "Can LLM be a Personalized Judge?",
        "STALE: Can LLM Agents Know When Their Memories Are No Longer Valid?",
        "Synthetic Data Generation with LLMs",
        "PersonaVLM — Long-Term Personalized Multimodal LLMs",
        "MMPB: It’s Time for Multi-Modal Personalization",
        "Panacea: Pareto Alignment via Preference Adaptation for LLMs",
    ]
    unify = next(e for e in parsed(HEAD["jiahongliu21"], "jiahongliu21").entries if e.line == 276)
    assert unify.title.endswith("Unified Concept Tokens (introduces UnifyBench)")


# --- §4 bullet quirks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "title", "label", "tag_year"),
    [
        (
            "+ **\\[2024 EMNLP\\]** Title A. ([Paper](https://arxiv.org/pdf/2401.00001))",
            "Title A",
            "EMNLP 2024",
            2024,
        ),
        (
            "+ **[2026 Arxiv-2603]** Title B. ([Paper](https://arxiv.org/pdf/2603.20939v1))",
            "Title B",
            "arXiv 2026",
            2026,
        ),
        (
            "+ \\[2024 EMNLP\\] Title C ([paper](https://arxiv.org/pdf/2401.00003))",
            "Title C",
            "EMNLP 2024",
            2024,
        ),
        (
            "+ \\[**2024 EMNLP**\\] Title D. ([paper](https://arxiv.org/pdf/2401.00004))",
            "Title D",
            "EMNLP 2024",
            2024,
        ),
        (
            "+ + **\\[2024 Arxiv-2410\\]** Title E. ([Paper](https://arxiv.org/pdf/2410.04070))",
            "Title E",
            "arXiv 2024",
            2024,
        ),
        (
            "\\[2024 NeurIPS\\] Title F. ([paper](https://arxiv.org/pdf/2404.16019), ",
            "Title F",
            "NeurIPS 2024",
            2024,
        ),
        (
            "+ \\[2024 Arxiv-2408\\]Title G. ([paper](https://arxiv.org/pdf/2408.11779))",
            "Title G",
            "arXiv 2024",
            2024,
        ),
        (
            "+ **\\[2024 NeurIPS Workshop\\]** Title H. ([Paper](https://openreview.net/pdf?id=zsX))",
            "Title H",
            "NeurIPS Workshop 2024",
            2024,
        ),
        (
            "+ **\\[2026 Arxiv-260328\\]** Title I. ([Paper](https://arxiv.org/pdf/2603.28086.pdf))",
            "Title I",
            "arXiv 2026",
            2026,
        ),
        (
            "- **[EMNLP 2024]** Title J. [Paper](https://arxiv.org/abs/2401.00010)",
            "Title J",
            "EMNLP 2024",
            2024,
        ),
        (
            "1. **\\[2023 CIKM\\]** Title K. ([Paper](https://arxiv.org/pdf/2310.20081))",
            "Title K",
            "CIKM 2023",
            2023,
        ),
    ],
)
def test_bullet_tag_forms(line: str, title: str, label: str, tag_year: int) -> None:
    e = only(bullets(line))
    assert e.title == title
    assert e.venue is not None and e.venue.label() == label
    assert e.tag_year == tag_year
    assert e.url is not None


def test_tag_month_gives_the_year_when_it_disagrees() -> None:
    e = only(
        bullets(
            "+ **\\[2024 Arxiv-2502\\]** A Survey of Personalized Large Language Models: Progress "
            "and Future Directions. ([Paper](https://arxiv.org/pdf/2502.11528))"
        )
    )
    assert (e.tag_year, e.year) == (2024, 2025)
    cat = build_catalog(
        [bullets("+ Untagged Paper Title. ([Paper](https://arxiv.org/abs/2311.00001))")]
    )
    assert cat.papers[0].year == 2023  # no venue, no tag: the arXiv id's year


def test_github_tag_is_not_a_paper() -> None:
    doc = bullets(
        "+ **\\[2024 GitHub\\]** Personalized LMs: Aligning Language Models with Diverse Human "
        "Preference. ([Link](https://github.com/allenai/compred))"
    )
    assert doc.entries == []
    assert "not a paper" in doc.warnings[0].message and doc.warnings[0].line == 5


def test_untagged_entries_with_a_link_list_or_a_title_link() -> None:
    doc = bullets(
        "+ Awesome Personalization in MLLMs. ([Website](https://clare-nie.github.io/Awesome-Personalization-in-MLLMs/))",
        "VaPR -- Vision-language Preference alignment for Reasoning. ([Paper](https://arxiv.org/pdf/2510.01700))",
        "- [Generic Awesome Entry Title](https://arxiv.org/abs/2409.00001) - ICLR 2025",
        "For contribution rules, please see [MAINTENANCE.md](./MAINTENANCE.md).",
        "Some prose with [a link](https://example.org) is not an entry.",
    )
    got = [(e.title, e.venue, e.url, [lk.role for lk in e.links]) for e in doc.entries]
    assert got == [
        ("Awesome Personalization in MLLMs", None, None, ["website"]),
        (
            "VaPR -- Vision-language Preference alignment for Reasoning",
            None,
            "https://arxiv.org/pdf/2510.01700",
            [],
        ),
        ("Generic Awesome Entry Title", None, "https://arxiv.org/abs/2409.00001", []),
    ]


def test_bullet_without_links_is_an_entry_with_a_title_id() -> None:
    title = "Persona-judge: Personalized Alignment of Large Language Models via Token-level Self-judgment"
    doc = bullets(f"+ **\\[2025 Arxiv-2504\\]** {title}")
    e = only(doc)
    assert (e.title, e.url, e.ids) == (title, None, PaperIds())
    assert build_catalog([doc]).papers[0].id == f"title:{title_hash(title)}"


def test_nested_link_in_link_list() -> None:
    e = only(
        bullets(
            "+ **\\[2024 EMNLP\\]** Can LLM be a Personalized Judge? ([Paper]([link](https://arxiv.org/pdf/2406.11657)), "
            "[Code]([link](https://github.com/dong-river/Personalized-Judge)))"
        )
    )
    assert e.url == "https://arxiv.org/pdf/2406.11657"
    assert e.code_url == "https://github.com/dong-river/Personalized-Judge"


def test_missing_closing_paren_and_paste_debris() -> None:
    doc = bullets(
        "+ **\\[2024 SIGIR\\]** Optimization Methods for Personalizing LLMs through Retrieval "
        "Augmentation. ([Paper](https://arxiv.org/abs/2404.05970), "
        "[code](https://dlnext.acm.org/doi/pdf/10.1145/3626772.3657783"
    )
    e = only(doc)
    assert e.code_url == "https://dlnext.acm.org/doi/pdf/10.1145/3626772.3657783"
    assert any("closing ')'" in w.message for w in doc.warnings)
    real = parsed(CATALOGS / "vanillacreamer" / "2024-10-23_786d5e6.md", "vanillacreamer")
    pers = next(x for x in real.entries if x.line == 67)
    assert pers.code_url == "https://github.com/balhafni/personalized-gen"
    assert not [x for x in real.entries if x.line in (68, 69)]


def test_lone_bullets_between_entries() -> None:
    path = CATALOGS / "vanillacreamer" / "2026-04-09_778effa.md"
    text = path.read_text(encoding="utf-8")
    doc = parsed(path, "vanillacreamer")
    lone = [i for i, ln in enumerate(text.split("\n"), 1) if ln.strip() == "+"]
    assert len(lone) == 99
    assert not {e.line for e in doc.entries} & set(lone)
    assert len(doc.entries) == sum(1 for ln in text.split("\n") if ln.startswith("+ **"))


def test_numbered_headings_lose_their_numbers_and_dates_stay() -> None:
    doc = parsed(CATALOGS / "vanillacreamer" / "2026-04-02_bc8d88f.md", "vanillacreamer")
    sections = {e.section[1:] for e in doc.entries}
    assert ("Weekly Updates (Automated)", "2026-04-02") in sections
    assert ("Human Value Alignment", "Training-based Methods") in sections
    assert ("Preference Alignment", "Prompt/Vector-based Methods") in sections  # `## 2 ...`
    assert not any(p[:1].isdigit() for s in sections for p in s if p != "2026-04-02")
    weekly = [e for e in doc.entries if e.section[1:2] == ("Weekly Updates (Automated)",)]
    assert len(weekly) == 20  # lines 17-36, between the WEEKLY-UPDATES comment markers


def test_entries_above_the_first_heading_and_documents_without_h1() -> None:
    seed = parsed(SEEDS / "001_bullet-list.md", "vanillacreamer")
    top = [e for e in seed.entries if e.section == ("Awesome Personalized Large Language Models",)]
    assert [e.line for e in top] == [8, 10]
    doc = parse_document(
        "+ **\\[2024 ACL\\]** Before Any Heading. ([Paper](https://arxiv.org/abs/2401.00001))\n"
        "## Sub\n+ **\\[2024 ACL\\]** Under Sub. ([Paper](https://arxiv.org/abs/2401.00002))\n",
        "my-list",
    )
    assert [e.section for e in doc.entries] == [("my-list",), ("my-list", "Sub")]
    assert doc.taxonomy.name == "my-list"


def test_wrapped_title_continues_on_the_next_line() -> None:
    doc = bullets(
        "+ **\\[2024 ACL\\]** A Title That Is Long Enough To Be Wrapped\n"
        "  Over Two Lines. ([Paper](https://arxiv.org/abs/2401.00001))"
    )
    e = only(doc)
    assert e.title == "A Title That Is Long Enough To Be Wrapped Over Two Lines"
    assert e.ids.arxiv == "2401.00001"


def test_wrong_and_duplicate_link_roles() -> None:
    doc = bullets(
        "+ **\\[2024 NeurIPS\\]** HYDRA: Model Factorization Framework for Black-Box LLM "
        "Personalization. ([Paper](https://arxiv.org/pdf/2406.02888v1), [Code](https://arxiv.org/pdf/2406.02888v1))",
        "+ **\\[2024 NeurIPS\\]** Aligning to Thousands of Preferences via System Message Generalization. "
        "([Paper](https://arxiv.org/pdf/2405.17977), [website](https://arxiv.org/pdf/2405.17977))",
        "+ **\\[2026 CVPR\\]** PersonaVLM. ([Paper](https://arxiv.org/pdf/2604.13074), [Data](https://huggingface.co/datasets/ClareNie/Persona-MME))",
    )
    hydra, align, vlm = doc.entries
    assert (hydra.url, hydra.code_url, hydra.links) == (
        "https://arxiv.org/pdf/2406.02888v1",
        None,
        (),
    )
    assert (align.code_url, align.links) == (None, ())
    assert [(lk.role, lk.url) for lk in vlm.links] == [
        ("dataset", "https://huggingface.co/datasets/ClareNie/Persona-MME")
    ]


# --- §5 identity --------------------------------------------------------------------------


def test_shared_arxiv_id_with_different_titles_stays_two_papers_with_a_warning() -> None:
    doc = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    cat = build_catalog([doc])
    egises = [p for p in cat.papers if p.title.startswith("Accuracy is Not Enough")]
    perseval = [p for p in cat.papers if p.title.startswith("PerSEval")]
    assert len(egises) == len(perseval) == 1
    assert egises[0].id == "arxiv:2407.00453"
    assert perseval[0].id == f"title:{title_hash(perseval[0].title)}"
    assert perseval[0].ids.arxiv == "2407.00453"  # what the list says is kept
    warns = [str(w) for w in cat.warnings if "2407.00453" in w.message]
    assert len(warns) == 1
    assert "jiahongliu21:243" in warns[0] and "jiahongliu21:242" in warns[0]


def test_recap_and_review_llm_in_the_seed() -> None:
    cat = build_catalog([parsed(SEEDS / "000_table-list.md", "jiahongliu21")])
    recap = next(p for p in cat.papers if p.title.startswith("RECAP"))
    review = next(p for p in cat.papers if p.title.startswith("Review-LLM"))
    assert recap.id == "arxiv:2306.07206"
    assert len(recap.sections) == 2  # RAG and Soft-Fused: one paper, two sections
    assert review.id.startswith("title:")
    assert any("2306.07206" in w.message and w.line == 104 for w in cat.warnings)


def test_same_paper_in_several_sections_and_both_lists_is_one_paper() -> None:
    a = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    b = parsed(HEAD["vanillacreamer"], "vanillacreamer")
    cat = build_catalog([a, b])
    lamp = [
        p for p in cat.papers if p.title == "LaMP: When Large Language Models Meet Personalization"
    ]
    assert len(lamp) == 1
    p = lamp[0]
    assert p.id == "arxiv:2304.11406"
    assert p.ids == PaperIds(arxiv="2304.11406", acl="2024.acl-long.399")
    assert [str(s) for s in p.sources] == [
        "jiahongliu21:82",
        "jiahongliu21:251",
        "vanillacreamer:123",
    ]
    assert p.sections == (
        (
            "Awesome Personalized Large Language Models (PLLMs)",
            PP,
            "Retrieval-Augmented Prompting (RAG)",
        ),
        ("Awesome Personalized Large Language Models (PLLMs)", "Benchmark"),
        ("Awesome Personalized Large Language Models", "Benchmark/Dataset/Evaluation"),
    )
    # PrefEval: arXiv in the table list, OpenReview in the bullet list, same title.
    pref = [p for p in cat.papers if p.title.startswith("Do LLMs Recognize Your Preferences")]
    assert len(pref) == 1 and pref[0].ids == PaperIds(arxiv="2502.09597", openreview="QWunLKbBGF")


PP = "Personalized Prompting"


def test_retitle_with_the_same_id_is_one_paper() -> None:
    old = table(
        "|  *PAG*  |  Integrating Summarization and Retrieval for Enhanced Personalization via "
        f"Large Lanuage Models |      CIKM'23       | {PAPER}(https://arxiv.org/abs/2310.20081) |"
    )
    new = bullets(
        "+ **\\[2023 CIKM\\]** Integrating Summarization and Retrieval for Enhanced Personalization "
        "via Large Language Models. ([Paper](https://arxiv.org/pdf/2310.20081))"
    )
    cat = build_catalog([old, new])
    assert len(cat.papers) == 1
    assert cat.papers[0].id == "arxiv:2310.20081"
    assert not cat.warnings


def test_same_title_with_conflicting_ids_is_reported() -> None:
    cat = build_catalog([parsed(SEEDS / "001_bullet-list.md", "vanillacreamer")])
    mc = [p for p in cat.papers if p.title.startswith("MC-LLaVA")]
    assert sorted(p.id for p in mc) == ["arxiv:2411.11706", "arxiv:2503.18854"]
    assert any(w.line == 218 and "different arXiv id" in w.message for w in cat.warnings)


def test_published_venue_wins_across_listings() -> None:
    seed = parsed(SEEDS / "000_table-list.md", "jiahongliu21")
    head = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    cat = build_catalog([seed, head])
    pllm = next(p for p in cat.papers if p.id == "arxiv:2409.20296")
    assert pllm.venue is not None and pllm.venue.label() == "ICLR 2025"
    assert pllm.year == 2025


def test_title_link_role_comes_from_the_url() -> None:
    doc = bullets(
        "- [Personalized Model Merging](https://example.org/paper.html) - a project page",
        "- [Data Tools](https://github.com/org/repo)",
    )
    first, second = doc.entries
    assert (first.title, first.url, first.links) == (
        "Personalized Model Merging",
        "https://example.org/paper.html",
        (),
    )
    assert (second.url, second.code_url) == (None, "https://github.com/org/repo")
