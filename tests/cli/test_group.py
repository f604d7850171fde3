"""A lab's shared library: `library_type: group` end to end against the emulator's
/groups/<id>/ routes, and a member whose key can only read gets a clear message before
anything changes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.testing.zotero_server import ZoteroEmulator, group_library_id

from .conftest import Run

GROUP = 77
DATA = Path(__file__).resolve().parents[1] / "data" / "catalogs" / "jiahongliu21"


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    emu = ZoteroEmulator(api_key="MEMBERKEY", group_ids=(GROUP,))
    emu.state.put_key(
        "READERKEY",
        2,
        {"user": {"library": True, "write": True}, "groups": {str(GROUP): {"library": True}}},
    )
    emu.start()
    yield emu
    emu.stop()


def config(tmp_path: Path, emu: ZoteroEmulator, name: str) -> Path:
    cfg = tmp_path / f"{name}.yaml"
    data = {
        "catalog": {
            "sources": [{"name": "jiahongliu21", "path": str(DATA / "2026-03-31_dd027af.md")}]
        },
        "zotero": {"library_id": GROUP, "library_type": "group", "endpoint": emu.base_url},
        "vault": {"path": str(tmp_path / f"vault-{name}")},
    }
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    return cfg


def test_a_group_library_round_trip(
    cli: Run, tmp_path: Path, lab: ZoteroEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "MEMBERKEY")
    cfg = str(config(tmp_path, lab, "member"))
    code, _, err = cli("--config", cfg, "pull", "--no-progress")
    assert code == 0, err
    items = {
        k: d
        for k, d in lab.get_items(user_id=group_library_id(GROUP)).items()
        if d["itemType"] not in ("note", "attachment")
    }
    notes = list((tmp_path / "vault-member" / "Papers").glob("*.md"))
    assert len(items) == len(notes) > 50
    assert not lab.get_items(), "nothing landed in the member's own library"
    key, item = next(iter(items.items()))
    lab.edit_item(
        key, {"tags": [*item["tags"], {"tag": "lab-pick"}]}, user_id=group_library_id(GROUP)
    )
    code, out, err = cli("--config", cfg, "sync", "--no-progress")
    assert code == 0, err
    assert any("lab-pick" in n.read_text(encoding="utf-8") for n in notes)
    code, out, _ = cli("--config", cfg, "doctor", "--json")
    found = {c["name"]: c for c in json.loads(out)}
    assert found["key"]["status"] == "ok" and "group library 77" in found["key"]["detail"]


def test_a_read_only_member_gets_a_one_way_mirror(
    cli: Run, tmp_path: Path, lab: ZoteroEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "MEMBERKEY")
    assert cli("--config", str(config(tmp_path, lab, "member")), "pull", "--no-progress")[0] == 0
    group = group_library_id(GROUP)
    before = {k: d["version"] for k, d in lab.get_items(user_id=group).items()}

    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "READERKEY")
    cfg = str(config(tmp_path, lab, "reader"))
    lab.clear_log()
    code, out, err = cli("--config", cfg, "pull", "--no-progress")
    assert code == 0, err
    assert "may only read group library 77" in err and "one way" in err
    assert "Traceback" not in err
    vault = tmp_path / "vault-reader"
    notes = list((vault / "Papers").glob("*.md"))
    assert len(notes) == len(before) - sum(
        1 for d in lab.get_items(user_id=group).values() if d["itemType"] in ("note", "attachment")
    )
    assert not [r for r in lab.request_log if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    # the reader's own edit stays in the vault; the group's changes keep arriving
    note = notes[0]
    pid = re.search(r"^pllm-sync-id: (.+)$", note.read_text(encoding="utf-8"), re.M)
    assert pid
    note.write_text(
        re.sub(
            r"^status:.*$", "status: reading", note.read_text(encoding="utf-8"), count=1, flags=re.M
        ),
        encoding="utf-8",
    )
    ((key, item),) = [
        (k, d)
        for k, d in lab.get_items(user_id=group).items()
        if f"pllm-sync-id: {pid.group(1)}" in d.get("extra", "")
    ]
    lab.edit_item(key, {"tags": [*item["tags"], {"tag": "lab-pick"}]}, user_id=group)
    for _ in range(2):  # and it stays settled
        code, out, err = cli("--config", cfg, "sync", "--no-progress")
        assert code == 0, err
        text = note.read_text(encoding="utf-8")
        assert "status: reading" in text and "lab-pick" in text
    assert "status/reading" not in {t["tag"] for t in lab.get_items(user_id=group)[key]["tags"]}
    assert not [r for r in lab.request_log if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    code, out, _ = cli("--config", cfg, "doctor", "--json")
    found = {c["name"]: c for c in json.loads(out)}
    assert found["key"]["status"] == "warn" and "not write" in found["key"]["detail"]
