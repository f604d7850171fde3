"""Paper factories shared by the vault tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

from typing import Any

from pllm_sync.model import Paper, PaperIds, SourceRef, Venue, paper_id_for

ROOT = ("Awesome PLLMs",)


def make_paper(title: str = "A Paper", **kw: Any) -> Paper:
    ids = kw.pop("ids", PaperIds())
    pid = kw.pop("id", None) or paper_id_for(ids, title)
    kw.setdefault("sections", ((*ROOT, "Personalized Prompting"),))
    kw.setdefault("sources", (SourceRef("jiahongliu21", 12),))
    return Paper(id=pid, title=title, ids=ids, **kw)


def lamp() -> Paper:
    return make_paper(
        "LaMP: When Large Language Models Meet Personalization",
        method="LaMP",
        venue=Venue("ACL 2024", "ACL", 2024),
        year=2024,
        url="https://arxiv.org/abs/2304.11406",
        code_url="https://github.com/LaMP-Benchmark/LaMP",
        ids=PaperIds(arxiv="2304.11406"),
        authors=("Alireza Salemi", "Sheshera Mysore"),
        abstract="Personalization matters.",
    )
