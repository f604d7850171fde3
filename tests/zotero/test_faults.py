"""Failures, rate limits and concurrent edits: the import stops with a clear error, and a
rerun converges to the same library with no duplicate item or collection."""

from __future__ import annotations

import time

import pytest

from pllm_sync.errors import ZoteroError
from pllm_sync.model import Catalog
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.store import ItemChange

from .support import (
    SyncState,
    check_library,
    make_store,
    real_catalog,
    run_import,
    synthetic_catalog,
    writes,
)

SMALL = synthetic_catalog(110, seed=3, fanout=(3, 3))


def _clean_request_count(catalog: Catalog) -> int:
    with ZoteroEmulator() as emu:
        store = make_store(emu)
        run_import(store, catalog, SyncState())
        return len(emu.request_log)


@pytest.mark.parametrize("keep", ["returned", "partial", "nothing"])
def test_failure_after_every_request_converges_on_rerun(full: bool, keep: str) -> None:
    catalog = SMALL
    total = _clean_request_count(catalog)
    ks = range(total + 1) if full else sorted({0, 1, 3, total // 2, total - 2, total - 1, total})
    for k in ks:
        with ZoteroEmulator() as emu:
            state = SyncState()
            emu.fail_after(k)
            if k < total:
                with pytest.raises(ZoteroError) as err:
                    run_import(make_store(emu), catalog, state, keep_partial=keep == "partial")
                text = str(err.value)
                assert "Zotero kept failing" in text and "TESTKEY" not in text
                assert err.value.hint
            else:  # enough requests for a whole clean import
                run_import(make_store(emu), catalog, state)
            emu.clear_faults()
            if keep == "nothing":
                state = SyncState()
            run_import(make_store(emu), catalog, state)
            check_library(emu, catalog)
            assert len(state.items) == len(catalog.papers)


@pytest.mark.slow
@pytest.mark.parametrize("keep", ["returned", "nothing"])
def test_failure_sweep_on_both_default_lists(keep: str) -> None:
    catalog = real_catalog()
    total = _clean_request_count(catalog)
    for k in range(total + 1):
        with ZoteroEmulator() as emu:
            state = SyncState()
            emu.fail_after(k)
            if k < total:
                with pytest.raises(ZoteroError):
                    run_import(make_store(emu), catalog, state)
            emu.clear_faults()
            run_import(make_store(emu), catalog, state if keep == "returned" else SyncState())
            check_library(emu, catalog)


def test_429_retry_after_on_a_write_is_honoured(emu: ZoteroEmulator, sleeps: list[float]) -> None:
    emu.inject(429, method="POST", path=r"/items$", retry_after=7)
    run_import(make_store(emu, sleeps=sleeps), SMALL, SyncState())
    assert any(6.5 < s <= 7 for s in sleeps), sleeps
    statuses = [r.status for r in writes(emu) if r.path.endswith("/items")]
    assert statuses[0] == 429 and all(s == 200 for s in statuses[1:])
    check_library(emu, SMALL)


def test_429_on_a_read_waits_through_pyzotero(emu: ZoteroEmulator, sleeps: list[float]) -> None:
    emu.inject(429, method="GET", path=r"/items$", retry_after=3)
    store = make_store(emu, sleeps=sleeps)
    snap = store.read(None)
    assert snap.full
    assert any(2.5 < s <= 3 for s in sleeps), sleeps


def test_backoff_header_on_a_success_delays_the_next_request(
    emu: ZoteroEmulator, sleeps: list[float]
) -> None:
    emu.inject(200, method="POST", path=r"/collections$", backoff=5)
    run_import(make_store(emu, sleeps=sleeps), SMALL, SyncState())
    assert any(4.5 < s <= 5 for s in sleeps), sleeps
    check_library(emu, SMALL)


def test_429_without_retry_after_and_503_back_off_exponentially(
    emu: ZoteroEmulator, sleeps: list[float]
) -> None:
    emu.inject(503, method="POST", count=2)
    run_import(make_store(emu, sleeps=sleeps), SMALL, SyncState())
    assert sleeps[:2] == [pytest.approx(1.0, abs=0.1), pytest.approx(2.0, abs=0.1)]
    check_library(emu, SMALL)


def test_concurrent_edit_gives_412_then_reread_and_retry(emu: ZoteroEmulator) -> None:
    """Another device edits the library between our read and our write: the batch gets a
    library 412, the store re-reads what it was writing and retries; nothing is lost."""
    other = emu.create_item({"itemType": "book", "title": "Someone else's book"})
    fired: list[str] = []

    def edit_once(e: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items") and not fired:
            fired.append(path)
            e.edit_item(
                other, {"title": "Edited elsewhere", "version": e.get_items()[other]["version"]}
            )

    emu.on_request(edit_once)
    state = SyncState()
    store = make_store(emu)
    run_import(store, SMALL, state)
    emu.on_request(None)

    assert any(r.status == 412 for r in writes(emu))
    assert emu.get_items()[other]["title"] == "Edited elsewhere"
    # The safe `since` stays before the unseen edit, so the next read picks it up.
    snap = make_store(emu).read(state.library_version)
    assert other in snap.items


def test_stale_update_is_retried_when_the_fields_are_untouched(emu: ZoteroEmulator) -> None:
    key = emu.create_item({"itemType": "preprint", "title": "T", "extra": "user line"})
    store = make_store(emu)
    snap = store.read(None)
    base = snap.items[key]
    emu.edit_item(key, {"abstractNote": "edited elsewhere", "version": base["version"]})
    report = store.update_items([ItemChange(key, base["version"], {"title": "New"}, base=base)])
    assert report.ok
    data = emu.get_items()[key]
    assert data["title"] == "New" and data["abstractNote"] == "edited elsewhere"


def test_stale_update_of_a_field_changed_elsewhere_is_reported_not_forced(
    emu: ZoteroEmulator,
) -> None:
    key = emu.create_item({"itemType": "preprint", "title": "T"})
    store = make_store(emu)
    base = store.read(None).items[key]
    emu.edit_item(key, {"title": "Their title", "version": base["version"]})
    report = store.update_items([ItemChange(key, base["version"], {"title": "Ours"}, base=base)])
    assert [f.code for f in report.failures] == [412]
    assert "next sync" in report.failures[0].message
    assert emu.get_items()[key]["title"] == "Their title"


def test_per_index_failures_are_reported_with_title_and_the_rest_written(
    emu: ZoteroEmulator,
) -> None:
    good = emu.create_item({"itemType": "preprint", "title": "Good"})
    bad = emu.create_item({"itemType": "preprint", "title": "Bad one"})
    store = make_store(emu)
    snap = store.read(None)
    report = store.update_items(
        [
            ItemChange(good, snap.items[good]["version"], {"title": "Good 2"}),
            # publicationTitle is not a preprint field: the server fails this index with 400
            ItemChange(bad, snap.items[bad]["version"], {"publicationTitle": "X"}, label="Bad one"),
        ]
    )
    assert good in report.results
    assert [(f.key, f.code, f.title) for f in report.failures] == [(bad, 400, "Bad one")]
    assert "publicationTitle" in report.failures[0].message
    assert emu.get_items()[good]["title"] == "Good 2"


def test_create_retried_after_a_lost_response_does_not_duplicate(emu: ZoteroEmulator) -> None:
    """The first item POST is executed only after the client gave up waiting (a lost
    response); the retry carries the same write token and keys, and nothing is doubled."""
    catalog = synthetic_catalog(40, seed=11)
    emu.inject(200, method="POST", path=r"/items$", delay=1.0)
    waits: list[float] = []

    def slow_sleep(s: float) -> None:
        waits.append(s)
        time.sleep(1.2)  # let the delayed original land before the retry

    store = make_store(emu, timeout=0.5, sleep=slow_sleep)
    run_import(store, catalog, SyncState())
    check_library(emu, catalog)
    posts = [r for r in writes(emu) if r.path.endswith("/items")]
    assert len(posts) >= 2
    assert posts[0].request_headers.get("Zotero-Write-Token") == posts[1].request_headers.get(
        "Zotero-Write-Token"
    )


def test_lost_response_at_any_request_converges(full: bool) -> None:
    """Request k is executed only after the client stopped waiting (its answer is lost);
    the store's retry must neither duplicate nor miss anything, whichever request it was."""
    catalog = synthetic_catalog(60, seed=5, fanout=(2, 2))
    total = _clean_request_count(catalog)
    ks = range(total) if full else sorted({1, total // 2, total - 1})
    for k in ks:
        with ZoteroEmulator() as emu:
            emu.inject(200, after=k, delay=0.4)
            store = make_store(emu, timeout=0.2, sleep=lambda s: time.sleep(0.5))
            run_import(store, catalog, SyncState())
            check_library(emu, catalog)


def test_create_of_a_key_that_already_exists_counts_as_created(emu: ZoteroEmulator) -> None:
    """A create resent with a new write token (say, by a rerun) meets its own object: the
    per-index 412 is read back and treated as created, never as a second item."""
    from pllm_sync.zotero.batch import BatchWriter, WriteOp

    store = make_store(emu)
    store.read(None)
    obj = {"key": "ABCD2345", "version": 0, "itemType": "preprint", "title": "Once"}
    first = BatchWriter(store.http, "items").write([WriteOp(obj=dict(obj))])
    again = BatchWriter(store.http, "items").write([WriteOp(obj=dict(obj))])
    assert first["ABCD2345"].ok and again["ABCD2345"].ok
    assert again["ABCD2345"].version == first["ABCD2345"].version
    assert list(emu.get_items()) == ["ABCD2345"]
    assert [r.status for r in writes(emu)] == [200, 200]


def test_transient_per_index_failures_are_retried(emu: ZoteroEmulator) -> None:
    """Zotero's write report can fail single objects with 500, 429 or a lock (409): those are
    sent again; a 400 is final and reported."""
    from pllm_sync.zotero.batch import BatchWriter, WriteOp

    store = make_store(emu)
    store.read(None)
    ops = [
        WriteOp(obj={"key": k, "version": 0, "itemType": "preprint", "title": k}, label=k)
        for k in ("AAAA2222", "BBBB2222", "CCCC2222", "DDDD2222", "EEEE2222")
    ]
    writer = BatchWriter(store.http, "items")
    report = {
        "successful": {"0": {"key": "AAAA2222", "version": 5, "data": {"key": "AAAA2222"}}},
        "failed": {
            "1": {"key": "BBBB2222", "code": 500, "message": "An error occurred"},
            "2": {"key": "CCCC2222", "code": 429, "message": "Rate limited"},
            "3": {"key": "DDDD2222", "code": 409, "message": "The target library is locked"},
            "4": {"key": "EEEE2222", "code": 400, "message": "Invalid property 'x'"},
        },
    }
    again = writer._report(ops, report)
    assert [op.key for op in again] == ["BBBB2222", "CCCC2222", "DDDD2222"]
    assert writer.outcomes["EEEE2222"].code == 400 and not writer.outcomes["EEEE2222"].ok
    writer.write(again)
    assert all(writer.outcomes[k].ok for k in ("BBBB2222", "CCCC2222", "DDDD2222"))
    assert set(emu.get_items()) == {"BBBB2222", "CCCC2222", "DDDD2222"}
