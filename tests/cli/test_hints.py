"""Every next step the CLI suggests works as printed: each backticked `pllm-sync ...` in the
output of a first session is run exactly as shown (with the same --config)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from .conftest import Run

HINT = re.compile(r"`(pllm-sync [^`]+)`")
# suggestions that block (daemon, server) or need a terminal are checked elsewhere
SKIP = (" watch", " sandbox serve", " init")


def hints(text: str) -> set[str]:
    return {
        h
        for h in HINT.findall(text)
        if not any(s in h for s in SKIP) and "ID" not in h and "|" not in h
    }


def test_every_suggested_command_runs_as_printed(
    cli: Run, offline_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = str(offline_config)
    seen: set[str] = set()
    todo: list[str] = []
    for args in (("pull", "--dry-run"), ("pull",), ("status",), ("doctor",)):
        code, out, err = cli("--config", cfg, *args)
        assert code == 0, err
        todo += sorted(hints(out + err) - seen)
        seen |= hints(out + err)
    assert f"pllm-sync --config {cfg} pull --zotero sandbox" in seen
    while todo:
        hint = todo.pop(0)
        words = shlex.split(hint)
        assert words[1:3] == ["--config", cfg], hint
        code, out, err = cli(*words[1:])
        assert code == 0, (hint, err)
        new = hints(out + err) - seen
        seen |= new
        todo += sorted(new)
    assert any("catalog" in h for h in seen) and any("sandbox" in h for h in seen), seen


def test_guard_messages_name_absolute_paths(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLLM_SYNC_HOME", "home")  # relative on purpose
    Path("c.yaml").write_text("catalog: {offline: true}\nvault: {path: v}\n", encoding="utf-8")
    assert cli("--config", "c.yaml", "pull", "--zotero", "off")[0] == 0
    shutil.rmtree("v")
    code, _, err = cli("--config", "c.yaml", "sync", "--zotero", "off")
    assert code == 6, err
    assert f"the vault at {tmp_path / 'v'} is missing" in err
    code, out, _ = cli("--config", "c.yaml", "status")
    assert f"state: {tmp_path / 'home'}" in out
