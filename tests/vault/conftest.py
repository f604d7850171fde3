"""Fixtures for the vault tests: a store on a fresh temporary vault and a paper factory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pllm_sync.config import VaultConfig
from pllm_sync.vault.store import NoteStat, VaultStore

Age = Callable[[Path], None]
"""The ``age`` fixture's type: ages one file so a scan trusts its cached reading."""


@pytest.fixture
def store(tmp_path: Path) -> VaultStore:
    s = VaultStore(VaultConfig(path=tmp_path / "vault"))
    s.ensure(from_template=False)
    return s


@pytest.fixture
def hash_checks(store: VaultStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files a scan of ``store`` checks by their hash (``_verify``), in order, from now
    on: a reading trusted as it is costs no such check."""
    checked: list[str] = []
    verify = store._verify

    def spy(path: str, prev: NoteStat, now: int) -> NoteStat | None:
        checked.append(path)
        return verify(path, prev, now)

    monkeypatch.setattr(store, "_verify", spy)
    return checked


@pytest.fixture
def age() -> Age:
    """Set a file's mtime 10 s into the past, so a scan trusts its cached reading
    (files modified within the last 2 s are re-read on purpose)."""

    def _age(path: Path) -> None:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))

    return _age
