"""`pllm-sync doctor`: one line per check, ok or the fix; failing checks exit non-zero with
the exit code of their kind, and nothing is changed."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.config import load_config
from pllm_sync.sync.state import StateDB, default_state_path
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Run


def checks(cli: Run, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code, out, _ = cli(*args, "doctor", "--json")
    return code, {c["name"]: c for c in json.loads(out)}


def write_config(path: Path, emu: ZoteroEmulator | None, vault: Path) -> None:
    data: dict[str, Any] = {"catalog": {"offline": True}, "vault": {"path": str(vault)}}
    if emu is not None:
        data["zotero"] = {"library_id": emu.user_id, "endpoint": emu.base_url}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_a_healthy_setup_is_all_ok(
    cli: Run,
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "c.yaml"
    write_config(cfg, zotero_emulator, tmp_path / "vault")
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    code, out, err = cli("--config", str(cfg), "doctor")
    assert code == 0, out + err
    names = [line.split()[1] for line in out.splitlines() if not line.startswith(" ")]
    assert names == [
        "config",
        "key",
        "zotero",
        "vault",
        "inotify",
        "state",
        "lock",
        "daemon",
        "cache",
        "logs",
    ]
    assert "may read and write user library 1" in out
    assert not (tmp_path / "vault").exists(), "doctor creates nothing"


def test_failing_checks_name_the_fix_and_set_the_exit_code(
    cli: Run,
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("zotero: {library_id: abc}\n", encoding="utf-8")
    code, found = checks(cli, "--config", str(cfg))
    assert code == 2 and found["config"]["status"] == "fail"
    assert "zotero.library_id" in found["config"]["detail"]

    write_config(cfg, zotero_emulator, tmp_path / "no" / "such" / "vault")
    code, found = checks(cli, "--config", str(cfg))
    assert code == 2 and found["key"]["status"] == "fail" and "init" in found["key"]["fix"]
    assert found["vault"]["status"] == "fail" and "typo" in found["vault"]["fix"]

    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "WRONGKEYWRONGKEYWRONGKEY")
    code, found = checks(cli, "--config", str(cfg))
    assert code == 4 and found["zotero"]["status"] == "fail"
    assert "WRONGKEY" not in json.dumps(found)

    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "READONLYKEY")
    _, found = checks(cli, "--config", str(cfg))
    assert found["key"]["status"] == "warn" and "not write" in found["key"]["detail"]


def test_damaged_state_and_stale_lock(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    write_config(cfg, None, tmp_path / "vault")
    state = default_state_path(load_config(cfg))
    StateDB.open(state).close()
    with sqlite3.connect(state) as conn:  # a lock row from before the OS lock: ignored
        conn.execute(
            "INSERT INTO lock (id, owner, pid, hostname, acquired_at) VALUES (1, ?, ?, ?, 0)",
            ("sync", os.getpid(), socket.gethostname()),
        )
    code, found = checks(cli, "--config", str(cfg))
    assert code == 0
    assert found["lock"]["status"] == "ok" and found["lock"]["detail"] == "free"
    with StateDB.open(state) as db:
        db.acquire_lock("watch")
        _, found = checks(cli, "--config", str(cfg))
        assert "held by watch" in found["lock"]["detail"]
        assert found["daemon"]["detail"].startswith("running")

    data = bytearray(state.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # scribble over the first page's b-tree
    state.write_bytes(bytes(data))
    code, out, _ = cli("--config", str(cfg), "doctor")
    assert code == 8
    assert "fail  state" in out and "move" in out and "aside" in out
