"""The e2e tests' shared fixture: an ``Env`` for the lists a test file names."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import NewEnv, make_env


@pytest.fixture
def new_env(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> NewEnv:
    """``make_env`` for this test, given only its lists (name -> markdown) and sync options:
    each test file's ``env`` fixture names its lists and nothing else."""
    return partial(make_env, tmp_path, zotero_emulator, capsys, monkeypatch)
