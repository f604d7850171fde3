"""Cost of the pure merge, the notes text merge and the state store at library scale.

Run: ``python benchmarks/bench_merge.py [n_papers]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pllm_sync.record import Record
from pllm_sync.sync.merge import merge_paper
from pllm_sync.sync.state import PaperState, StateDB, encode_record
from pllm_sync.sync.textmerge import merge3


def paper(i: int) -> Record:
    return {
        "title": f"Paper number {i} on personalised language models",
        "method": f"M{i}",
        "venue": "ACL 2024",
        "year": 2024,
        "url": f"https://arxiv.org/abs/2401.{i:05d}",
        "code": None,
        "arxiv": f"2401.{i:05d}",
        "doi": None,
        "authors": ("Ada Lovelace", "Alan Turing", "Grace Hopper"),
        "tags": frozenset({"llm", "personalization", f"t{i % 7}"}),
        "status": "unread",
        "rating": None,
        "notes": "\n".join(f"line {j} of the notes for paper {i}" for j in range(30)),
        "sections": frozenset({"PLLMs / Prompting", "PLLMs / Benchmarks"}),
        "catalog": "listed",
    }


def timed(label: str, n: int, fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"{label:<48} {dt * 1000:9.1f} ms total  {dt / n * 1e6:9.1f} us/paper")
    return dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rng = random.Random(1)
    recs = [paper(i) for i in range(n)]
    cats = [{k: r[k] for k in ("title", "year", "sections", "catalog")} for r in recs]
    print(f"{n} papers")

    timed(
        "merge, nothing changed (no-op sync)",
        n,
        lambda: [
            merge_paper(base=r, catalog=c, catalog_base=c, zotero=r, vault=r)
            for r, c in zip(recs, cats, strict=True)
        ],
    )
    edited = []
    for r in recs:
        z = {**r, "tags": r["tags"] | {"new"}, "status": "read"}
        lines = r["notes"].split("\n")
        lines[rng.randrange(0, 10)] += " (vault edit)"
        lines[rng.randrange(20, 30)] += " (zotero edit)"
        v = {**r, "notes": "\n".join(lines)}
        z["notes"] = r["notes"].replace("line 25 ", "line 25 zotero ")
        edited.append((z, v))
    timed(
        "merge, both sides edited (tags, status, notes)",
        n,
        lambda: [
            merge_paper(base=r, catalog=c, catalog_base=c, zotero=z, vault=v)
            for r, c, (z, v) in zip(recs, cats, edited, strict=True)
        ],
    )
    big = "\n".join(f"paragraph {j}: " + "word " * 12 for j in range(5000))
    ours = big.replace("paragraph 100:", "paragraph 100 (z):")
    theirs = big.replace("paragraph 4000:", "paragraph 4000 (v):")
    timed("text merge of one 5000-line note, 2 edits", 1, lambda: merge3(big, ours, theirs))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite3"
        with StateDB.open(path) as db:

            def put_all() -> None:
                with db.transaction():
                    for i, r in enumerate(recs):
                        db.put_paper(PaperState(f"arxiv:{i}", base=r, catalog_base=cats[i]))

            timed("state: put every paper (one transaction)", n, put_all)
            timed("state: load all papers", n, db.all_papers)

            def put_each() -> None:
                for i, r in enumerate(recs[:200]):
                    db.put_paper(PaperState(f"arxiv:{i}", base=r, catalog_base=cats[i]))

            timed("state: put 200 papers, one commit each", 200, put_each)
        size = path.stat().st_size
        print(
            f"state file: {size / 1024:.0f} KiB ({size / n:.0f} B/paper, "
            f"record JSON {len(encode_record(recs[0]))} B)"
        )


if __name__ == "__main__":
    main()
