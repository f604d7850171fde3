"""Which state a moved vault takes over (``sync/moved_vault.py``): only the state of that
very folder (device and inode), whose path is gone, whose notes it holds and that no run
holds."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pllm_sync.errors import SafetyAbort
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
    lock.acquire("watch")  # the daemon still running on the old path
    try:
        with pytest.raises(SafetyAbort, match="stop it") as stopped:
            moved_vault_state(new, _target(new, data))
        assert str(old) in str(stopped.value) and "watch" in str(stopped.value)
        # the hint names the process, not a command: a `pllm-sync ...` in it would carry
        # this run's --config, which is not the daemon's
        assert f"kill {os.getpid()}" in str(stopped.value.hint)
        assert "`pllm-sync" not in str(stopped.value.hint)
    finally:
        lock.release()
    assert moved_vault_state(new, _target(new, data)) == (db, str(old))


def test_a_vault_moved_twice_takes_its_state_over_twice(tmp_path: Path, data: Path) -> None:
    """The file a takeover leaves (``….moved-to-…``) still records the vault's folder: it
    once counted as a second candidate, and the second move took nothing over."""
    from pllm_sync.sync.state import _adopt_legacy_state

    first = _vault(tmp_path / "first")
    db = _state_of(first, data)
    second = tmp_path / "second"
    first.rename(second)
    assert moved_vault_state(second, _target(second, data)) == (db, str(first))
    _adopt_legacy_state(db, _target(second, data), quiet=True)
    with StateDB.open(_target(second, data)) as st:
        st.remember_vault(second)
    third = tmp_path / "third"
    second.rename(third)
    assert moved_vault_state(third, _target(third, data)) == (_target(second, data), str(second))


def test_only_the_same_folder_takes_a_state_over_not_a_copy_of_one_that_is_away(
    tmp_path: Path, data: Path
) -> None:
    """A vault on a drive that is unplugged is not gone for good: a copy of it opened
    meanwhile holds the same notes at the same paths, but it is another folder, and must
    not take the state the original needs once its drive is back."""
    drive = _vault(tmp_path / "drive")
    db = _state_of(drive, data)
    copy = tmp_path / "copy"
    shutil.copytree(drive, copy)
    drive.rename(tmp_path / "unplugged")  # the drive goes away
    assert moved_vault_state(copy, _target(copy, data)) is None
    moved = tmp_path / "unplugged"  # ...while that very folder, found elsewhere, takes it
    assert moved_vault_state(moved, _target(moved, data)) == (db, str(drive))


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


def test_a_state_gone_meanwhile_is_not_recreated_empty_by_a_second_adopter(
    tmp_path: Path, data: Path
) -> None:
    """Two runs starting at once on a moved vault: the second to adopt finds the old file
    gone (the first renamed it). It once opened it read-write, which made a new empty
    database there, and copied that over the first run's adopted state."""
    from pllm_sync.sync.state import StateError, _adopt_legacy_state

    old = _vault(tmp_path / "old")
    db = _state_of(old, data)
    first = data / "state-vault-first.sqlite3"
    _adopt_legacy_state(db, first, quiet=True)
    with pytest.raises(StateError):
        _adopt_legacy_state(db, data / "state-vault-second.sqlite3", quiet=True)
    assert not db.exists(), "no empty database made at the old name"
    with StateDB.open(first) as st:
        assert len(st.all_papers()) == 4, "the adopted state is whole"
