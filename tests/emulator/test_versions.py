"""Versions and preconditions, pinned to the dataserver's messages (ApiController,
checkJSONObjectVersion) and its API test suite (tests/remote/tests/3/version.test.js)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Raw

KEY_BASED_428 = (
    "Either If-Unmodified-Since-Version or object version property must be provided for "
    "key-based writes"
)


def test_per_object_versions_within_a_batch(raw: Raw) -> None:
    resp = raw.post("/users/1/items", [{"itemType": "book"}] * 3)
    report = resp.json()
    versions = [report["successful"][str(i)]["version"] for i in range(3)]
    assert versions == [1, 2, 3]
    assert raw.lmv(resp) == 3


def test_legacy_one_version_per_request() -> None:
    with ZoteroEmulator(per_object_versions=False) as emu, httpx2.Client(trust_env=False) as c:
        resp = c.post(
            emu.base_url + "/users/1/items",
            json=[{"itemType": "book"}] * 3,
            headers={"Zotero-API-Key": "TESTKEY"},
        )
        report = resp.json()
        assert {report["successful"][str(i)]["version"] for i in range(3)} == {1}
        assert resp.headers["Last-Modified-Version"] == "1"


def test_library_precondition_on_multi_post(raw: Raw) -> None:
    raw.new_item()
    resp = raw.post(
        "/users/1/items", [{"itemType": "book"}], headers={"If-Unmodified-Since-Version": "0"}
    )
    assert resp.status_code == 412
    assert resp.text == "Library has been modified since specified version (expected 0, found 1)"
    assert raw.lmv(resp) == 1
    assert raw.lmv(raw.get("/users/1/items")) == 1
    ok = raw.post(
        "/users/1/items", [{"itemType": "book"}], headers={"If-Unmodified-Since-Version": "1"}
    )
    assert ok.status_code == 200 and raw.lmv(ok) == 2


def test_invalid_isuv_header(raw: Raw) -> None:
    resp = raw.post(
        "/users/1/items", [{"itemType": "book"}], headers={"If-Unmodified-Since-Version": "x"}
    )
    assert (resp.status_code, resp.text) == (400, "Invalid If-Unmodified-Since-Version value")


def test_per_object_version_property(raw: Raw) -> None:
    data = raw.new_item(title="A")
    key = data["key"]
    raw.post("/users/1/items", [{"key": key, "version": 1, "title": "B"}])  # now version 2
    stale = raw.post("/users/1/items", [{"key": key, "version": 1, "title": "C"}]).json()
    assert stale["failed"]["0"] == {
        "key": key,
        "code": 412,
        "message": "Item has been modified since specified version (expected 1, found 2)",
    }
    missing = raw.post("/users/1/items", [{"key": key, "title": "C"}]).json()
    assert missing["failed"]["0"]["code"] == 428
    assert missing["failed"]["0"]["message"] == KEY_BASED_428
    zero = raw.post("/users/1/items", [{"key": key, "version": 0, "title": "C"}]).json()
    assert zero["failed"]["0"]["code"] == 412


def test_header_makes_object_versions_optional(raw: Raw) -> None:
    data = raw.new_item(title="A")
    resp = raw.post(
        "/users/1/items",
        [{"key": data["key"], "title": "B"}],
        headers={"If-Unmodified-Since-Version": "1"},
    )
    assert resp.json()["success"] == {"0": data["key"]}


def test_client_made_keys(raw: Raw) -> None:
    created = raw.post("/users/1/items", [{"key": "ABCD2345", "version": 0, "itemType": "book"}])
    assert created.json()["success"] == {"0": "ABCD2345"}
    report = raw.post(
        "/users/1/items",
        [
            {"key": "BCDE2345", "version": 5, "itemType": "book"},
            {"key": "CDEF2345", "itemType": "book"},
            {"key": "bad-key", "version": 0, "itemType": "book"},
            {"version": 0, "itemType": "book"},
        ],
    ).json()
    assert report["failed"]["0"]["code"] == 404
    assert report["failed"]["0"]["message"] == (
        "Item doesn't exist (expected version 5; use 0 instead)"
    )
    assert report["failed"]["1"]["code"] == 428
    assert report["failed"]["2"] == {
        "key": "bad-key",
        "code": 400,
        "message": "'bad-key' is not a valid item key",
    }
    assert report["failed"]["3"]["message"] == "'version' is valid only with 'key' property"


def test_single_write_preconditions(raw: Raw) -> None:
    data = raw.new_item(title="A")
    url = f"/users/1/items/{data['key']}"
    resp = raw.patch(url, {"title": "B"})
    assert (resp.status_code, resp.text) == (428, KEY_BASED_428)
    stale = raw.patch(url, {"title": "B"}, headers={"If-Unmodified-Since-Version": "0"})
    assert stale.status_code == 412
    assert stale.text == "Item has been modified since specified version (expected 0, found 1)"
    assert raw.lmv(stale) == 1
    both = raw.patch(
        url, {"title": "B", "version": 1}, headers={"If-Unmodified-Since-Version": "0"}
    )
    assert both.status_code == 400
    assert both.text == (
        "If-Unmodified-Since-Version value does not match JSON 'version' property (0 != 1)"
    )
    assert "Last-Modified-Version" not in both.headers
    ok = raw.patch(url, {"title": "B"}, headers={"If-Unmodified-Since-Version": "1"})
    assert ok.status_code == 204 and raw.lmv(ok) == 2
    ok2 = raw.patch(url, {"title": "C", "version": 2})
    assert ok2.status_code == 204 and raw.lmv(ok2) == 3


def test_412_for_stale_put_carries_object_version(raw: Raw) -> None:
    full = raw.get(f"/users/1/items/{raw.new_item()['key']}").json()
    raw.new_item()  # library moves on; the object does not
    full["data"]["version"] -= 1
    resp = raw.put(
        f"/users/1/items/{full['key']}",
        full,
        headers={"If-Unmodified-Since-Version": str(full["version"] - 1)},
    )
    assert resp.status_code == 412
    assert raw.lmv(resp) == full["version"]


def test_writes_to_missing_objects(raw: Raw) -> None:
    body = {"itemType": "book", "title": "T"}
    resp = raw.patch("/users/1/items/TPMBJWNV", body)
    assert resp.status_code == 404
    assert resp.text == (
        "Item not found (to create, use If-Unmodified-Since-Version: 0, JSON 'version' 0, "
        "or PUT method)"
    )
    resp = raw.patch("/users/1/items/TPMBJWVP", {**body, "version": 123})
    assert (resp.status_code, resp.text) == (412, "Item not found (expected version 123)")
    resp = raw.patch("/users/1/items/TPMBJWVH", body, headers={"If-Unmodified-Since-Version": "9"})
    assert (
        resp.status_code == 412
    )  # DS test "should reject patch missing object with version header"
    assert raw.patch("/users/1/items/TPMBWVZP", {**body, "version": 0}).status_code == 204
    assert raw.put("/users/1/items/TPMBWVZQ", body).status_code == 204
    assert raw.get("/users/1/items/TPMBWVZQ").json()["data"]["title"] == "T"
    resp = raw.patch("/users/1/collections/TPMBJWNV", {"name": "x"})
    assert resp.text.startswith("Collection not found (to create")


def test_body_key_must_match_url(raw: Raw) -> None:
    data = raw.new_item()
    resp = raw.patch(
        f"/users/1/items/{data['key']}", {"key": "ABCD2345", "version": 1, "title": "x"}
    )
    assert resp.status_code == 409
    assert resp.text == "'key' property in JSON does not match item key of request"


def test_delete_requires_header(raw: Raw) -> None:
    data = raw.new_item()
    url = f"/users/1/items/{data['key']}"
    resp = raw.delete(url)
    assert resp.status_code == 428
    assert resp.text == "If-Unmodified-Since-Version must be provided for delete requests"
    stale = raw.delete(url, headers={"If-Unmodified-Since-Version": "0"})
    assert stale.status_code == 412 and raw.lmv(stale) == 1
    ok = raw.delete(url, headers={"If-Unmodified-Since-Version": "1"})
    assert ok.status_code == 204 and raw.lmv(ok) == 2


def test_if_modified_since_version_only_on_multi_object_reads(raw: Raw) -> None:
    data = raw.new_item()
    headers = {"If-Modified-Since-Version": "1"}
    for path in (
        "/users/1/items",
        "/users/1/collections",
        "/users/1/searches",
        "/users/1/items/top",
    ):
        resp = raw.get(path, headers=headers)
        assert resp.status_code == 304, path
        assert resp.content == b""
    assert raw.get(f"/users/1/items/{data['key']}", headers=headers).status_code == 200
    assert raw.get("/users/1/items", headers={"If-Modified-Since-Version": "0"}).status_code == 200


def test_since_newer_and_versions_format(raw: Raw) -> None:
    a = raw.new_item(title="A")
    note = raw.create("items", [{"itemType": "note", "note": "n", "parentItem": a["key"]}])[
        "successful"
    ]["0"]["data"]
    b = raw.new_item(title="B")
    c = raw.new_item(title="C")
    for param in ("since", "newer"):
        resp = raw.get("/users/1/items", params={"format": "versions", param: str(a["version"])})
        assert resp.headers["Content-Type"] == "application/json"
        assert list(resp.json().items()) == [
            (c["key"], c["version"]),
            (b["key"], b["version"]),
            (note["key"], note["version"]),
        ]
    top = raw.get("/users/1/items/top", params={"format": "versions", "since": a["version"]})
    assert list(top.json()) == [c["key"], b["key"]]
    empty = raw.get("/users/1/items", params={"format": "versions", "since": "99"})
    assert empty.content == b"{}"
    bad = raw.get("/users/1/items", params={"since": "yesterday"})
    assert (bad.status_code, bad.text) == (400, "Invalid value for 'since' parameter")


def test_keys_format_is_newline_separated(raw: Raw) -> None:
    a, b = raw.new_item(), raw.new_item()
    resp = raw.get("/users/1/items", params={"format": "keys"})
    assert resp.headers["Content-Type"] == "text/plain"
    assert resp.text == f"{b['key']}\n{a['key']}\n"


def test_no_op_writes_do_not_bump(raw: Raw) -> None:
    data = raw.new_item(title="Same")
    url = f"/users/1/items/{data['key']}"
    full = raw.get(url).json()
    resp = raw.put(url, full)
    assert resp.status_code == 204
    assert raw.lmv(resp) == 1
    assert raw.get(url).json()["version"] == 1
    patch = raw.patch(url, {"title": "Same", "version": 1})
    assert patch.status_code == 204 and raw.lmv(patch) == 1
    assert raw.get(url).json()["data"]["dateModified"] == data["dateModified"]


def test_unchanged_objects_in_a_batch(raw: Raw) -> None:
    data = raw.new_item(title="Same")
    other = raw.new_item(title="Other")
    report = raw.post(
        "/users/1/items",
        [
            {"key": data["key"], "version": data["version"], "title": "Same"},
            {"key": other["key"], "version": other["version"], "title": "Changed"},
        ],
    ).json()
    assert report["unchanged"] == {"0": data["key"]}
    assert report["success"] == {"1": other["key"]}
    assert raw.get(f"/users/1/items/{data['key']}").json()["version"] == data["version"]
    # Per-object mode bumps the library once per non-failed object, unchanged ones included.
    assert report["successful"]["1"]["version"] == 4


def test_failed_object_does_not_consume_a_version(raw: Raw) -> None:
    report = raw.post(
        "/users/1/items", [{"itemType": "book"}, {"itemType": "nope"}, {"itemType": "book"}]
    ).json()
    assert report["failed"]["1"]["message"] == "'nope' is not a valid itemType"
    assert report["successful"]["0"]["version"] == 1
    assert report["successful"]["2"]["version"] == 2


@pytest.mark.parametrize("kind", ["items", "collections", "searches"])
def test_outdated_version_messages_name_the_object_type(raw: Raw, kind: str) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "items": {"itemType": "book"},
        "collections": {"name": "N"},
        "searches": {
            "name": "S",
            "conditions": [{"condition": "title", "operator": "contains", "value": "x"}],
        },
    }
    created = raw.create(kind, [bodies[kind]])["successful"]["0"]
    key, version = created["key"], created["version"]
    change = {"items": {"title": "x"}, "collections": {"name": "M"}, "searches": {"name": "T"}}[
        kind
    ]
    raw.post(f"/users/1/{kind}", [{"key": key, "version": version, **change}])
    report = raw.post(f"/users/1/{kind}", [{"key": key, "version": version, **change}]).json()
    label = {"items": "Item", "collections": "Collection", "searches": "Search"}[kind]
    assert report["failed"]["0"]["message"] == (
        f"{label} has been modified since specified version (expected {version}, found {version + 1})"
    )
