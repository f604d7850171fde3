"""Importing whole catalogs into an empty library over real HTTP with the real pyzotero
client: one item per paper, one collection per section, close to the fewest requests."""

from __future__ import annotations

import math

import pytest

from pllm_sync.model import Catalog
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .support import (
    SyncState,
    check_library,
    make_store,
    min_writes,
    real_catalog,
    run_import,
    synthetic_catalog,
    writes,
)


@pytest.mark.parametrize("which", ["both default lists", "synthetic 300"])
def test_import_into_empty_library_is_complete_and_near_minimal(
    emu: ZoteroEmulator, which: str
) -> None:
    catalog: Catalog = real_catalog() if which == "both default lists" else synthetic_catalog()
    state = SyncState()
    store = make_store(emu)
    run_import(store, catalog, state)

    check_library(emu, catalog)
    made = writes(emu)
    assert all(r.status == 200 for r in made)
    assert all(r.method == "POST" for r in made)
    minimum = min_writes(catalog)
    assert len(made) <= math.ceil(minimum * 1.1), (len(made), minimum)
    # every write was guarded: write token + library precondition
    assert all("Zotero-Write-Token" in r.request_headers for r in made)
    assert all("If-Unmodified-Since-Version" in r.request_headers for r in made)


def test_second_import_writes_nothing_and_costs_at_most_three_requests(
    emu: ZoteroEmulator,
) -> None:
    catalog = real_catalog()
    state = SyncState()
    run_import(make_store(emu), catalog, state)
    version = emu.library_version()
    emu.clear_log()

    again = make_store(emu)
    run_import(again, catalog, state)

    assert not writes(emu)
    assert len(emu.request_log) <= 3
    assert again.request_count == len(emu.request_log)
    assert emu.library_version() == version


def test_rerun_that_lost_its_state_finds_everything_again(emu: ZoteroEmulator) -> None:
    """A caller that kept nothing (lost state DB) gets the same library, no duplicates."""
    catalog = synthetic_catalog(120)
    run_import(make_store(emu), catalog, SyncState())
    version = emu.library_version()
    emu.clear_log()

    state = SyncState()
    run_import(make_store(emu), catalog, state)

    assert not writes(emu)
    assert emu.library_version() == version
    assert len(state.items) == len(catalog.papers)
    check_library(emu, catalog)


def test_more_than_fifty_objects_are_chunked(emu: ZoteroEmulator) -> None:
    catalog = synthetic_catalog(130)
    run_import(make_store(emu), catalog, SyncState())
    item_posts = [r for r in writes(emu) if r.path.endswith("/items")]
    objects = len(catalog.papers) + sum(1 for p in catalog.papers if p.code_url)
    assert len(item_posts) == math.ceil(objects / 50)
    assert len(emu.get_items()) == objects
