"""Group libraries: /groups/<id>/ served with the key's group permissions, apart from the
user's own library; unknown groups 404 like the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator, group_library_id

BOOK = {"itemType": "book", "title": "Shared", "creators": [], "tags": [], "collections": []}


@pytest.fixture
def emu() -> Iterator[ZoteroEmulator]:
    e = ZoteroEmulator(api_key="ADMINKEY", group_ids=(5,))
    e.state.put_key("READER", 2, {"user": {"library": True}, "groups": {"5": {"library": True}}})
    e.state.put_key("OUTSIDER", 3, {"user": {"library": True, "write": True}})
    e.start()
    yield e
    e.stop()


def test_group_permissions(emu: ZoteroEmulator) -> None:
    with httpx2.Client(base_url=emu.base_url, trust_env=False) as http:

        def call(method: str, path: str, key: str, **kw: Any) -> httpx2.Response:
            return http.request(method, path, headers={"Zotero-API-Key": key}, **kw)

        made = call("POST", "/groups/5/items", "ADMINKEY", json=[BOOK])
        assert made.status_code == 200, made.text
        key = made.json()["successful"]["0"]["key"]
        assert made.json()["successful"]["0"]["library"]["type"] == "group"
        assert key in emu.get_items(user_id=group_library_id(5))
        assert not emu.get_items(), "the user's own library is separate"

        listed = call("GET", "/groups/5/items", "READER")
        assert listed.status_code == 200 and len(listed.json()) == 1
        assert listed.json()[0]["links"]["self"]["href"].endswith(f"/groups/5/items/{key}")
        refused = call("POST", "/groups/5/items", "READER", json=[BOOK])
        assert refused.status_code == 403 and "Write access denied" in refused.text
        assert call("GET", "/groups/5/items", "OUTSIDER").status_code == 403
        assert call("GET", "/groups/6/items", "ADMINKEY").status_code == 404
        versions = call("GET", "/groups/5/items?format=versions", "READER")
        assert versions.json() == {key: int(versions.headers["Last-Modified-Version"])}
