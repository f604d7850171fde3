"""Helpers for CLI tests: run ``pllm-sync`` in-process and capture what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pllm_sync.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli(*args)`` -> (exit code, stdout, stderr) of one in-process ``pllm-sync`` run."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def offline_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded defaults minus the network, in a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "offline.yaml"
    cfg.write_text("catalog: {offline: true}\n", encoding="utf-8")
    return cfg
