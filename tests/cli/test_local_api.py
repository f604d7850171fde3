"""Zotero desktop without an account: `zotero.endpoint: local` against the emulator's local
mode (the desktop's rules: no /keys or /deleted, a per-run Allow dialog, Zotero-Server-ID on
writes, read-only Zotero 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.config import LOCAL_ENDPOINT, parse_config
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Run

LIST = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "catalogs"
    / "jiahongliu21"
    / ("2026-03-31_dd027af.md")
)
PID = "arxiv:2304.11406"


@pytest.fixture
def desktop() -> Iterator[ZoteroEmulator]:
    emu = ZoteroEmulator(user_id=42, api_key="UNUSEDWEBKEY", local=10).start()
    yield emu
    emu.stop()


def write_config(tmp_path: Path, endpoint: str) -> str:
    cfg = tmp_path / "c.yaml"
    data = {
        "catalog": {"sources": [{"name": "jiahongliu21", "path": str(LIST)}]},
        "zotero": {"endpoint": endpoint},
        "vault": {"path": str(tmp_path / "vault")},
    }
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(cfg)


def items(emu: ZoteroEmulator) -> dict[str, dict[str, Any]]:
    return {
        k: d
        for k, d in emu.get_items(include_trashed=True).items()
        if d["itemType"] not in ("note", "attachment")
    }


def note_for(vault: Path, pid: str) -> Path:
    (hit,) = [p for p in vault.rglob("*.md") if f"pllm-sync-id: {pid}\n" in p.read_text()]
    return hit


def test_endpoint_local_means_the_desktop() -> None:
    z = parse_config({"zotero": {"endpoint": "local"}}, "t").zotero
    assert z.endpoint == LOCAL_ENDPOINT and z.local and z.library_id == "0" and z.configured


def test_a_round_trip_through_the_desktop(
    cli: Run, tmp_path: Path, desktop: ZoteroEmulator
) -> None:
    cfg = write_config(tmp_path, desktop.base_url + "/api")
    code, _, err = cli("--config", cfg, "pull", "--no-progress")
    assert code == 0, err
    vault = tmp_path / "vault"
    notes = list((vault / "Papers").glob("*.md"))
    assert len(items(desktop)) == len(notes) > 50
    note = note_for(vault, PID)
    note.write_text(re.sub(r"^status:.*$", "status: read", note.read_text(), count=1, flags=re.M))
    code, _, err = cli("--config", cfg, "sync", "--no-progress")
    assert code == 0, err
    (item,) = [d for d in items(desktop).values() if f"pllm-sync-id: {PID}" in d["extra"]]
    assert "status/read" in {t["tag"] for t in item["tags"]}
    assert cli("--config", cfg, "sync", "--no-progress")[1].startswith("done: nothing to change")
    # no /deleted: an item emptied from Zotero's trash is missed in the full listing
    desktop.delete_item(item["key"])
    code, _, err = cli("--config", cfg, "sync", "--no-progress")
    assert code == 0, err
    assert list((vault / ".pllm-sync-trash").rglob("*.md")), "the note went to the vault trash"
    assert len(items(desktop)) == len(notes) - 1, "nothing recreated, nothing duplicated"


def test_zotero_7_is_read_only_and_nothing_is_written(cli: Run, tmp_path: Path) -> None:
    with ZoteroEmulator(user_id=42, local=7) as emu:
        cfg = write_config(tmp_path, emu.base_url + "/api")
        code, _, err = cli("--config", cfg, "pull", "--no-progress")
        assert code == 4
        assert "read-only (Zotero 7)" in err and "stopped before writing" in err
        assert not items(emu) and not (tmp_path / "vault").exists()


def test_deny_in_the_dialog_is_a_clear_refusal(
    cli: Run, tmp_path: Path, desktop: ZoteroEmulator
) -> None:
    assert desktop.local is not None
    desktop.local.deny = True
    cfg = write_config(tmp_path, desktop.base_url + "/api")
    code, _, err = cli("--config", cfg, "pull", "--no-progress")
    assert code == 4 and "Deny" in err and "Allow" in err
    assert not items(desktop)


def test_init_and_doctor_for_the_desktop(cli: Run, tmp_path: Path, desktop: ZoteroEmulator) -> None:
    cfg = str(tmp_path / "new.yaml")
    code, out, err = cli(
        "--config",
        cfg,
        "init",
        "--endpoint",
        desktop.base_url + "/api",
        "--vault",
        str(tmp_path / "v"),
    )
    assert code == 0, err
    assert "ask you to Allow" in out and "API key" not in out
    code, out, err = cli("--config", cfg, "doctor")
    assert code == 0, out + err
    assert "Zotero desktop" in out
    assert cli("--config", cfg, "pull", "--dry-run")[0] == 0
