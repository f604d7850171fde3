"""``pllm-sync service``: the systemd unit and launchd agent it writes run the real daemon,
carry no secret, and go away on uninstall. Files go to a tmp dir ($PLLM_SYNC_SERVICE_DIR), so
no service manager is called here (CI has systemctl but no user session)."""

from __future__ import annotations

import plistlib
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from pllm_sync.cli import main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLLM_SYNC_SERVICE_DIR", str(tmp_path / "units"))
    folder = tmp_path / "my configs"  # a space: the unit must quote it
    folder.mkdir()
    cfg = folder / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "vault": {"path": str(tmp_path / "vault")},
                "catalog": {"offline": True},
                "api": {"port": 0},
            }
        )
    )
    return cfg


def _exec_start(unit: Path) -> list[str]:
    [line] = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_systemd_unit_runs_watch_for_this_config_and_logs_to_a_file(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "SECRETKEY123")
    assert main(["--config", str(config), "service", "--platform", "linux", "install"]) == 0
    [unit] = (tmp_path / "units").glob("pllm-sync-*.service")
    text = unit.read_text()
    assert "SECRETKEY123" not in text, "the key stays in the keyring"
    assert "SuccessExitStatus=130 143" in text and "Restart=on-failure" in text
    argv = _exec_start(unit)
    assert argv[argv.index("--config") + 1] == str(config.resolve())
    assert "watch" in argv
    log_file = Path(argv[argv.index("--log-file") + 1])
    out = capsys.readouterr().out
    assert "not started (custom service dir)" in out

    # What the unit starts is a working daemon: run it briefly (vault only, no Zotero).
    res = subprocess.run([*argv, "--max-seconds", "1"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "watch (start)" in log_file.read_text(), "the daemon logs to the rotating file"

    assert main(["--config", str(config), "service", "--platform", "linux", "status"]) == 0
    assert "installed" in capsys.readouterr().out
    assert main(["--config", str(config), "service", "--platform", "linux", "uninstall"]) == 0
    assert not unit.exists()
    assert main(["--config", str(config), "service", "--platform", "linux", "uninstall"]) == 1


def test_launchd_agent_is_a_valid_plist(config: Path, tmp_path: Path) -> None:
    assert main(["--config", str(config), "service", "--platform", "macos", "install"]) == 0
    [plist] = (tmp_path / "units").glob("org.pllm-sync.*.plist")
    data = plistlib.loads(plist.read_bytes())
    args = data["ProgramArguments"]
    assert args[args.index("--config") + 1] == str(config.resolve())
    assert data["RunAtLoad"] is True and data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["Label"] == plist.stem
