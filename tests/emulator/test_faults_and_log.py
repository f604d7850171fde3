"""Fault injection (429/503/500/409, Backoff on 2xx, delays, outages), the request hook that
simulates a concurrent edit, and the request log."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pyzotero import zotero_errors as ze

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Raw


def test_injected_429_is_answered_without_running_the_request(
    raw: Raw, zotero_emulator: ZoteroEmulator
) -> None:
    zotero_emulator.inject(429, retry_after=7, method="POST", path=r"/items$")
    resp = raw.post("/users/1/items", [{"itemType": "book"}])
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.text == "Request rate limit exceeded"
    assert zotero_emulator.library_version() == 0
    assert raw.post("/users/1/items", [{"itemType": "book"}]).status_code == 200


def test_pyzotero_retries_a_429_read(zotero_client: Any, zotero_emulator: ZoteroEmulator) -> None:
    zotero_emulator.create_item({"itemType": "book", "title": "x"})
    zotero_emulator.inject(429, count=2, retry_after=0, method="GET", path=r"/users/1/items$")
    assert len(zotero_client.items()) == 1
    statuses = [r.status for r in zotero_emulator.request_log if r.path == "/users/1/items"]
    assert statuses == [429, 429, 200]


def test_429_without_retry_after_gives_up_at_once(
    zotero_client: Any, zotero_emulator: ZoteroEmulator
) -> None:
    zotero_emulator.inject(429, method="GET")
    with pytest.raises(ze.TooManyRetriesError):
        zotero_client.items()


def test_backoff_on_a_successful_response_runs_the_request(
    raw: Raw, zotero_emulator: ZoteroEmulator
) -> None:
    zotero_emulator.inject(200, backoff=5, method="POST")
    resp = raw.post("/users/1/items", [{"itemType": "book"}])
    assert resp.status_code == 200
    assert resp.headers["Backoff"] == "5"
    assert resp.json()["success"]
    assert "Backoff" not in raw.get("/users/1/items").headers


@pytest.mark.parametrize(
    ("status", "exception"),
    [(503, ze.HTTPError), (500, ze.HTTPError), (409, ze.ConflictError)],
)
def test_server_errors_reach_the_client(
    zotero_client: Any, zotero_emulator: ZoteroEmulator, status: int, exception: type[Exception]
) -> None:
    zotero_emulator.inject(status, method="GET")
    with pytest.raises(exception):
        zotero_client.items()
    assert zotero_client.items() == []


def test_after_lets_requests_through_first(raw: Raw, zotero_emulator: ZoteroEmulator) -> None:
    zotero_emulator.inject(503, after=2, count=1, path="/items")
    codes = [raw.get("/users/1/items").status_code for _ in range(4)]
    assert codes == [200, 200, 503, 200]


def test_custom_body_and_path_filter(raw: Raw, zotero_emulator: ZoteroEmulator) -> None:
    zotero_emulator.inject(503, body="Down for maintenance", path="/collections")
    assert raw.get("/users/1/items").status_code == 200
    resp = raw.get("/users/1/collections")
    assert (resp.status_code, resp.text) == (503, "Down for maintenance")


def test_delay_slows_the_answer(raw: Raw, zotero_emulator: ZoteroEmulator) -> None:
    zotero_emulator.inject(200, delay=0.2)
    started = time.monotonic()
    assert raw.get("/users/1/items").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_fail_after_simulates_an_outage(raw: Raw, zotero_emulator: ZoteroEmulator) -> None:
    zotero_emulator.fail_after(2, status=503)
    first = raw.post("/users/1/items", [{"itemType": "book"}])
    second = raw.post("/users/1/items", [{"itemType": "book"}])
    third = raw.post("/users/1/items", [{"itemType": "book"}])
    fourth = raw.get("/users/1/items")
    assert [r.status_code for r in (first, second, third, fourth)] == [200, 200, 503, 503]
    assert len(zotero_emulator.get_items()) == 2
    zotero_emulator.clear_faults()
    assert raw.get("/users/1/items").status_code == 200


def test_hook_makes_a_concurrent_edit_that_provokes_412(
    zotero_client: Any, zotero_emulator: ZoteroEmulator
) -> None:
    key = zotero_emulator.create_item({"itemType": "book", "title": "Mine"})
    item = zotero_client.item(key)

    def edit_once(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "PATCH":
            emu.on_request(None)
            emu.edit_item(key, {"title": "Theirs"})

    zotero_emulator.on_request(edit_once)
    item["data"]["title"] = "Mine, edited"
    with pytest.raises(ze.PreConditionFailedError):
        zotero_client.update_item(item["data"])
    assert zotero_emulator.get_items()[key]["title"] == "Theirs"


def test_request_log_records_requests_but_not_control_calls() -> None:
    with ZoteroEmulator(control=True) as emu:
        import httpx2

        with httpx2.Client(trust_env=False) as client:
            client.get(
                emu.base_url + "/users/1/items?format=versions&since=0",
                headers={"Zotero-API-Key": "TESTKEY"},
            )
            client.post(emu.base_url + "/_control/users/1/clear")
        assert len(emu.request_log) == 1
        record = emu.request_log[0]
        assert (record.method, record.path, record.status) == ("GET", "/users/1/items", 200)
        assert record.query == {"format": ["versions"], "since": ["0"]}
        assert record.request_headers["Zotero-API-Key"] == "TESTKEY"
        assert record.response_headers["Last-Modified-Version"] == "0"
        emu.clear_log()
        assert emu.request_log == []


def test_direct_state_access_follows_web_rules(zotero_emulator: ZoteroEmulator) -> None:
    emu = zotero_emulator
    coll = emu.create_collection({"name": "C"})
    key = emu.create_item({"itemType": "book", "title": "T", "collections": [coll]})
    assert emu.library_version() == 2
    assert emu.edit_item(key, {"title": "T2"}) == 3
    assert emu.edit_item(key, {"title": "T2"}) == 3  # no-op: no bump
    assert emu.edit_collection(coll, {"name": "C2"}) == 4
    assert emu.get_collections()[coll]["name"] == "C2"
    emu.trash_item(key)
    assert emu.get_items()[key]["deleted"] == 1
    assert emu.get_items(include_trashed=False) == {}
    emu.delete_collection(coll)
    assert emu.get_items()[key]["collections"] == []
    emu.delete_item(key)
    assert emu.get_items() == {}
    with pytest.raises(KeyError):
        emu.edit_item(key, {"title": "gone"})
    with pytest.raises(ValueError, match="not a valid field"):
        emu.create_item({"itemType": "note", "title": "x"})
    assert emu.bump_library_version() == emu.library_version()


def test_concurrent_writers_get_distinct_versions(zotero_emulator: ZoteroEmulator) -> None:
    """One lock around library mutations: parallel batches never share or lose a version."""
    import threading

    import httpx2

    url = zotero_emulator.base_url + "/users/1/items"
    versions: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        with httpx2.Client(trust_env=False) as c:
            for _ in range(5):
                report = c.post(
                    url, json=[{"itemType": "book"}] * 4, headers={"Zotero-API-Key": "TESTKEY"}
                ).json()
                with lock:
                    versions.extend(o["version"] for o in report["successful"].values())

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(versions) == list(range(1, 81))
    assert len(zotero_emulator.get_items()) == 80
    assert zotero_emulator.library_version() == 80
