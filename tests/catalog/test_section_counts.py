"""Entries per section for the newest version of each list and for the two seeds.

The expected numbers were counted by hand from the files (rows per section, read line range
by line range), not computed with the parser. Line ranges are noted next to each number.
"""

from __future__ import annotations

from pllm_sync.catalog import build_catalog
from pllm_sync.model import slugify

from .helpers import HEAD, SEEDS, counts_by_section, parsed

PP, PA, AL = "Personalized Prompting", "Personalized Adaptation", "Personalized Alignment"


def test_table_list_head_counts_per_section() -> None:
    doc = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    assert doc.title == "Awesome Personalized Large Language Models (PLLMs)"
    assert counts_by_section(doc) == {
        (): 1,  # line 12: the list's own survey, announced in the introduction
        (PP, "Profile-Augmented Prompting (PAG)"): 8,  # lines 58-65
        (PP, "Retrieval-Augmented Prompting (RAG)"): 23,  # 72-94
        (PP, "Soft-Fused Prompting"): 12,  # 102-113
        (PP, "Contrastive Prompting"): 5,  # 120-124
        (PA, "One PEFT All Users (One4All)"): 7,  # 133-139
        (PA, "One PEFT Per Users (One4One)"): 15,  # 148-162
        (AL, "Data Construction"): 6,  # 172-177
        (AL, "Optimization"): 21,  # 183-203
        ("System (Agent)",): 3,  # 214-216
        ("Trustworthiness", "Watermarking"): 1,  # 225
        ("Analysis",): 4,  # 233-236
        ("Metric",): 3,  # 242-244
        ("Benchmark",): 29,  # 250-278
        ("Applications",): 5,  # 285-289 (Related Workshops 296-301 is not a paper table)
    }
    assert len(doc.entries) == 143


def test_bullet_list_head_counts_per_section() -> None:
    doc = parsed(HEAD["vanillacreamer"], "vanillacreamer")
    assert doc.title == "Awesome Personalized Large Language Models"
    assert counts_by_section(doc) == {
        ("Survey/Tutorial/Framework",): 12,  # lines 22-44 (22 has no tag)
        ("Benchmark/Dataset/Evaluation",): 39,  # 48-127
        ("Memory/Retrieval-based Methods",): 26,  # 131-182
        ("Prompt/Vector/Decoding-time Methods",): 27,  # 186-238
        ("SFT/RL/Preference Optimization Methods",): 40,  # 242-319
    }
    assert len(doc.entries) == 144


def test_table_seed_counts_per_section() -> None:
    doc = parsed(SEEDS / "000_table-list.md", "jiahongliu21")
    assert counts_by_section(doc) == {
        (): 1,  # line 12: the list's own survey, announced in the introduction
        (PP, "Profile-Augmented Prompting (PAG)"): 7,  # lines 52-58
        (PP, "Retrieval-Augmented Prompting (RAG)"): 14,  # 65-78
        (PP, "Soft-Fused Prompting"): 9,  # 84-92
        (PA, "One PEFT All Users (One4All)"): 7,  # 100-106
        (PA, "One PEFT Per Users (One4One)"): 9,  # 113-121
        (AL, "Data Construction"): 6,  # 130-135
        (AL, "Optimization"): 9,  # 141-149
        ("Analysis",): 3,  # 157-159
        ("Benchmark",): 12,  # 165-176
    }


def test_bullet_seed_counts_per_section() -> None:
    doc = parsed(SEEDS / "001_bullet-list.md", "vanillacreamer")
    hva, pa = "Human Value Alignment", "Preference Alignment"
    assert counts_by_section(doc) == {
        (): 2,  # lines 8 and 10, above the first H2
        # 1.1 holds only line 16, a `2024 GitHub` repository: not a paper, warned about
        (hva, "Benchmark/Dataset"): 6,  # 21-31
        (hva, "Fine-tuning-based Methods"): 20,  # 35-74 (40 has no links)
        (hva, "Training-free Methods"): 10,  # 81-99
        (pa, "Survey/Tutorial/Framework"): 5,  # 107-115
        (pa, "Benchmark/Dataset"): 17,  # 121-153
        (
            pa,
            "Retrieval-Augmented Generation/Profile-Augmented Generation (RAG/PAG)-based Methods",
        ): 17,  # 159-191
        (pa, "Parameter-Efficient-Fine-Tuning (PEFT)-based Methods"): 24,  # 196-242
    }
    assert [w.line for w in doc.warnings if "not a paper" in w.message] == [16]


def test_taxonomy_root_is_keyed_by_source_name() -> None:
    a = parsed(HEAD["jiahongliu21"], "jiahongliu21")
    b = parsed(HEAD["vanillacreamer"], "vanillacreamer")
    cat = build_catalog([a, b])
    assert set(cat.taxonomies) == {"jiahongliu21", "vanillacreamer"}
    root = cat.taxonomies["jiahongliu21"]
    assert root.slug == slugify("jiahongliu21")
    assert root.path == ("Awesome Personalized Large Language Models (PLLMs)",)
    top = [c.name for c in root.children]
    assert top == [
        PP,
        PA,
        AL,
        "System (Agent)",
        "Trustworthiness",
        "Analysis",
        "Metric",
        "Benchmark",
        "Applications",
    ]
    # Every entry's section is a node of its list's taxonomy.
    nodes = {n.path for n in cat.section_nodes()}
    assert all(e.section in nodes for e in a.entries + b.entries)


def test_head_papers_after_dedup() -> None:
    """143 table entries (142 rows and the survey of the introduction) are 130 papers: 13 rows repeat a paper listed in another section (one of
    them is UniCTokens again, as UnifyBench, with the same poster URL), while EGISES and
    PerSEval share an arXiv id and stay two papers. The bullet list's 144 rows are 143 papers
    (PersonaVLM is in sections 2 and 3)."""
    a = build_catalog([parsed(HEAD["jiahongliu21"], "jiahongliu21")])
    b = build_catalog([parsed(HEAD["vanillacreamer"], "vanillacreamer")])
    assert len(a.papers) == 130
    assert len(b.papers) == 143
