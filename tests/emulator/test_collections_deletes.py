"""Collections (names, parents, cycles, trash), permanent deletes with their cascades and the
delete log, and saved searches."""

from __future__ import annotations

from .conftest import Raw


def _collection_failure(raw: Raw, obj: dict[str, object]) -> dict[str, object]:
    report = raw.post("/users/1/collections", [obj]).json()
    failure: dict[str, object] = report["failed"]["0"]
    return failure


def test_collection_validation(raw: Raw) -> None:
    assert _collection_failure(raw, {"name": ""}) == {
        "code": 400,
        "message": "Collection name cannot be empty",
    }
    assert _collection_failure(raw, {"parentCollection": False})["message"] == (
        "'name' property not provided"
    )
    assert _collection_failure(raw, {"name": "x", "parentCollection": "ABCD2345"}) == {
        "code": 409,
        "message": "Parent collection ABCD2345 not found",
        "data": {"collection": "ABCD2345"},
    }
    assert _collection_failure(raw, {"name": "x", "colour": "red"})["message"] == (
        "Invalid property 'colour'"
    )
    too_long = _collection_failure(raw, {"name": "n" * 256})
    assert too_long["code"] == 413
    assert too_long["data"] == {"field": "name", "value": "n" * 50}
    assert raw.post("/users/1/collections", [{"name": "n" * 255}]).json()["failed"] == {}


def test_batch_limits(raw: Raw) -> None:
    resp = raw.post("/users/1/items", [{"itemType": "book"}] * 51)
    assert (resp.status_code, resp.text) == (413, "Cannot add more than 50 items at a time")
    resp = raw.post("/users/1/collections", [{"name": "c"}] * 51)
    assert (resp.status_code, resp.text) == (413, "Cannot add more than 50 collections at a time")
    assert raw.post("/users/1/items", [{"itemType": "book"}] * 50).json()["failed"] == {}
    resp = raw.post("/users/1/items", {"itemType": "book"})
    assert (resp.status_code, resp.text) == (400, "Uploaded data must be a JSON array")
    resp = raw.request("POST", "/users/1/items", content=b"")
    assert (resp.status_code, resp.text) == (400, "POST data not provided")
    resp = raw.request("POST", "/users/1/items", content=b"[{")
    assert resp.status_code == 400
    report = raw.post("/users/1/items", ["not an object"]).json()
    assert report["failed"]["0"]["message"] == (
        "Invalid value for index 0 in uploaded data; expected JSON item object"
    )


def test_parent_may_be_created_earlier_in_the_batch(raw: Raw) -> None:
    report = raw.post(
        "/users/1/collections",
        [
            {"key": "TPCLL2KY", "version": 0, "name": "Top"},
            {"name": "Child", "parentCollection": "TPCLL2KY"},
        ],
    ).json()
    assert report["failed"] == {}
    child = report["successful"]["1"]
    assert child["data"]["parentCollection"] == "TPCLL2KY"
    assert child["links"]["up"]["href"].endswith("/users/1/collections/TPCLL2KY")


def test_moving_a_collection_under_its_descendant_moves_the_descendant_to_root(raw: Raw) -> None:
    a = raw.new_collection("A")
    b = raw.new_collection("B", parentCollection=a["key"])
    resp = raw.patch(
        f"/users/1/collections/{a['key']}",
        {"parentCollection": b["key"], "version": a["version"]},
    )
    assert resp.status_code == 204
    a_now = raw.get(f"/users/1/collections/{a['key']}").json()["data"]
    b_now = raw.get(f"/users/1/collections/{b['key']}").json()["data"]
    assert a_now["parentCollection"] == b["key"]
    assert b_now["parentCollection"] is False
    assert b_now["version"] > b["version"]


def test_collection_put_without_parent_moves_to_top(raw: Raw) -> None:
    a = raw.new_collection("A")
    b = raw.new_collection("B", parentCollection=a["key"])
    resp = raw.put(f"/users/1/collections/{b['key']}", {"name": "B2", "version": b["version"]})
    assert resp.status_code == 204
    assert raw.get(f"/users/1/collections/{b['key']}").json()["data"]["parentCollection"] is False


def test_rename_with_patch_keeps_the_parent(raw: Raw) -> None:
    a = raw.new_collection("A")
    b = raw.new_collection("B", parentCollection=a["key"])
    raw.patch(f"/users/1/collections/{b['key']}", {"name": "Renamed", "version": b["version"]})
    data = raw.get(f"/users/1/collections/{b['key']}").json()["data"]
    assert (data["name"], data["parentCollection"]) == ("Renamed", a["key"])


def test_empty_string_parent_means_top_level(raw: Raw) -> None:
    data = raw.new_collection("A", parentCollection="")
    assert data["parentCollection"] is False


def test_collection_trash_is_true_and_hidden_by_default(raw: Raw) -> None:
    c = raw.new_collection("Bin")
    raw.patch(f"/users/1/collections/{c['key']}", {"deleted": True, "version": c["version"]})
    data = raw.get(f"/users/1/collections/{c['key']}").json()["data"]
    assert data["deleted"] is True
    assert raw.get("/users/1/collections").json() == []
    assert len(raw.get("/users/1/collections", params={"includeTrashed": "1"}).json()) == 1


def test_deleting_a_collection_cascades_and_keeps_items(raw: Raw) -> None:
    top = raw.new_collection("Top")
    sub = raw.new_collection("Sub", parentCollection=top["key"])
    subsub = raw.new_collection("SubSub", parentCollection=sub["key"])
    item = raw.new_item(collections=[top["key"], sub["key"], subsub["key"]])
    before = raw.lmv(raw.get("/users/1/items"))
    resp = raw.delete(
        f"/users/1/collections/{top['key']}",
        headers={"If-Unmodified-Since-Version": str(top["version"])},
    )
    assert resp.status_code == 204
    assert raw.get("/users/1/collections").json() == []
    after = raw.get(f"/users/1/items/{item['key']}").json()
    assert after["data"]["collections"] == []
    assert after["version"] == item["version"]  # membership removed without a bump
    deleted = raw.get("/users/1/deleted", params={"since": before}).json()
    assert deleted["collections"] == [top["key"]]
    assert deleted["items"] == []


def test_deleting_a_parent_item_deletes_its_children(raw: Raw) -> None:
    parent = raw.new_item()
    child = raw.create("items", [{"itemType": "note", "note": "n", "parentItem": parent["key"]}])
    child_key = child["successful"]["0"]["key"]
    version = raw.lmv(raw.get("/users/1/items"))
    resp = raw.delete(
        f"/users/1/items?itemKey={parent['key']}",
        headers={"If-Unmodified-Since-Version": str(version)},
    )
    assert resp.status_code == 204 and raw.lmv(resp) == version + 1
    assert raw.get(f"/users/1/items/{child_key}").status_code == 404
    deleted = raw.get("/users/1/deleted", params={"since": version}).json()
    assert sorted(deleted["items"]) == sorted([parent["key"], child_key])
    assert list(deleted) == ["collections", "items", "searches", "tags", "settings"]


def test_multi_delete_rules(raw: Raw) -> None:
    a, b = raw.new_item(), raw.new_item()
    stale = raw.delete(
        f"/users/1/items?itemKey={a['key']}", headers={"If-Unmodified-Since-Version": "1"}
    )
    assert stale.status_code == 412
    assert stale.text == "Library has been modified since specified version (expected 1, found 2)"
    ignored = raw.delete("/users/1/items?itemKey=nope")  # invalid keys are ignored
    assert ignored.status_code == 204
    assert len(raw.get("/users/1/items").json()) == 2
    ok = raw.delete(f"/users/1/items?itemKey={a['key']},{b['key']},ABCD2345")
    assert ok.status_code == 204
    assert raw.get("/users/1/items").json() == []


def test_deleted_log_since_and_recreation(raw: Raw) -> None:
    item = raw.new_item()
    v = raw.lmv(raw.get("/users/1/items"))
    raw.delete(f"/users/1/items/{item['key']}", headers={"If-Unmodified-Since-Version": str(v)})
    assert raw.get("/users/1/deleted", params={"since": v}).json()["items"] == [item["key"]]
    assert raw.get("/users/1/deleted", params={"since": v + 1}).json()["items"] == []
    assert raw.get("/users/1/deleted", params={"newer": v}).json()["items"] == [item["key"]]
    raw.post("/users/1/items", [{"key": item["key"], "version": 0, "itemType": "book"}])
    assert raw.get("/users/1/deleted", params={"since": 0}).json()["items"] == []


def test_trashing_is_not_deleting(raw: Raw) -> None:
    item = raw.new_item()
    raw.patch(f"/users/1/items/{item['key']}", {"deleted": 1, "version": item["version"]})
    assert raw.get("/users/1/deleted", params={"since": 0}).json()["items"] == []
    versions = raw.get("/users/1/items", params={"format": "versions", "since": 0}).json()
    assert versions == {}
    with_trash = raw.get(
        "/users/1/items", params={"format": "versions", "since": 0, "includeTrashed": 1}
    ).json()
    assert with_trash == {item["key"]: item["version"] + 1}


def test_saved_searches_crud_without_execution(raw: Raw) -> None:
    cond = [{"condition": "title", "operator": "contains", "value": "LLM"}]
    report = raw.post("/users/1/searches", [{"name": "LLMs", "conditions": cond}]).json()
    search = report["successful"]["0"]
    assert list(search["data"]) == ["key", "version", "name", "conditions"]
    key = search["key"]
    assert raw.get("/users/1/searches").json()[0]["key"] == key
    assert raw.get("/users/1/searches", params={"format": "versions"}).json() == {key: 1}
    resp = raw.patch(f"/users/1/searches/{key}", {"name": "Renamed", "version": 1})
    assert resp.status_code == 204
    assert raw.get(f"/users/1/searches/{key}").json()["data"]["name"] == "Renamed"
    failed = raw.post("/users/1/searches", [{"name": "x", "conditions": []}]).json()["failed"]
    assert failed["0"]["message"] == "'conditions' cannot be empty"
    assert raw.get(f"/users/1/searches/{key}/items").status_code == 501
    raw.patch(f"/users/1/searches/{key}", {"deleted": True, "version": 2})
    assert raw.get("/users/1/searches").json() == []
    resp = raw.delete(
        f"/users/1/searches?searchKey={key}", headers={"If-Unmodified-Since-Version": "3"}
    )
    assert resp.status_code == 204
    assert raw.get("/users/1/deleted", params={"since": 3}).json()["searches"] == [key]


def test_tags_listing_and_deletion(raw: Raw) -> None:
    a = raw.new_item(tags=[{"tag": "llm"}, {"tag": "auto", "type": 1}])
    raw.new_item(tags=[{"tag": "llm"}])
    tags = raw.get("/users/1/tags").json()
    assert [(t["tag"], t["meta"]) for t in tags] == [
        ("auto", {"type": 1, "numItems": 1}),
        ("llm", {"type": 0, "numItems": 2}),
    ]
    v = raw.lmv(raw.get("/users/1/items"))
    resp = raw.delete("/users/1/tags", params={"tag": "llm"})
    assert resp.status_code == 204
    assert raw.get(f"/users/1/items/{a['key']}").json()["data"]["tags"] == [
        {"tag": "auto", "type": 1}
    ]
    assert raw.get("/users/1/deleted", params={"since": v}).json()["tags"] == ["llm"]
