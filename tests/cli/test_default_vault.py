"""The quick start's vault, from any folder: ``pull`` without a config makes ``./pllm-vault``
where it runs; a later ``sync`` or ``status`` run from another folder (a terminal opened
elsewhere, a login service) once made a second vault there with a second state, and the
first vault's edits waited for a run from its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded defaults name lists on the internet: a proxy that refuses at once keeps
    every fetch off the network (the bundled snapshots are read instead)."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")


def test_runs_without_a_config_keep_to_the_first_vault(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    code, out, err = cli("pull", "--zotero", "off", "--no-progress")
    assert code == 0, err
    vault = here / "pllm-vault"
    notes = sorted(p.name for p in (vault / "Papers").glob("*.md"))
    assert notes

    monkeypatch.chdir(elsewhere)
    code, out, err = cli("status")
    assert code == 0 and f"vault: {vault}" in out, out
    note = vault / "Papers" / notes[0]
    note.write_text(note.read_text(encoding="utf-8") + "\nMy own words.\n", encoding="utf-8")
    code, out, err = cli("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert "does not exist yet" not in err
    assert not (elsewhere / "pllm-vault").exists(), "no second vault"
    assert "My own words." in note.read_text(encoding="utf-8")

    # a folder with a pllm-vault of its own uses that one, and does not re-point the rest
    own = tmp_path / "own"
    (own / "pllm-vault").mkdir(parents=True)
    monkeypatch.chdir(own)
    code, out, _ = cli("status")
    assert code == 0 and f"vault: {own / 'pllm-vault'}" in out, out
    assert cli("sync", "--zotero", "off", "--no-progress")[0] == 0
    monkeypatch.chdir(elsewhere)
    code, out, _ = cli("status")
    assert code == 0 and f"vault: {vault}" in out, "the first vault stays the one followed"


def test_a_remembered_vault_that_is_away_stops_runs_until_its_state_is_deleted(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first vault on a drive not connected: a run elsewhere stops (it does not make a
    second vault here); once the user starts over (deletes the state, as the message says)
    the old place is forgotten and the vault is made where the run is."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    assert cli("pull", "--zotero", "off", "--no-progress")[0] == 0
    (here / "pllm-vault").rename(tmp_path / "unplugged")  # the drive goes away
    monkeypatch.chdir(elsewhere)
    code, _, err = cli("sync", "--zotero", "off", "--no-progress")
    assert code == 6 and f"the vault at {here / 'pllm-vault'} is missing" in err, err
    assert not (elsewhere / "pllm-vault").exists()

    code, out, _ = cli("status")
    state = Path(next(line for line in out.splitlines() if line.startswith("state: "))[7:])
    state.unlink()
    code, _, err = cli("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert (elsewhere / "pllm-vault" / "Papers").is_dir(), "started over where it runs"
    assert not (here / "pllm-vault").exists()


def test_vault_init_without_a_config_is_the_vault_later_runs_follow(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, elsewhere, third = tmp_path / "here", tmp_path / "elsewhere", tmp_path / "third"
    for d in (here, elsewhere, third):
        d.mkdir()
    monkeypatch.chdir(here)
    assert cli("vault", "init")[0] == 0
    monkeypatch.chdir(elsewhere)
    code, out, _ = cli("status")
    assert code == 0 and f"vault: {here / 'pllm-vault'}" in out, out

    # a run that knew no paper yet, its vault then moved away: nothing to stop for, and
    # nothing made again at the old place
    assert cli("sync", "--zotero", "off", "--no-progress")[0] == 0
    (here / "pllm-vault").rename(tmp_path / "moved")
    monkeypatch.chdir(third)
    code, _, err = cli("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert not (here / "pllm-vault").exists()
    assert (third / "pllm-vault").is_dir()


def test_a_moved_vault_without_a_config_is_found_again_as_the_message_says(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no config file there is no ``vault.path`` to fix (the message once said to):
    the next step it names, running in the folder that now holds the vault as
    ``pllm-vault``, finds the vault again with its state, and an edit made before the move
    survives."""
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    monkeypatch.chdir(here)
    assert cli("pull", "--zotero", "off", "--no-progress")[0] == 0
    note = next((here / "pllm-vault" / "Papers").glob("*.md"))
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("\ntags:", "\ntags:\n- moved-with-me", 1), encoding="utf-8")
    (here / "pllm-vault").rename(there / "My papers")  # moved, renamed on the way

    for command in ("sync", "pull"):
        code, _, err = cli(command, "--zotero", "off", "--no-progress")
        assert code == 6 and "is missing" in err, err
        assert "vault.path" not in err, "no config to fix it in"
        assert "in the folder that now holds it" in err and "`pllm-vault`" in err, err
    assert not (here / "pllm-vault").exists()

    (there / "My papers").rename(there / "pllm-vault")  # the next step, as said
    monkeypatch.chdir(there)
    code, _, err = cli("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert "its state" in err and "now follows it" in err, err
    moved = there / "pllm-vault" / "Papers" / note.name
    assert "- moved-with-me" in moved.read_text(encoding="utf-8"), "the edit survived"
    code, out, _ = cli("status")
    assert f"vault: {there / 'pllm-vault'}" in out and "in_vault: 0" not in out, out
