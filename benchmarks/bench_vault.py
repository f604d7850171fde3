"""Vault scan scaling: cold and warm scans of 10,000 and 50,000 paper notes.

Usage: python benchmarks/bench_vault.py [N ...]        (default: 10000 50000)

Notes are generated with the store's own ``create_note`` (so they are real notes: frontmatter,
managed region, user notes), then aged by an hour so the warm scan may trust its cache (files
modified in the last 2 s are re-read on purpose). Figures printed per size:

- create: notes/s through ``create_note`` (atomic write with fsync per note)
- cold scan: no previous stats; every note is read, hashed and parsed
- warm scan: previous stats given; unchanged notes are only stat()ed
- no-op refresh: ``update_note`` with each note's own record on 1,000 notes (must write 0)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from pllm_sync.config import VaultConfig
from pllm_sync.model import Paper, PaperIds, SourceRef, Venue
from pllm_sync.record import record_from_paper
from pllm_sync.vault.store import VaultStore

ROOT = ("Awesome Personalized Large Language Models (PLLMs)",)
SECTIONS = [(*ROOT, s) for s in ("Personalized Prompting", "Personalized Adaptation", "Benchmark")]


def paper(i: int) -> Paper:
    return Paper(
        id=f"arxiv:2401.{i:05d}",
        title=f"Paper {i}: Personalizing Large Language Models with Method {i % 97}",
        method=f"M{i}",
        venue=Venue(f"ACL {2020 + i % 5}", "ACL", 2020 + i % 5),
        year=2020 + i % 5,
        url=f"https://arxiv.org/abs/2401.{i:05d}",
        code_url=f"https://github.com/example/m{i}" if i % 2 else None,
        ids=PaperIds(arxiv=f"2401.{i:05d}"),
        sections=(SECTIONS[i % 3],),
        sources=(SourceRef("jiahongliu21", 10 + i),),
        authors=("Ada Lovelace", "Alan Turing"),
        abstract="We study personalization. " * 8,
    )


def run(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-vault-") as tmp:
        store = VaultStore(VaultConfig(path=Path(tmp) / "vault"))
        store.ensure()
        t0 = time.perf_counter()
        infos = []
        for i in range(n):
            p = paper(i)
            rec = {**record_from_paper(p), "notes": f"My notes on paper {i}.\n\n- point"}
            infos.append(store.create_note(p, rec))
        t_create = time.perf_counter() - t0
        past = time.time_ns() - 3600 * 10**9
        for info in infos:
            os.utime(store.root / info.path, ns=(past, past))

        t0 = time.perf_counter()
        cold = store.scan()
        t_cold = time.perf_counter() - t0
        assert len(cold.notes) == n and cold.reread >= n

        t0 = time.perf_counter()
        warm = store.scan(cold.stats)
        t_warm = time.perf_counter() - t0
        assert len(warm.notes) == n and warm.reread == 0

        sample = list(warm.notes.values())[:1000]
        t0 = time.perf_counter()
        writes = sum(store.update_note(note, dict(note.record)) is not None for note in sample)
        t_noop = time.perf_counter() - t0
        assert writes == 0

        print(f"{n:>6} notes")
        print(f"  create_note    {t_create:8.2f} s  {n / t_create:9.0f} notes/s")
        print(f"  cold scan      {t_cold:8.2f} s  {n / t_cold:9.0f} notes/s")
        print(f"  warm scan      {t_warm:8.2f} s  {n / t_warm:9.0f} notes/s  (re-read: 0)")
        print(
            f"  no-op refresh  {t_noop:8.2f} s  {len(sample) / t_noop:9.0f} notes/s"
            f"  ({len(sample)} notes, {writes} writes)"
        )
        sys.stdout.flush()


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 50_000]
    for n in sizes:
        run(n)


if __name__ == "__main__":
    main(sys.argv[1:])
