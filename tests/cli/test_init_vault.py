"""``init --vault`` as users give it: a vault reached through a link (a folder on an external
or cloud drive) is kept through that link in the config, so a run with the drive away can
say which link to fix; a link whose target is missing is warned about at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import Run


def _init(cli: Run, cfg: Path, vault: str, *more: str) -> tuple[int, str, str]:
    return cli(
        "--config", str(cfg), "init", "--library-id", "1", "--vault", vault, "--no-check",
        "--no-keyring", *more,
    )  # fmt: skip


def test_init_keeps_the_link_to_the_vault_and_warns_of_a_dangling_one(
    cli: Run, tmp_path: Path
) -> None:
    drive = tmp_path / "drive" / "Vault"
    drive.mkdir(parents=True)
    link = tmp_path / "Vault"
    link.symlink_to(drive, target_is_directory=True)
    cfg = tmp_path / "c.yaml"
    code, _, err = _init(cli, cfg, str(link))
    assert code == 0, err
    assert yaml.safe_load(cfg.read_text())["vault"]["path"] == str(link), "the link, not its target"
    assert "warning" not in err

    gone = tmp_path / "Away"
    gone.symlink_to(tmp_path / "unplugged" / "Vault", target_is_directory=True)
    code, _, err = _init(cli, cfg, str(gone), "--force")
    assert code == 0, err
    assert yaml.safe_load(cfg.read_text())["vault"]["path"] == str(gone)
    assert f"warning: vault.path {gone} is a link to {tmp_path / 'unplugged' / 'Vault'}" in err
    assert "connect the drive" in err


def test_init_vault_paths_are_made_absolute_without_resolving_links(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    monkeypatch.chdir(tmp_path)
    code, _, err = _init(cli, cfg, "sub/../notes")
    assert code == 0, err
    assert yaml.safe_load(cfg.read_text())["vault"]["path"] == str(tmp_path / "notes")
