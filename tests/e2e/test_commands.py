"""The commands around the sync: the README quick start (sandbox), status, init, watch, and
the promise that the API key never lands in files, logs or output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pllm_sync.cli import main
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import NEWEST, Env, NewEnv, edit_frontmatter, frontmatter


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_quickstart_sandbox_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pllm-sync pull --zotero sandbox` on the embedded defaults, offline."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "offline.yaml"  # the embedded defaults, minus the network
    cfg.write_text("catalog: {offline: true}\n", encoding="utf-8")
    code, out, err = run(capsys, "--config", str(cfg), "pull", "--zotero", "sandbox")
    assert code == 0, err
    notes = list((tmp_path / "pllm-vault" / "Papers").glob("*.md"))
    assert len(notes) > 200
    assert (tmp_path / "pllm-vault" / ".obsidian" / "types.json").exists()
    # the sandbox library persists between runs: the second run finds everything in place
    code, out, err = run(capsys, "--config", str(cfg), "pull", "--zotero", "sandbox")
    assert code == 0, err
    assert "nothing to change" in out
    code, out, _ = run(capsys, "--config", str(cfg), "status")
    assert "sandbox" in out and "in_zotero: " in out


def test_vault_only_without_zotero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("catalog: {offline: true}\n", encoding="utf-8")
    code, _out, err = run(capsys, "--config", str(cfg), "pull")
    assert code == 0
    assert f"pllm-sync --config {cfg} init" in err, "says how to connect Zotero"
    assert len(list((tmp_path / "pllm-vault" / "Papers").glob("*.md"))) > 200


def test_init_headless_writes_config_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "SECRET-KEY-123456")
    cfg = tmp_path / "cfg.yaml"
    code, out, err = run(
        capsys,
        "--config",
        str(cfg),
        "init",
        "--library-id",
        "4242",
        "--vault",
        str(tmp_path / "v"),
        "--no-keyring",
        "--no-check",
    )
    assert code == 0, err
    text = cfg.read_text(encoding="utf-8")
    assert "SECRET-KEY" not in text and "SECRET-KEY" not in out + err
    assert yaml.safe_load(text)["zotero"]["library_id"] == "4242"
    code, out, _ = run(capsys, "--config", str(cfg), "status")
    assert "user 4242" in out
    code, _, err = run(capsys, "--config", str(cfg), "init", "--library-id", "1")
    assert code == 2 and "--force" in err, "never overwrites a config silently"


def test_init_checks_the_key_before_writing_anything(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = tmp_path / "cfg.yaml"
    args = [
        "--config",
        str(cfg),
        "init",
        "--library-id",
        "1",
        "--endpoint",
        zotero_emulator.base_url,
        "--vault",
        str(tmp_path / "v"),
        "--no-keyring",
    ]
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "WRONGKEYWRONGKEYWRONGKEY")
    code, _, err = run(capsys, *args)
    assert code == 4 and "Invalid key" in err and not cfg.exists()
    assert "WRONGKEY" not in err
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "READONLYKEY")
    code, _, err = run(capsys, *args)
    assert code == 4 and "write" in err and not cfg.exists()
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "accepted" in out and "not stored" in out and cfg.exists()


def test_api_key_never_leaks(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
) -> None:
    key = zotero_emulator.api_key
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", key)
    env = Env(root=tmp_path, emu=zotero_emulator, capsys=capsys)
    env.lists["jiahongliu21"] = tmp_path / "l.md"
    env.set_list("jiahongliu21", NEWEST["jiahongliu21"])
    env.write_config()
    outputs = [
        env.run("-vv", "pull", "--no-progress"),
        env.run("-vv", "sync", "--json"),
        env.run("status", "--json"),
    ]
    # a refused write must not echo the key either
    zotero_emulator.fail_after(0, status=403)
    outputs.append(env.run("-vv", "sync"))
    zotero_emulator.clear_faults()
    for _code, out, err in outputs:
        assert key not in out and key not in err
    for root in (tmp_path, isolated_home):
        for p in root.rglob("*"):
            if p.is_file():
                assert key.encode() not in p.read_bytes().replace(b"api_key", b""), p


def wait_for(cond: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


def test_watch_daemon_carries_edits_both_ways(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_home: Path,
) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    env = Env(root=tmp_path, emu=zotero_emulator, capsys=capsys)
    env.lists["jiahongliu21"] = tmp_path / "l.md"
    env.set_list("jiahongliu21", NEWEST["jiahongliu21"])
    env.write_config()
    data = yaml.safe_load(env.config.read_text())
    data["watch"] = {
        "zotero_poll_seconds": 1,
        "debounce_seconds": 0.3,
        "catalog_refresh_minutes": 60,
    }
    data["api"] = {"port": 0}  # never the fixed default: tests run in parallel
    data["zotero"]["stream_url"] = "off"  # polling only here; tests/daemon cover the stream
    env.config.write_text(yaml.safe_dump(data))
    assert env.run("pull", "--no-progress")[0] == 0
    pid = "arxiv:2304.11406"
    note = env.note_for(pid)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pllm_sync.cli",
            "--config",
            str(env.config),
            "watch",
            "--max-seconds",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLLM_SYNC_HOME": str(isolated_home)},
    )
    try:
        assert proc.stdout is not None
        assert "watching" in proc.stdout.readline()
        time.sleep(0.5)
        edit_frontmatter(note, status="read")
        assert wait_for(
            lambda: "status/read" in {t["tag"] for t in env.item_by_pid(pid)["tags"]}
        ), "a vault edit reached Zotero"
        item = env.item_by_pid(pid)
        zotero_emulator.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
        assert wait_for(lambda: "from-zotero" in (frontmatter(note).get("tags") or [])), (
            "a Zotero edit reached the note"
        )
        # a one-shot run is refused while the daemon holds the lock
        code, _, err = env.run("sync")
        assert code == 6 and "watch" in err
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err  # SIGTERM: the pass finished, then 128 + 15
    assert "stopped after" in out


def test_exit_codes_follow_the_readme_table(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    isolated_home: Path,
) -> None:
    """A dry run that finds conflicts exits 7; resolving an unknown conflict is a bad command
    line (2); Ctrl-C on watch exits 130 without a traceback; the log dir receives the run."""
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    env = Env(root=tmp_path, emu=zotero_emulator, capsys=capsys)
    env.lists["jiahongliu21"] = tmp_path / "l.md"
    env.set_list("jiahongliu21", NEWEST["jiahongliu21"])
    env.write_config()
    assert env.run("conflicts", "resolve", "1", "--take", "vault")[0] == 2
    assert env.run("pull", "--no-progress")[0] == 0
    assert "INFO" in (isolated_home / "logs" / "pllm-sync.log").read_text(encoding="utf-8")
    pid = "arxiv:2304.11406"
    item = env.item_by_pid(pid)
    zotero_emulator.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "rating/5"}]})
    edit_frontmatter(env.note_for(pid), rating=2)
    code, out, err = env.run("sync", "--dry-run")
    assert code == 7, err
    assert "conflicts: 1" in out and "1 conflict would need a decision" in err
    assert "rating/5" in {t["tag"] for t in env.item_by_pid(pid)["tags"]}
    code, _, err = env.run("conflicts", "resolve", "99", "--take", "vault")
    assert code == 2 and "no open conflict with id 99" in err

    proc = subprocess.Popen(
        [sys.executable, "-m", "pllm_sync.cli", "--config", str(env.config), "watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLLM_SYNC_HOME": str(isolated_home)},
    )
    try:
        assert proc.stdout is not None
        assert "watching" in proc.stdout.readline()
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_vault_path_is_created_only_after_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("catalog: {offline: true}\nvault: {path: typo/nested/vault}\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "pull")
    assert code == 5 and f"{tmp_path / 'typo'}" in err and "typo" in err
    assert not (tmp_path / "typo").exists(), "a missing parent is likely a typo: nothing made"
    cfg.write_text("catalog: {offline: true}\nvault: {path: fresh}\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "pull")
    assert code == 0, err
    assert f"vault folder {tmp_path / 'fresh'} (vault.path) does not exist yet" in err


def test_a_dry_run_lists_the_deletions_the_mass_delete_guard_stops(new_env: NewEnv) -> None:
    """Found by the Zotero helper: 30 of 97 items trashed in Zotero; `sync` stops at the
    guard and advises `sync --dry-run` to list them, but the dry run stopped at the guard
    too and listed nothing. It lists them now, and still exits 6."""
    many = "".join(
        f"+ **\\[2024 EMNLP\\]** Guard Paper {i}: A Study. ([Paper](https://arxiv.org/abs/2403.{i:05d}))\n"
        for i in range(1, 11)
    )
    env = new_env({"guard": "# Guard List\n\n## Alignment\n\n" + many})
    assert env.run("pull", "--no-progress")[0] == 0
    for i in (1, 2, 3):  # 30 %, over the default 20 %
        env.emu.trash_item(env.item_by_pid(f"arxiv:2403.{i:05d}")["key"])
    code, out, err = env.run("sync", "--no-progress")
    assert code == 6 and "sync --dry-run" in err, err
    code, out, err = env.run("sync", "--dry-run", "--no-progress")
    assert code == 6, (out, err)
    assert all(f"Guard Paper {i}" in out for i in (1, 2, 3)), out
    assert "a run without --dry-run stops here" in err and "listed above" in err, err
    assert len([p for p in env.papers.glob("*.md")]) == 10, "a dry run changes nothing"
