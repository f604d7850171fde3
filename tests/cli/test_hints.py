"""Every next step the CLI suggests works as printed: each backticked `pllm-sync ...` in the
output of a first session is run exactly as shown (with the same --config)."""

from __future__ import annotations

import re
import shlex
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
