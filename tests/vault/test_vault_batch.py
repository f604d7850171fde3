"""New notes written as one durable batch: invisible until committed, whole once visible,
never replacing a file, and a kill at any step leaves only whole notes or hidden temps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pllm_sync.atomic import WriteBatch
from pllm_sync.model import Paper, PaperIds
from pllm_sync.record import record_from_paper
from pllm_sync.vault.store import VaultStore

from .vault_helpers import make_paper


def _papers(n: int) -> list[Paper]:
    return [make_paper(f"Paper {i}", ids=PaperIds(doi=f"10.9/p{i}")) for i in range(n)]


def test_batched_notes_appear_only_when_committed(store: VaultStore) -> None:
    scan = store.scan()
    store.begin_batch()
    infos = [store.create_note(p, record_from_paper(p)) for p in _papers(5)]
    assert not list(store.papers_dir.glob("*.md"))  # staged as hidden temps only
    assert store.commit_batch() == 5
    assert sorted(p.name for p in store.papers_dir.iterdir()) == sorted(
        i.path.rsplit("/", 1)[-1] for i in infos
    )
    for info in infos:
        st = (store.root / info.path).stat()
        assert (st.st_size, st.st_mtime_ns) == (info.size, info.mtime_ns)
    # What was written is in the scan's readings: the next scan parses none of it.
    again = store.scan(scan.stats)
    assert again.reread == 0
    assert {i.pllm_id for i in infos} == set(again.notes)
    assert all(again.notes[i.pllm_id or ""] == i for i in infos)


def test_a_file_that_appears_meanwhile_is_kept(store: VaultStore) -> None:
    [paper] = _papers(1)
    store.scan()
    store.begin_batch()
    info = store.create_note(paper, record_from_paper(paper))
    users = store.root / info.path
    users.write_text("the user's own note\n", encoding="utf-8")
    store.commit_batch()
    assert users.read_text(encoding="utf-8") == "the user's own note\n"
    moved = store.scan().notes[paper.id]
    assert moved.path != info.path and moved.record["title"] == "Paper 0"


def test_a_discarded_batch_leaves_nothing(store: VaultStore) -> None:
    store.begin_batch()
    for p in _papers(3):
        store.create_note(p, record_from_paper(p))
    store.discard_batch()
    assert list(store.papers_dir.iterdir()) == []


# A child that stages notes and is killed (os._exit, no clean-up) at one step of the commit.
CHILD = r"""
import os, sys
from pathlib import Path
from pllm_sync import atomic
folder, step = Path(sys.argv[1]), sys.argv[2]
def die(*_a, **_k):
    os._exit(9)
if step == "fsync":
    atomic._fsync_all = die
elif step == "link":
    orig, seen = atomic._link_new, []
    def link(tmp, path):
        if len(seen) == 2:
            os._exit(9)
        seen.append(path)
        return orig(tmp, path)
    atomic._link_new = link
elif step == "dirsync":
    atomic._fsync_dir = die
batch = atomic.WriteBatch()
for i in range(5):
    batch.add(folder / f"note {i}.md", (f"note {i}\n" * 200).encode())
if step == "staged":
    os._exit(9)
batch.commit()
os._exit(9)  # killed before the caller's state commit
"""


@pytest.mark.parametrize("step", ["staged", "fsync", "link", "dirsync", "committed"])
def test_a_kill_at_any_step_leaves_whole_notes_or_none(tmp_path: Path, step: str) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), step], check=False)
    assert proc.returncode == 9
    notes = sorted(tmp_path.glob("*.md"))
    for p in notes:
        i = int(p.stem.split()[-1])
        assert p.read_text() == f"note {i}\n" * 200  # never a partial note
    expected = {"staged": 0, "fsync": 0, "link": 2, "dirsync": 5, "committed": 5}[step]
    assert len(notes) == expected
    # Whatever is left besides the notes is hidden .tmp litter, which scans ignore.
    assert all(
        p.name.startswith(".") and p.name.endswith(".tmp")
        for p in tmp_path.iterdir()
        if p.suffix != ".md"
    )


def test_write_batch_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a.md"
    with WriteBatch() as batch:
        batch.add(target, b"ours")
        target.write_bytes(b"theirs")
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["a.md"]
