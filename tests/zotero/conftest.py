"""Fixtures for the Zotero store tests: the emulator (from the shipped pytest plugin) plus
a guard that no test ever PUTs a collection (that would drop ``parentCollection``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator


@pytest.fixture
def emu(zotero_emulator: ZoteroEmulator) -> Iterator[ZoteroEmulator]:
    yield zotero_emulator
    puts = [r.path for r in zotero_emulator.request_log if r.method == "PUT"]
    assert not puts, f"the store must never PUT (collections lose their parent): {puts}"


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the store asked for (tests never really wait)."""
    return []
