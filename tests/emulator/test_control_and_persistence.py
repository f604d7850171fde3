"""The /_control test API (shared/zotero-emulator-control.md), the SQLite sandbox library that
survives restarts, and the standalone ``python -m`` server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

FULL = {
    "user": {"library": True, "files": True, "notes": True, "write": True},
    "groups": {"all": {"library": True, "write": True}},
}


@pytest.fixture
def control_emu() -> Iterator[ZoteroEmulator]:
    with ZoteroEmulator(control=True) as emu:
        yield emu


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    with httpx2.Client(trust_env=False, timeout=30) as c:
        yield c


def test_control_is_off_by_default(zotero_emulator: ZoteroEmulator, client: httpx2.Client) -> None:
    assert client.post(zotero_emulator.base_url + "/_control/reset").status_code == 404


def test_users_keys_and_the_public_api(control_emu: ZoteroEmulator, client: httpx2.Client) -> None:
    base = control_emu.base_url + "/_control"
    resp = client.put(f"{base}/users/7", json={"username": "alice", "displayName": "Alice A."})
    assert resp.status_code == 204
    resp = client.post(f"{base}/users/7/keys", json={"access": FULL})
    assert resp.status_code == 201
    assert resp.headers["Content-Type"] == "application/json"
    key = resp.json()["key"]
    assert len(key) == 24 and key.isalnum()
    info = client.get(f"{control_emu.base_url}/keys/{key}").json()
    assert info == {
        "key": key,
        "userID": 7,
        "username": "alice",
        "displayName": "Alice A.",
        "access": FULL,
    }
    created = client.post(
        f"{control_emu.base_url}/users/7/items",
        json=[{"itemType": "book"}],
        headers={"Authorization": f"Bearer {key}"},
    ).json()["successful"]["0"]
    assert created["library"] == {
        "type": "user",
        "id": 7,
        "name": "Alice A.",
        "links": {"alternate": {"href": "https://www.zotero.org/alice", "type": "text/html"}},
    }
    # Renaming the user changes what the public API shows.
    client.put(f"{base}/users/7", json={"username": "alice2", "displayName": "Al"})
    assert client.get(f"{control_emu.base_url}/keys/{key}").json()["username"] == "alice2"


def test_key_access_changes_take_effect(control_emu: ZoteroEmulator, client: httpx2.Client) -> None:
    base = control_emu.base_url + "/_control"
    client.put(f"{base}/users/3", json={"username": "bob", "displayName": "Bob"})
    key = client.post(f"{base}/users/3/keys", json={"access": FULL}).json()["key"]
    headers = {"Zotero-API-Key": key}
    url = f"{control_emu.base_url}/users/3/collections"
    assert client.post(url, json=[{"name": "c"}], headers=headers).status_code == 200
    read_only = {"user": {"library": True, "write": False}}
    assert client.put(f"{base}/keys/{key}", json={"access": read_only}).status_code == 204
    resp = client.post(url, json=[{"name": "c"}], headers=headers)
    assert (resp.status_code, resp.text) == (403, "Write access denied")
    assert client.put(f"{base}/keys/{key}", json={"access": {}}).status_code == 204
    assert "access" not in client.get(f"{control_emu.base_url}/keys/{key}").json()
    assert client.get(url, headers=headers).status_code == 403


def test_unknown_user_or_key_is_404(control_emu: ZoteroEmulator, client: httpx2.Client) -> None:
    base = control_emu.base_url + "/_control"
    assert client.post(f"{base}/users/99/keys", json={"access": FULL}).status_code == 404
    assert client.post(f"{base}/users/99/clear").status_code == 404
    assert client.put(f"{base}/keys/NOPE", json={"access": FULL}).status_code == 404


def test_clear_empties_everything_and_raises_the_version(
    control_emu: ZoteroEmulator, client: httpx2.Client
) -> None:
    api = control_emu.base_url
    headers = {"Zotero-API-Key": "TESTKEY"}
    key = control_emu.create_item({"itemType": "book"})
    control_emu.create_item({"itemType": "book", "deleted": 1})
    control_emu.create_collection({"name": "c"})
    control_emu.delete_item(key)
    before = control_emu.library_version()
    assert client.post(f"{api}/_control/users/1/clear").status_code == 204
    after = control_emu.library_version()
    assert after > before
    assert client.get(f"{api}/users/1/items?includeTrashed=1", headers=headers).json() == []
    assert client.get(f"{api}/users/1/collections", headers=headers).json() == []
    deleted = client.get(f"{api}/users/1/deleted?since=0", headers=headers).json()
    assert deleted == {"collections": [], "items": [], "searches": [], "tags": [], "settings": []}


def test_reset_drops_users_and_keys(control_emu: ZoteroEmulator, client: httpx2.Client) -> None:
    api = control_emu.base_url
    assert client.post(f"{api}/_control/reset").status_code == 204
    assert client.get(f"{api}/keys/TESTKEY").status_code == 404
    assert (
        client.put(
            f"{api}/_control/users/1", json={"username": "u", "displayName": "U"}
        ).status_code
        == 204
    )
    key = client.post(f"{api}/_control/users/1/keys", json={"access": FULL}).json()["key"]
    resp = client.get(f"{api}/users/1/items", headers={"Zotero-API-Key": key})
    assert resp.status_code == 200 and resp.headers["Last-Modified-Version"] == "0"


def test_control_calls_do_not_bump_versions(
    control_emu: ZoteroEmulator, client: httpx2.Client
) -> None:
    base = control_emu.base_url + "/_control"
    client.put(f"{base}/users/1", json={"username": "testuser", "displayName": "T"})
    client.post(f"{base}/users/1/keys", json={"access": FULL})
    assert control_emu.library_version() == 0


def test_sqlite_library_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite"
    with ZoteroEmulator(db_path=db) as emu, httpx2.Client(trust_env=False) as c:
        headers = {"Zotero-API-Key": "TESTKEY", "Zotero-Write-Token": "token-123"}
        report = c.post(
            emu.base_url + "/users/1/items",
            json=[{"itemType": "book", "title": "Kept 🐶"}, {"itemType": "book", "title": "Gone"}],
            headers=headers,
        ).json()
        kept, gone = report["success"]["0"], report["success"]["1"]
        coll = emu.create_collection({"name": "Shelf"})
        emu.delete_item(gone)
        version = emu.library_version()
        items_before = emu.get_items()
    with ZoteroEmulator(db_path=db) as emu, httpx2.Client(trust_env=False) as c:
        assert emu.library_version() == version
        assert emu.get_items() == items_before
        assert emu.get_collections()[coll]["name"] == "Shelf"
        deleted = c.get(
            emu.base_url + "/users/1/deleted?since=0", headers={"Zotero-API-Key": "TESTKEY"}
        ).json()
        assert deleted["items"] == [gone]
        reuse = c.post(
            emu.base_url + "/users/1/items",
            json=[{"itemType": "book"}],
            headers={"Zotero-API-Key": "TESTKEY", "Zotero-Write-Token": "token-123"},
        )
        assert (reuse.status_code, reuse.text) == (412, "Write token already used")
        assert emu.get_items()[kept]["title"] == "Kept 🐶"
        assert emu.edit_item(kept, {"title": "Edited"}) == version + 1
    again = ZoteroEmulator(db_path=db)
    with again:
        assert again.get_items()[kept]["title"] == "Edited"
    with again:  # stop() then start() on the same object reopens the database
        assert again.edit_item(kept, {"title": "Twice"}) == version + 2
    assert again.get_items()[kept]["title"] == "Twice"


def test_write_tokens(raw_client_emu: tuple[ZoteroEmulator, httpx2.Client]) -> None:
    emu, c = raw_client_emu
    url = emu.base_url + "/users/1/items"

    def post(token: str, **headers: str) -> httpx2.Response:
        return c.post(
            url,
            json=[{"itemType": "book"}],
            headers={"Zotero-API-Key": "TESTKEY", "Zotero-Write-Token": token, **headers},
        )

    short = post("abcd")
    assert (short.status_code, short.text) == (400, "Write token must be 5-32 characters in length")
    assert post("x" * 33).status_code == 400
    fresh = post("retry-me-1", **{"If-Unmodified-Since-Version": "99"})
    assert fresh.status_code == 200  # 99 >= library version: passes
    stale = post("retry-me-2", **{"If-Unmodified-Since-Version": "0"})
    assert stale.status_code == 412
    assert post("retry-me-2").status_code == 200  # a failed request does not spend its token
    again = post("retry-me-2")
    assert (again.status_code, again.text) == (412, "Write token already used")
    assert len(emu.get_items()) == 2


@pytest.fixture
def raw_client_emu(
    zotero_emulator: ZoteroEmulator,
) -> Iterator[tuple[ZoteroEmulator, httpx2.Client]]:
    with httpx2.Client(trust_env=False) as c:
        yield zotero_emulator, c


def test_standalone_server_prints_its_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pllm_sync.testing.zotero_server",
            "--port",
            "0",
            "--user-id",
            "5",
            "--api-key",
            "STANDALONEKEY",
            "--read-only-key",
            "READKEY2",
            "--db",
            str(tmp_path / "lib.sqlite"),
            "--control",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:")
        with httpx2.Client(trust_env=False) as c:
            info = c.get(f"{line}/keys/STANDALONEKEY").json()
            assert info["userID"] == 5
            resp = c.post(
                f"{line}/users/5/items",
                content=json.dumps([{"itemType": "book"}]),
                headers={"Zotero-API-Key": "STANDALONEKEY"},
            )
            assert resp.status_code == 200
            assert c.post(f"{line}/_control/users/5/clear").status_code == 204
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_standalone_server_streams_writes_with_stream_flag() -> None:
    """``--stream`` serves the streaming API beside the Web API, so a client outside the test
    suite (curl, a plugin) can watch the library change."""
    from websockets.sync.client import connect

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pllm_sync.testing.zotero_server", "--api-key", "K", "--stream"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        ws_url = proc.stdout.readline().strip()
        assert ws_url.startswith("ws://127.0.0.1:") and ws_url.endswith("/stream")
        with connect(ws_url) as ws:
            assert json.loads(ws.recv(timeout=5))["event"] == "connected"
            ws.send(
                json.dumps({"action": "createSubscriptions", "subscriptions": [{"apiKey": "K"}]})
            )
            assert json.loads(ws.recv(timeout=5))["event"] == "subscriptionsCreated"
            with httpx2.Client(trust_env=False) as c:
                resp = c.post(
                    f"{base}/users/1/items",
                    content=json.dumps([{"itemType": "book"}]),
                    headers={"Zotero-API-Key": "K"},
                )
                assert resp.status_code == 200
            msg = json.loads(ws.recv(timeout=5))
            assert msg["event"] == "topicUpdated" and msg["topic"] == "/users/1"
            assert msg["version"] == int(resp.headers["Last-Modified-Version"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
