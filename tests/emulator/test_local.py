"""The desktop local API mode: /api paths, user 0, no /keys, /deleted or /items/new,
Zotero-Server-ID on every response, per-app authorisation for writes (Zotero 10), read-only
Zotero 7; and pyzotero's own local=True client works against it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from pyzotero import zotero

from pllm_sync.testing.zotero_server import ZoteroEmulator

BOOK = {"itemType": "book", "title": "Local", "creators": [], "tags": [], "collections": []}


@pytest.fixture
def desktop() -> Iterator[ZoteroEmulator]:
    e = ZoteroEmulator(user_id=42, api_key="WEBKEY", local=10).start()
    yield e
    e.stop()


def test_local_rules(desktop: ZoteroEmulator) -> None:
    with httpx2.Client(base_url=desktop.base_url + "/api", trust_env=False) as http:
        root = http.get("/")
        sid = root.headers["Zotero-Server-ID"]
        assert root.status_code == 200 and sid
        assert http.get("/users/0/items").status_code == 200, "reads need no key"
        assert http.get("/users/42/items").status_code == 200
        assert http.get("/users/7/items").status_code == 400
        for gone in ("/keys/current", "/users/0/deleted?since=0", "/items/new?itemType=book"):
            assert http.get(gone).status_code == 404, gone
        assert http.get("/users/0/items").headers["Zotero-Server-ID"] == sid
        no_key = http.post("/users/0/items", json=[BOOK], headers={"Zotero-Server-ID": sid})
        assert (
            no_key.status_code == 401 and "Zotero Local API" in no_key.headers["WWW-Authenticate"]
        )
        key = http.post("/local/authorize", json={"appName": "pllm-sync"}).json()["key"]
        assert (
            http.post("/users/0/items", json=[BOOK], headers={"Zotero-API-Key": key}).status_code
            == 428
        )
        wrong = {"Zotero-API-Key": key, "Zotero-Server-ID": "elsewhere"}
        assert http.post("/users/0/items", json=[BOOK], headers=wrong).status_code == 412
        ok = http.post(
            "/users/0/items", json=[BOOK], headers={"Zotero-API-Key": key, "Zotero-Server-ID": sid}
        )
        assert ok.status_code == 200 and ok.json()["successful"]
        assert desktop.local is not None
        desktop.local.deny = True
        assert http.post("/local/authorize", json={"appName": "x"}).status_code == 403
    with httpx2.Client(base_url=desktop.base_url, trust_env=False) as http:
        assert http.get("/users/42/items", headers={"Zotero-API-Key": "WEBKEY"}).status_code == 404


def test_zotero_7_is_read_only() -> None:
    with (
        ZoteroEmulator(local=7) as emu,
        httpx2.Client(base_url=emu.base_url + "/api", trust_env=False) as http,
    ):
        sid = http.get("/").headers["Zotero-Server-ID"]
        assert http.post("/local/authorize", json={"appName": "a"}).status_code == 404
        made = http.post("/users/0/items", json=[BOOK], headers={"Zotero-Server-ID": sid})
        assert made.status_code == 501


def test_pyzotero_local_client(desktop: ZoteroEmulator) -> None:
    z = zotero.Zotero(0, "user", local=True)
    z.endpoint = desktop.base_url + "/api"
    z.authorize_local("pllm-sync")
    z.create_items([BOOK] * 3)
    assert len(z.everything(z.top(limit=2))) == 3, "pagination links stay under /api"
