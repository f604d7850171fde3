"""The collection tree: created level by level, found again by key or by name, repaired with
versioned partial writes (never a PUT)."""

from __future__ import annotations

import math

from pllm_sync.model import Section
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .support import make_store, writes


def _taxonomy(n_top: int = 3, n_sub: int = 2) -> dict[str, Section]:
    root = Section(name="My List", slug="my-list", path=("My List",))
    for i in range(n_top):
        top = root.child(f"Topic {i}")
        for j in range(n_sub):
            top.child(f"Sub {i}.{j}")
    return {"my-list": root}


def test_tree_is_created_level_by_level(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    mapping = store.ensure_collections(_taxonomy(), {})
    assert set(mapping) == {
        "",
        "my-list",
        *(f"my-list/topic-{i}" for i in range(3)),
        *(f"my-list/topic-{i}/sub-{i}-{j}" for i in range(3) for j in range(2)),
    }
    cols = emu.get_collections()
    assert cols[mapping[""]]["name"] == "pllm-sync" and not cols[mapping[""]]["parentCollection"]
    assert (
        cols[mapping["my-list/topic-1/sub-1-0"]]["parentCollection"] == mapping["my-list/topic-1"]
    )
    assert [r.method for r in writes(emu)] == ["POST"] * 4  # root, list, topics, subtopics
    paths = store.collection_paths(mapping)
    assert paths[mapping["my-list/topic-2/sub-2-1"]] == ("My List", "Topic 2", "Sub 2.1")
    assert mapping[""] not in paths


def test_wide_level_is_chunked_to_fifty(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    store.ensure_collections(_taxonomy(n_top=120, n_sub=0), {})
    level_posts = [r for r in writes(emu)]
    assert len(level_posts) == 2 + math.ceil(120 / 50)
    assert len(emu.get_collections()) == 122


def test_found_again_by_key_and_repaired_by_patch(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    mapping = store.ensure_collections(_taxonomy(), {})
    sub = mapping["my-list/topic-0/sub-0-1"]
    cols = emu.get_collections()
    # The user renames one collection and moves another to the top level.
    emu.edit_collection(sub, {"name": "Renamed", "version": cols[sub]["version"]})
    top = mapping["my-list/topic-2"]
    emu.edit_collection(top, {"parentCollection": False, "version": cols[top]["version"]})
    emu.clear_log()

    store2 = make_store(emu)
    again = store2.ensure_collections(_taxonomy(), mapping)
    assert again == mapping
    cols = emu.get_collections()
    assert cols[sub]["name"] == "Sub 0.1"
    assert cols[top]["parentCollection"] == mapping["my-list"]
    assert len(cols) == len(mapping)
    posts = writes(emu)
    assert [r.method for r in posts] == ["POST", "POST"]  # one versioned batch per level
    assert all("Zotero-Write-Token" in r.request_headers for r in posts)
    assert all("If-Unmodified-Since-Version" in r.request_headers for r in posts)


def test_found_again_by_name_when_the_mapping_was_lost(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    mapping = store.ensure_collections(_taxonomy(), {})
    emu.clear_log()
    again = make_store(emu).ensure_collections(_taxonomy(), {})
    assert again == mapping
    assert not writes(emu)


def test_unknown_sections_are_kept_and_trashed_ones_restored(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    mapping = store.ensure_collections(_taxonomy(), {})
    cols = emu.get_collections()
    trashed = mapping["my-list/topic-1"]
    emu.edit_collection(trashed, {"deleted": True, "version": cols[trashed]["version"]})
    smaller = _taxonomy(n_top=2)  # the list dropped "Topic 2"
    again = make_store(emu).ensure_collections(smaller, mapping)
    assert not emu.get_collections()[trashed].get("deleted")
    # The dropped section's collections still exist (they may hold the user's items).
    assert again["my-list/topic-2"] == mapping["my-list/topic-2"]
    paths = make_store(emu)
    paths.ensure_collections(smaller, again)
    assert paths.collection_paths(again)[mapping["my-list/topic-2/sub-2-0"]] == (
        "My List",
        "Topic 2",
        "Sub 2.0",
    )


def test_user_collections_outside_the_tree_are_left_alone(emu: ZoteroEmulator) -> None:
    mine = emu.create_collection({"name": "My own reading"})
    store = make_store(emu)
    store.read(None)
    mapping = store.ensure_collections(_taxonomy(), {})
    assert mine not in mapping.values()
    assert emu.get_collections()[mine]["name"] == "My own reading"
