"""Helpers for the emulator's own tests: a raw HTTP client (to check exact status codes,
headers and bodies) next to the real pyzotero client from the plugin fixtures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

RESPONSES = Path(__file__).resolve().parents[1] / "data" / "zotero" / "responses"


class Raw:
    """Thin httpx2 wrapper: ``key=None`` sends no credentials, otherwise ``Zotero-API-Key``."""

    def __init__(self, emu: ZoteroEmulator, client: httpx2.Client) -> None:
        self.emu = emu
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = "TESTKEY",
        json_body: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx2.Response:
        sent = {"Zotero-API-Version": "3"}
        if key is not None:
            sent["Zotero-API-Key"] = key
        if json_body is not None:
            content = json.dumps(json_body)
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.client.request(
            method, self.emu.base_url + path, content=content, headers=sent, params=params
        )

    def get(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> httpx2.Response:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx2.Response:
        return self.request("DELETE", path, **kw)

    # conveniences ------------------------------------------------------------
    def create(self, kind: str, objects: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        resp = self.post(f"/users/1/{kind}", objects, **kw)
        assert resp.status_code == 200, resp.text
        report: dict[str, Any] = resp.json()
        assert not report["failed"], report["failed"]
        return report

    def new_item(self, **fields: Any) -> dict[str, Any]:
        """Create one book and return its ``data``."""
        body = {"itemType": "book", **fields}
        report = self.create("items", [body])
        data: dict[str, Any] = report["successful"]["0"]["data"]
        return data

    def new_collection(self, name: str = "C", **props: Any) -> dict[str, Any]:
        report = self.create("collections", [{"name": name, **props}])
        data: dict[str, Any] = report["successful"]["0"]["data"]
        return data

    def lmv(self, resp: httpx2.Response) -> int:
        return int(resp.headers["Last-Modified-Version"])


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx2.Client]:
    client = httpx2.Client(trust_env=False, timeout=30)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def raw(zotero_emulator: ZoteroEmulator, http_client: httpx2.Client) -> Raw:
    return Raw(zotero_emulator, http_client)


def load_response(name: str) -> Any:
    return json.loads((RESPONSES / name).read_text(encoding="utf-8"))
