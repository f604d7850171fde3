"""Paper ids are identities in users' libraries: every saved version of both default lists
must keep yielding exactly the same paper ids (and titles) whatever the reader becomes.

``ids_by_version.tsv`` was written by the reader that first shipped (before the one-reader
rewrite); each row holds a digest of the sorted ``id<TAB>title`` pairs of one version, plus
the count. Regenerate only on purpose: ``PLLM_REGEN_IDS=1 pytest tests/catalog/test_ids_stable.py``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pllm_sync.catalog import build_catalog

from .helpers import CATALOGS, LISTS, branch_versions, parsed, versions

PINNED = CATALOGS / "ids_by_version.tsv"


def _digest(path: Path, name: str) -> tuple[int, str]:
    cat = build_catalog([parsed(path, name)])
    pairs = sorted(f"{p.id}\t{p.title}" for p in cat.papers)
    return len(pairs), hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:16]


def _current() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in LISTS:
        files = [v.path for v in versions(name)] + [p for _, p in branch_versions(name)]
        for path in files:
            n, h = _digest(path, name)
            out[f"{name}/{path.relative_to(CATALOGS / name)}"] = f"{n}\t{h}"
    return out


def test_paper_ids_and_titles_of_every_version_are_unchanged() -> None:
    now = _current()
    if os.environ.get("PLLM_REGEN_IDS"):
        PINNED.write_text("".join(f"{k}\t{v}\n" for k, v in sorted(now.items())), encoding="utf-8")
    pinned = dict(
        line.split("\t", 1) for line in PINNED.read_text(encoding="utf-8").splitlines() if line
    )
    changed = sorted(k for k in pinned if now.get(k) != pinned[k])
    assert not changed, f"{len(changed)} versions changed ids or titles: {changed[:5]}"
    assert set(now) == set(pinned)
