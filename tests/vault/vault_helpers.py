"""Paper factories and file edits shared by the vault tests."""

from __future__ import annotations

import os
from pathlib import Path
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


def edit_in_same_tick(path: Path, old: bytes, new: bytes) -> None:
    """Replace ``old`` (which must be there) by ``new`` of the same length, keeping the
    file's mtime: an edit within the same timestamp tick, which only a content check sees."""
    st = path.stat()
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
