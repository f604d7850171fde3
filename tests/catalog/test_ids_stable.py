"""Paper ids are identities in users' libraries: every saved version of both default lists
must keep yielding exactly the same paper ids (and titles) whatever the reader becomes.

``ids_by_version.tsv.gz`` was written by the reader that first shipped (before the reader
learnt more shapes): one ``version<TAB>id<TAB>title`` row per paper. Every pinned pair must
still be produced; the only papers a version may gain are the ones in ``GAINED`` (entries the
old reader missed, such as the survey the table list announces in its introduction).
Regenerate only on purpose: ``PLLM_REGEN_IDS=1 pytest tests/catalog/test_ids_stable.py``.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from pllm_sync.catalog import build_catalog

from .helpers import CATALOGS, LISTS, branch_versions, parsed, versions

PINNED = CATALOGS / "ids_by_version.tsv.gz"
GAINED = frozenset(
    {
        (
            "arxiv:2502.11528",
            "A Survey of Personalized Large Language Models: Progress and Future Directions",
        ),
    }
)
"""Papers the first reader missed and the current one reads (and nothing else)."""


def _pairs(path: Path, name: str) -> set[tuple[str, str]]:
    cat = build_catalog([parsed(path, name)])
    return {(p.id, p.title) for p in cat.papers}


def _current() -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for name in LISTS:
        files = [v.path for v in versions(name)] + [p for _, p in branch_versions(name)]
        for path in files:
            out[f"{name}/{path.relative_to(CATALOGS / name)}"] = _pairs(path, name)
    return out


def _read_pinned() -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    with gzip.open(PINNED, "rt", encoding="utf-8") as f:
        for line in f:
            version, pid, title = line.rstrip("\n").split("\t", 2)
            out.setdefault(version, set())
            if pid:
                out[version].add((pid, title))
    return out


def test_paper_ids_and_titles_of_every_version_are_unchanged() -> None:
    now = _current()
    if os.environ.get("PLLM_REGEN_IDS"):
        rows = [
            f"{v}\t{pid}\t{title}\n"
            for v, pairs in sorted(now.items())
            for pid, title in sorted(pairs or {("", "")})
        ]
        with gzip.open(PINNED, "wt", encoding="utf-8") as f:
            f.writelines(rows)
    pinned = _read_pinned()
    assert set(now) == set(pinned)
    lost = {v: sorted(pinned[v] - now[v])[:3] for v in pinned if pinned[v] - now[v]}
    gained = {
        v: sorted(now[v] - pinned[v] - GAINED)[:3] for v in now if now[v] - pinned[v] - GAINED
    }
    assert not lost, f"{len(lost)} versions lost or changed papers: {list(lost.items())[:3]}"
    assert not gained, f"{len(gained)} versions gained papers: {list(gained.items())[:3]}"
