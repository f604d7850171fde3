"""A vault that is not where the config says, as users meet it: the folder moved away, the
drive behind a link not connected. No command may make a new vault in its place (on the
wrong disk, hiding the real one once the drive is back), and none may first promise to."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from pllm_sync.vault.place import dangling_link

from .helpers import Env, NewEnv

LIST = """# Placed List

## Alignment

+ **\\[2024 EMNLP\\]** Placed Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Placed Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"placed": LIST})


@pytest.fixture
def pulled(env: Env) -> Env:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert len(list(env.papers.glob("*.md"))) == 2
    return env


NEW_VAULT = "does not exist yet"


COMMANDS = [["sync", "--no-progress"], ["pull", "--no-progress"], ["watch", "--max-seconds", "3"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_moved_vault_is_not_made_again_at_its_old_place(pulled: Env, command: list[str]) -> None:
    env = pulled
    moved = env.root / "moved-vault"
    shutil.move(str(env.vault), moved)
    env.emu.clear_log()
    code, _, err = env.run(*command)
    assert code == 6, err
    assert f"the vault at {env.vault} is missing" in err and "nothing was changed" in err
    assert NEW_VAULT not in err, "no promise to create what is refused"
    assert not env.vault.exists(), "no new vault in the moved one's place"
    assert env.writes() == []
    assert (moved / "Papers").is_dir()


@pytest.mark.parametrize("link_at", ["vault", "parent"])
@pytest.mark.parametrize("command", [COMMANDS[0], COMMANDS[2]], ids=lambda c: c[0])
def test_a_vault_behind_a_link_to_a_drive_not_connected_is_refused(
    env: Env, link_at: str, command: list[str]
) -> None:
    drive = env.root / "drive"  # not "connected": the link's target does not exist
    if link_at == "vault":
        place = env.root / "linked-vault"
        place.symlink_to(drive / "Vault")
        where = place
    else:
        (env.root / "mnt").symlink_to(drive)
        place = env.root / "mnt" / "Vault"
        where = env.root / "mnt"
    data = yaml.safe_load(env.config.read_text(encoding="utf-8"))
    data["vault"]["path"] = str(place)
    env.config.write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _, err = env.run(*command)
    assert code == 5, err
    named = "is a link" if where == place else f"goes through the link {where}"
    assert f"vault.path {place} {named} to {drive}" in err
    assert str(drive) in err and "nothing was changed" in err
    assert NEW_VAULT not in err
    assert not drive.exists(), "nothing made through the link"
    assert where.is_symlink(), "the link is left as it was"
    assert env.writes() == []


def test_dangling_link_names_the_link_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "ok").symlink_to(tmp_path / "real")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    cases = {
        tmp_path / "real" / "vault": None,  # a plain folder to be made: no link at all
        tmp_path / "ok" / "vault": None,  # a link whose target is there
        tmp_path / "gone": (tmp_path / "gone", str(tmp_path / "nowhere")),
        tmp_path / "gone" / "a" / "vault": (tmp_path / "gone", str(tmp_path / "nowhere")),
    }
    for root, want in cases.items():
        assert dangling_link(root) == want, root


def test_vault_init_does_not_make_a_vault_where_a_synced_one_should_be(pulled: Env) -> None:
    """``vault init`` once made a new vault at the old place of a moved one (so the move's
    state was not taken over, and a later sync undid edits not synced yet) and wrote the
    template onto the disk under an empty mount point."""
    env = pulled
    moved = env.root / "moved-vault"
    shutil.move(str(env.vault), moved)
    env.emu.clear_log()
    for args in (["vault", "init", "--dry-run"], ["vault", "init"]):
        code, out, err = env.run(*args)
        assert code == 6 and f"the vault at {env.vault} is missing" in err, out + err
        assert not env.vault.exists()
    env.vault.mkdir()  # the drive's mount point, left empty while it is not connected
    code, out, err = env.run("vault", "init")
    assert code == 6 and "holds none of the" in err and "mount point" in err, out + err
    assert list(env.vault.iterdir()) == [], "nothing written onto the wrong disk"
    code, _, err = env.run("sync", "--no-progress")
    assert code == 6 and "holds none of the" in err and "papers_folder" not in err, err
    code, _, err = env.run("watch", "--max-seconds", "3")
    assert code == 6 and "holds none of the" in err, "the daemon refuses at start, as sync does"
    assert list(env.vault.iterdir()) == []
    # something made a file there (Obsidian opened on the mount point, say): still not the
    # vault the state knows
    (env.vault / "Welcome.md").write_text("# Welcome\n", encoding="utf-8")
    for args in (["vault", "init"], ["watch", "--max-seconds", "3"]):
        code, out, err = env.run(*args)
        assert code == 6 and "holds none of the 2 notes" in err, (args, out + err)
    assert sorted(p.name for p in env.vault.iterdir()) == ["Welcome.md"]
    code, out, _ = env.run("doctor")
    assert code == 6 and "holds none of the 2 notes" in out, out  # sync's code for it
    assert env.writes() == []


def test_doctor_fails_the_vault_check_where_sync_would_stop(pulled: Env) -> None:
    env = pulled
    code, out, _ = env.run("doctor")
    assert re.search(r"^ok +vault ", out, re.M), out
    moved = env.root / "moved-vault"
    shutil.move(str(env.vault), moved)
    code, out, _ = env.run("doctor")
    assert code == 6 and re.search(r"^fail +vault +the vault at .* is missing", out, re.M), out
    assert env.run("sync", "--no-progress")[0] == 6  # the same code as the sync it predicts
    assert "not created yet" not in out
    env.vault.mkdir()
    code, out, _ = env.run("doctor")
    assert code == 6 and re.search(
        r"^fail +vault +the vault folder .* holds none of the", out, re.M
    )
    env.vault.rmdir()
    env.vault.symlink_to(env.root / "drive" / "Vault")
    code, out, _ = env.run("doctor")
    assert code == 5 and f"vault.path {env.vault} is a link to" in out, out
    assert env.run("sync", "--no-progress")[0] == 5  # the same code as the sync it predicts
    assert "create the parent folder" not in out
