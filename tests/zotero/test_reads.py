"""Incremental reads: what changed since a version, with whole families, in few requests."""

from __future__ import annotations

from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.mapping import find_pllm_note, item_to_record
from pllm_sync.zotero.notes_html import note_html

from .support import SyncState, make_store, run_import, synthetic_catalog

CATALOG = synthetic_catalog(60, seed=2)


def _imported(emu: ZoteroEmulator) -> SyncState:
    state = SyncState()
    run_import(make_store(emu), CATALOG, state)
    return state


def _with_code(state: SyncState) -> tuple[str, str]:
    paper = next(p for p in CATALOG.papers if p.code_url)
    return paper.id, state.items[paper.id]


def test_nothing_changed_costs_one_request(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    store = make_store(emu)
    snap = store.read(state.library_version)
    assert snap.unchanged and not snap.items
    assert store.request_count == 1
    assert emu.request_log[-1].status == 304
    assert emu.request_log[-1].request_headers.get("If-Modified-Since-Version") == str(
        state.library_version
    )


def test_edited_parent_comes_with_its_unchanged_children(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    _pid, key = _with_code(state)
    emu.edit_item(key, {"title": "Edited in Zotero", "version": emu.get_items()[key]["version"]})
    store = make_store(emu)
    snap = store.read(state.library_version)
    assert not snap.unchanged and not snap.full
    assert set(snap.top_level()) == {key}
    assert [c["title"] for c in snap.children(key)] == ["Code"]
    assert snap.library_version == emu.library_version()
    # versions, collection versions, deleted, the item, its children
    assert store.request_count <= 5


def test_edited_note_comes_with_its_parent(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    _pid, key = _with_code(state)
    store = make_store(emu)
    store.read(None)
    note_key, _ = store.upsert_note(key, None, None, "first thoughts")
    version = store.library_version
    note = emu.get_items()[note_key]
    emu.edit_item(
        note_key,
        {"note": note_html("first thoughts\n\nmore *thoughts*"), "version": note["version"]},
    )
    snap = make_store(emu).read(version)
    assert key in snap.items and note_key in snap.items
    rec = item_to_record(snap.items[key], snap.children(key), {})
    assert rec["notes"] == "first thoughts\n\nmore *thoughts*"
    assert rec["code"] is not None  # the unchanged code attachment came along


def test_trash_and_permanent_deletes_are_reported(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    keys = list(state.items.values())
    emu.trash_item(keys[0])
    emu.delete_item(keys[1])
    col = next(iter(k for s, k in state.collections.items() if s.count("/") == 2))
    emu.delete_collection(col)
    snap = make_store(emu).read(state.library_version)
    assert snap.items[keys[0]].get("deleted") == 1
    assert keys[1] in snap.deleted_items
    assert col in snap.deleted_collections


def test_library_moving_during_a_read_restarts_it(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    keys = list(state.items.values())
    emu.edit_item(keys[0], {"title": "change 1", "version": emu.get_items()[keys[0]]["version"]})
    edits: list[str] = []

    def edit_during_read(e: ZoteroEmulator, method: str, path: str) -> None:
        if method == "GET" and path.endswith("/deleted") and not edits:
            edits.append(path)
            e.edit_item(
                keys[1], {"title": "change 2", "version": e.get_items()[keys[1]]["version"]}
            )

    emu.on_request(edit_during_read)
    snap = make_store(emu).read(state.library_version)
    emu.on_request(None)
    assert {keys[0], keys[1]} <= set(snap.items)
    assert snap.items[keys[1]]["title"] == "change 2"
    assert snap.library_version == emu.library_version()
    assert sum(1 for r in emu.request_log if r.path.endswith("/deleted")) == 2


def test_full_read_sees_trash_children_and_collections(emu: ZoteroEmulator) -> None:
    state = _imported(emu)
    emu.trash_item(next(iter(state.items.values())))
    snap = make_store(emu).read(None)
    assert snap.full
    assert len(snap.top_level()) == len(CATALOG.papers)
    assert any(d.get("deleted") for d in snap.items.values())
    assert set(snap.collections) == set(state.collections.values())
    children = [d for d in snap.items.values() if d.get("parentItem")]
    assert len(children) == sum(1 for p in CATALOG.papers if p.code_url)
    assert all(find_pllm_note(snap.children(k)) is None for k in snap.top_level())
