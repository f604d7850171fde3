"""Which state a moved vault takes over (``sync/moved_vault.py``): only a state whose vault
is gone, whose notes the new vault holds, that no run holds, and only when one qualifies."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pllm_sync.runlock import RunLock
from pllm_sync.sync.moved_vault import moved_vault_state
from pllm_sync.sync.state import PaperState, StateDB, vault_state_name


def _vault(root: Path, n: int = 4) -> Path:
    (root / "Papers").mkdir(parents=True)
    for i in range(n):
        (root / "Papers" / f"P{i}.md").write_text(f"---\npllm-sync-id: x:{i}\n---\nNote {i}\n")
    return root


def _state_of(vault: Path, data: Path) -> Path:
    """The state database a run on ``vault`` leaves: its vault's path and its notes."""
    db = data / f"state-vault-{vault_state_name(vault)}.sqlite3"
    with StateDB.open(db) as st:
        st.remember_vault(vault)
        st.put_papers(
            [
                PaperState(
                    pllm_id=f"x:{p.stem}",
                    note_path=f"Papers/{p.name}",
                    note_sha256=hashlib.sha256(p.read_bytes()).hexdigest(),
                )
                for p in sorted((vault / "Papers").glob("*.md"))
            ]
        )
    return db


def _target(vault: Path, data: Path) -> Path:
    return data / f"state-vault-{vault_state_name(vault)}.sqlite3"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def test_a_moved_vault_finds_the_state_of_the_path_it_left(tmp_path: Path, data: Path) -> None:
    old = _vault(tmp_path / "old")
    db = _state_of(old, data)
    new = tmp_path / "new"
    old.rename(new)
    (new / "Papers" / "P0.md").write_text("edited since\n")  # some notes may have changed
    assert moved_vault_state(new, _target(new, data)) == (db, str(old))


def test_a_copy_a_stranger_or_a_held_state_is_not_taken(tmp_path: Path, data: Path) -> None:
    old = _vault(tmp_path / "old")
    db = _state_of(old, data)
    copy = tmp_path / "copy"
    shutil.copytree(old, copy)
    assert moved_vault_state(copy, _target(copy, data)) is None, "the original is still there"

    stranger = _vault(tmp_path / "stranger", n=3)
    for p in (stranger / "Papers").glob("*.md"):
        p.write_text(p.read_text() + "other text\n")
    shutil.rmtree(copy)
    old.rename(tmp_path / "gone")
    assert moved_vault_state(stranger, _target(stranger, data)) is None, "not its notes"

    new = tmp_path / "gone"
    lock = RunLock(db.with_name(db.name + ".lock"))
    lock.acquire("watch")  # a daemon still waiting for its drive
    try:
        assert moved_vault_state(new, _target(new, data)) is None
    finally:
        lock.release()
    assert moved_vault_state(new, _target(new, data)) == (db, str(old))


def test_two_gone_vaults_with_the_same_notes_leave_the_choice_alone(
    tmp_path: Path, data: Path
) -> None:
    first = _vault(tmp_path / "first")
    _state_of(first, data)
    second = tmp_path / "second"
    shutil.copytree(first, second)
    _state_of(second, data)
    new = tmp_path / "new"
    first.rename(new)
    shutil.rmtree(second)
    assert moved_vault_state(new, _target(new, data)) is None


def test_a_state_from_before_the_vault_was_recorded_is_not_taken(
    tmp_path: Path, data: Path
) -> None:
    old = _vault(tmp_path / "old")
    db = _state_of(old, data)
    with StateDB.open(db) as st:
        st._x("DELETE FROM meta")
    new = tmp_path / "new"
    old.rename(new)
    assert moved_vault_state(new, _target(new, data)) is None
