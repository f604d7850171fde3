"""Fixtures for the vault tests: a store on a fresh temporary vault and a paper factory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pllm_sync.config import VaultConfig
from pllm_sync.vault.store import VaultStore

Age = Callable[[Path], None]
"""The ``age`` fixture's type: ages one file so a scan trusts its cached reading."""


@pytest.fixture
def store(tmp_path: Path) -> VaultStore:
    s = VaultStore(VaultConfig(path=tmp_path / "vault"))
    s.ensure(from_template=False)
    return s


@pytest.fixture
def age() -> Age:
    """Set a file's mtime 10 s into the past, so a scan trusts its cached reading
    (files modified within the last 2 s are re-read on purpose)."""

    def _age(path: Path) -> None:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))

    return _age
