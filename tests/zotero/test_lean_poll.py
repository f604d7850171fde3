"""The daemon's poll (``ZoteroStore.unchanged_since``): one lean conditional request on a
kept-alive connection, the same answer as the normal client's in every case."""

from __future__ import annotations

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .support import make_store


def test_polls_share_one_kept_connection_and_see_a_change(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.http.request("GET", f"{store.http.prefix}/items/top", params={"limit": 1})  # client up
    v = emu.library_version()
    emu.clear_log()
    assert store.unchanged_since(v)
    kept = store.http.lean_conn
    assert kept is not None, "the daemon's connection is kept for the next poll"
    assert store.unchanged_since(v)
    assert store.http.lean_conn is kept
    assert [(r.method, r.status) for r in emu.request_log] == [("GET", 304), ("GET", 304)]

    key = emu.create_item({"itemType": "book", "title": "New in Zotero"})
    assert key
    emu.clear_log()
    assert not store.unchanged_since(v), "a change is seen"
    statuses = [r.status for r in emu.request_log]
    assert statuses == [200, 200], "not a 304: asked again through the client, as before"
    assert store.unchanged_since(emu.library_version())


def test_a_broken_kept_connection_still_gives_the_right_answer(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    v = emu.library_version()
    assert store.unchanged_since(v)
    conn = store.http.lean_conn
    assert conn is not None and conn.sock is not None
    conn.sock.close()  # e.g. the network went away between two polls
    assert store.unchanged_since(v)
    emu.create_item({"itemType": "book", "title": "New in Zotero"})
    assert not store.unchanged_since(v)
