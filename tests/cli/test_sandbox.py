"""The sandbox, once chosen, stays the library until `init` connects a real one; moving to
the real library neither duplicates nor trashes anything; `sandbox serve` shows it."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyzotero import zotero

from pllm_sync.sandbox import sandbox_db_path, sandbox_key_path
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Run

PID = "arxiv:2304.11406"
PLLM_SYNC = (sys.executable, "-m", "pllm_sync.cli")


def note_for(vault: Path, pid: str) -> Path:
    hits = [
        p
        for p in (vault / "Papers").glob("*.md")
        if f"pllm-sync-id: {pid}\n" in p.read_text(encoding="utf-8")
    ]
    assert len(hits) == 1, hits
    return hits[0]


def set_status(note: Path, status: str) -> None:
    text = note.read_text(encoding="utf-8")
    note.write_text(re.sub(r"^status:.*$", f"status: {status}", text, count=1, flags=re.M))


def regular_items(emu: ZoteroEmulator) -> list[dict[str, Any]]:
    return [
        d
        for d in emu.get_items(include_trashed=True).values()
        if d["itemType"] not in ("note", "attachment")
    ]


def sandbox_items() -> list[dict[str, Any]]:
    """The sandbox library as stored on disk (read without serving it)."""
    key = sandbox_key_path().read_text(encoding="utf-8").strip()
    return regular_items(ZoteroEmulator(user_id=1, api_key=key, db_path=sandbox_db_path()))


def tags_of(items: list[dict[str, Any]], pid: str) -> set[str]:
    (item,) = [d for d in items if f"pllm-sync-id: {pid}" in d.get("extra", "")]
    return {t["tag"] for t in item["tags"]}


def run_hint(cli: Run, out: str, label: str) -> tuple[int, str, str]:
    """Run a command exactly as a `next: ...` line printed it."""
    m = re.search(label + r"[^`]*`(pllm-sync [^`]+)`", out)
    assert m, out
    words = shlex.split(m.group(1))
    return cli(*words[1:])


def test_sandbox_stays_until_init_and_the_move_loses_nothing(
    cli: Run,
    offline_config: Path,
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = str(offline_config)
    vault = tmp_path / "pllm-vault"
    code, out, err = cli("--config", cfg, "pull", "--zotero", "sandbox", "--no-progress")
    assert code == 0, err
    assert "sandbox serve" in out
    n_notes = len(list((vault / "Papers").glob("*.md")))
    assert n_notes > 200

    # plain commands now use the sandbox
    set_status(note_for(vault, PID), "reading")
    code, out, err = cli("--config", cfg, "sync", "--no-progress")
    assert code == 0, err
    assert "not connected" not in err
    assert "status/reading" in tags_of(sandbox_items(), PID)
    code, out, _ = cli("--config", cfg, "status")
    assert "zotero: the sandbox library" in out
    code, out, _ = cli("--config", cfg, "conflicts")
    assert code == 0 and "no open conflicts" in out

    # the move: `init` names the real library (the emulator stands in for it)
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    code, out, err = cli(
        "--config",
        cfg,
        "init",
        "--library-id",
        str(zotero_emulator.user_id),
        "--endpoint",
        zotero_emulator.base_url,
        "--vault",
        str(vault),
        "--no-keyring",
    )
    assert code == 0, err
    assert "left the sandbox" in out
    assert yaml.safe_load(offline_config.read_text())["catalog"] == {"offline": True}, (
        "init keeps the rest of the config"
    )
    code, dry, err = run_hint(cli, out, "next:")
    assert code == 0, err
    assert "create" in dry
    assert not regular_items(zotero_emulator), "the dry run wrote nothing"
    code, out, err = cli("--config", cfg, "pull", "--no-progress")
    assert code == 0, err
    items = regular_items(zotero_emulator)
    assert len(items) == n_notes and not [d for d in items if d.get("deleted")]
    assert "status/reading" in tags_of(items, PID), "the user's status reached the library"
    assert len(list((vault / "Papers").glob("*.md"))) == n_notes
    assert not list(vault.glob(".pllm-sync-trash/**/*.md")), "no note was trashed"
    assert "status: reading" in note_for(vault, PID).read_text(encoding="utf-8")
    code, out, _ = cli("--config", cfg, "pull", "--no-progress")
    assert code == 0 and "nothing to change" in out
    sandbox = sandbox_items()
    assert len(sandbox) == n_notes and not [d for d in sandbox if d.get("deleted")], (
        "the sandbox library is kept as it was"
    )
    code, out, _ = cli("--config", cfg, "status")
    assert f"user {zotero_emulator.user_id} at {zotero_emulator.base_url}" in out


def test_sandbox_serve_prints_a_url_and_key_any_client_can_use(
    offline_config: Path, isolated_home: Path, cli: Run
) -> None:
    assert cli("--config", str(offline_config), "pull", "--zotero", "sandbox")[0] == 0
    proc = subprocess.Popen(
        [*PLLM_SYNC, "--config", str(offline_config), "sandbox", "serve", "--max-seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLLM_SYNC_HOME": str(isolated_home)},
        # Ctrl-C as a terminal gives it (a suite run as a background job ignores SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split(" at ", 1)[1].strip()
        key = re.search(r"key: (\S+)", proc.stdout.readline())
        assert key, first
        zot = zotero.Zotero(1, "user", key.group(1))
        zot.endpoint = url
        top = zot.top(limit=5)
        assert len(top) == 5 and all("pllm-sync-id:" in d["data"]["extra"] for d in top)
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=90)  # 30 s once ran out under load
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_a_sync_goes_through_a_running_sandbox_serve(
    offline_config: Path, isolated_home: Path, cli: Run, tmp_path: Path
) -> None:
    """One process serves the sandbox at a time: a sync meanwhile uses the served one (two
    emulators over one SQLite file would overwrite each other); a second serve is refused."""
    cfg = str(offline_config)
    assert cli("--config", cfg, "pull", "--zotero", "sandbox")[0] == 0
    proc = subprocess.Popen(
        [*PLLM_SYNC, "--config", cfg, "sandbox", "serve", "--max-seconds", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PLLM_SYNC_HOME": str(isolated_home)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" at ", 1)[1].strip()
        key = re.search(r"key: (\S+)", proc.stdout.readline())
        assert key
        set_status(note_for(tmp_path / "pllm-vault", PID), "read")
        code, _, err = cli("--config", cfg, "-v", "sync", "--no-progress")
        assert code == 0, err
        assert f"using the sandbox library served at {url}" in err
        zot = zotero.Zotero(1, "user", key.group(1))
        zot.endpoint = url
        found = [
            d for d in zot.everything(zot.top()) if f"pllm-sync-id: {PID}" in d["data"]["extra"]
        ]
        assert "status/read" in {t["tag"] for t in found[0]["data"]["tags"]}
        code, _, err = cli("--config", cfg, "sandbox", "serve", "--max-seconds", "1")
        assert code == 6 and "in use" in err
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)  # 30 s once ran out under load
    assert proc.returncode == 0, err
    assert cli("--config", cfg, "sync", "--no-progress")[0] == 0, "the sandbox is free again"
