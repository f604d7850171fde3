"""Shared set-up for end-to-end tests: a config pointing at local catalog copies, a temporary
vault and the emulator; the CLI run in-process through ``pllm_sync.cli.main``."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from pllm_sync.cli import main
from pllm_sync.testing.zotero_server import ZoteroEmulator

DATA = Path(__file__).resolve().parents[1] / "data"
NEWEST = {
    "jiahongliu21": DATA / "catalogs" / "jiahongliu21" / "2026-03-31_dd027af.md",
    "vanillacreamer": DATA / "catalogs" / "vanillacreamer" / "2026-06-09_3a6f690.md",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Env:
    root: Path
    emu: ZoteroEmulator
    capsys: pytest.CaptureFixture[str]
    lists: dict[str, Path] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def vault(self) -> Path:
        return self.root / "vault"

    @property
    def papers(self) -> Path:
        return self.vault / "Papers"

    def write_config(self, **sync: Any) -> None:
        data: dict[str, Any] = {
            "catalog": {"sources": [{"name": n, "path": str(p)} for n, p in self.lists.items()]},
            "zotero": {
                "library_id": self.emu.user_id,
                "endpoint": self.emu.base_url,
                "stream_url": "off",  # this emulator serves no /stream; tests/daemon cover it
            },
            "api": {"port": 0},  # a `watch` here never takes the fixed default port
            "vault": {"path": str(self.vault)},
        }
        if sync:
            data["sync"] = sync
        self.config.write_text(yaml.safe_dump(data), encoding="utf-8")

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def set_list(self, name: str, source: Path) -> None:
        shutil.copyfile(source, self.lists[name])

    # --- Zotero views ------------------------------------------------------------------

    def items(self, *, trashed: bool = False) -> dict[str, dict[str, Any]]:
        """Top-level regular items (not notes/attachments), live unless ``trashed``."""
        return {
            k: d
            for k, d in self.emu.get_items(include_trashed=True).items()
            if d["itemType"] not in ("note", "attachment") and bool(d.get("deleted")) == trashed
        }

    def children(self, key: str) -> list[dict[str, Any]]:
        return [
            d
            for d in self.emu.get_items(include_trashed=False).values()
            if d.get("parentItem") == key
        ]

    def item_by_pid(self, pid: str) -> dict[str, Any]:
        found = [d for d in self.items().values() if f"pllm-sync-id: {pid}" in d["extra"]]
        assert len(found) == 1, (pid, len(found))
        return found[0]

    def writes(self) -> list[Any]:
        return [r for r in self.emu.request_log if r.method in WRITE_METHODS]

    # --- vault views -------------------------------------------------------------------

    def note_for(self, pid: str) -> Path:
        hits = [
            p
            for p in self.vault.rglob("*.md")
            if f"pllm-sync-id: {pid}\n" in p.read_text(encoding="utf-8")
            and ".pllm-sync-trash" not in p.parts
        ]
        assert len(hits) == 1, (pid, hits)
        return hits[0]

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {
            str(p.relative_to(self.vault)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in self.vault.rglob("*")
            if p.is_file()
        }


class NewEnv(Protocol):
    """The ``new_env`` fixture (conftest.py): ``make_env`` given only lists and options."""

    def __call__(self, lists: dict[str, str], **sync: Any) -> Env: ...


def make_env(
    tmp_path: Path,
    emu: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    lists: dict[str, str],
    **sync: Any,
) -> Env:
    """An ``Env`` whose config follows ``lists`` (name -> markdown text, each written to
    ``<name>.md``), with the emulator's key in the environment as a headless run has it."""
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", emu.api_key)
    e = Env(root=tmp_path, emu=emu, capsys=capsys)
    for name, text in lists.items():
        e.lists[name] = tmp_path / f"{name}.md"
        e.lists[name].write_text(text, encoding="utf-8")
    e.write_config(**sync)
    return e


def pids_in_extra(items: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for d in items.values():
        m = re.search(r"^pllm-sync-id: (.+)$", d["extra"], re.M)
        if m:
            out.append(m.group(1))
    return out


def frontmatter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    block = text.split("---", 2)[1]
    data = yaml.safe_load(block)
    assert isinstance(data, dict)
    return data


def edit_frontmatter(path: Path, **changes: Any) -> None:
    """Edit a note the way a user would: change the lines of some keys, keep the rest."""
    text = path.read_text(encoding="utf-8")
    _, block, body = text.split("---", 2)
    data = yaml.safe_load(block)
    data.update(changes)
    path.write_text(
        "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---" + body,
        encoding="utf-8",
    )
