"""Authentication, key info, and the response format rules (headers, encodings, bodies)."""

from __future__ import annotations

import json

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Raw


def test_three_key_carriers_are_accepted(raw: Raw) -> None:
    assert raw.get("/users/1/items").status_code == 200
    bearer = raw.get("/users/1/items", key=None, headers={"Authorization": "Bearer TESTKEY"})
    assert bearer.status_code == 200
    param = raw.get("/users/1/items", key=None, params={"key": "TESTKEY"})
    assert param.status_code == 200
    both = raw.get("/users/1/items", params={"key": "TESTKEY"})
    assert both.status_code == 200


def test_header_and_key_parameter_that_differ_are_rejected(raw: Raw) -> None:
    resp = raw.get("/users/1/items", params={"key": "READONLYKEY"})
    assert resp.status_code == 400
    assert resp.text == "Zotero-API-Key header and 'key' parameter differ"


def test_malformed_bearer_header(raw: Raw) -> None:
    resp = raw.get("/users/1/items", key=None, headers={"Authorization": "Bearer not-a-key!"})
    assert (resp.status_code, resp.text) == (400, "Invalid Authorization header format")


def test_unknown_key_is_403_invalid_key(raw: Raw) -> None:
    resp = raw.get("/users/1/items", key="NOSUCHKEY")
    assert (resp.status_code, resp.text) == (403, "Invalid key")


def test_write_without_key(raw: Raw) -> None:
    resp = raw.post("/users/1/items", [{"itemType": "book"}], key=None)
    assert (resp.status_code, resp.text) == (403, "An API key is required for write requests.")


def test_read_only_key_reads_but_cannot_write(raw: Raw) -> None:
    assert raw.get("/users/1/items", key="READONLYKEY").status_code == 200
    for resp in (
        raw.post("/users/1/items", [{"itemType": "book"}], key="READONLYKEY"),
        raw.delete("/users/1/items?itemKey=AAAAAAAA", key="READONLYKEY"),
        raw.patch("/users/1/collections/AAAAAAAA", {"name": "x"}, key="READONLYKEY"),
    ):
        assert (resp.status_code, resp.text) == (403, "Write access denied")


def test_other_users_library_is_forbidden(raw: Raw) -> None:
    assert (raw.get("/users/2/items").status_code, raw.get("/users/2/items").text) == (
        403,
        "Forbidden",
    )
    resp = raw.post("/users/2/items", [{"itemType": "book"}])
    assert (resp.status_code, resp.text) == (403, "Write access denied")
    assert raw.get("/users/1/items", key=None).status_code == 403


def test_key_info_without_credentials(raw: Raw) -> None:
    resp = raw.get("/keys/READONLYKEY", key=None)
    assert resp.status_code == 200
    info = resp.json()
    assert list(info) == ["key", "userID", "username", "displayName", "access"]
    assert info["access"]["user"]["write"] is False
    assert not {"name", "dateAdded", "lastUsed", "recentIPs"} & set(info)
    assert raw.get("/keys/NOSUCHKEY", key=None).status_code == 404


def test_keys_current_needs_a_key(raw: Raw) -> None:
    assert raw.get("/keys/current").json()["key"] == "TESTKEY"
    assert raw.get("/keys/current", key=None).status_code == 403


def test_json_headers_are_exact(raw: Raw) -> None:
    resp = raw.get("/users/1/items")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Zotero-API-Version"] == "3"
    assert resp.headers["Zotero-Schema-Version"] == "41"
    assert resp.headers["Last-Modified-Version"] == "0"
    assert resp.headers["Total-Results"] == "0"


def test_bodies_are_raw_utf8_with_key_value_spacing(raw: Raw) -> None:
    data = raw.new_item(title="🐶 Über")
    body = raw.get(f"/users/1/items/{data['key']}").content
    assert '"title": "🐶 Über"'.encode() in body
    assert b"\\u" not in body


def test_write_body_without_content_type_is_read_as_json(raw: Raw) -> None:
    resp = raw.request(
        "POST", "/users/1/items", content=json.dumps([{"itemType": "book", "title": "Plain"}])
    )
    assert resp.status_code == 200
    assert resp.json()["successful"]["0"]["data"]["title"] == "Plain"


def test_full_response_object_is_unwrapped_to_data(raw: Raw) -> None:
    data = raw.new_item(title="Before")
    full = raw.get(f"/users/1/items/{data['key']}").json()
    full["data"]["title"] = "After"
    resp = raw.put(f"/users/1/items/{data['key']}", full)
    assert resp.status_code == 204, resp.text
    assert raw.get(f"/users/1/items/{data['key']}").json()["data"]["title"] == "After"


def test_error_bodies_are_plain_text(raw: Raw) -> None:
    resp = raw.get("/users/1/deleted")
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text == "'since' parameter must be provided"
    assert "Last-Modified-Version" not in resp.headers


def test_schema_version_header_in_requests_is_accepted(raw: Raw) -> None:
    resp = raw.get("/users/1/items", headers={"Zotero-Schema-Version": "12"})
    assert resp.status_code == 200


def test_unknown_routes_and_methods(raw: Raw) -> None:
    assert raw.get("/users/1/nothing").status_code == 404
    assert raw.get("/groups/5/items").status_code == 404
    resp = raw.request("PUT", "/users/1/items/top", json_body={})
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]


def test_user_groups_list_is_empty(raw: Raw) -> None:
    resp = raw.get("/users/1/groups")
    assert resp.status_code == 200 and resp.json() == []


def test_notes_permission_hides_notes(zotero_emulator: ZoteroEmulator, raw: Raw) -> None:
    parent = raw.new_item(title="P")
    raw.create("items", [{"itemType": "note", "note": "secret", "parentItem": parent["key"]}])
    access = {"user": {"library": True, "notes": False, "write": False}}
    zotero_emulator.state.put_key("NONOTESKEY", 1, access)
    items = raw.get("/users/1/items", key="NONOTESKEY").json()
    assert [i["data"]["itemType"] for i in items] == ["book"]
    info = raw.get("/keys/NONOTESKEY", key=None).json()
    assert info["access"] == access
