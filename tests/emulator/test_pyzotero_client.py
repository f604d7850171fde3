"""The real pyzotero 1.16 client against the emulator: the calls pllm-sync's Zotero store makes
(§2.2 of zotero-api.md) must work unchanged, with the data and versions a user would see."""

from __future__ import annotations

from typing import Any

import pytest
from pyzotero import zotero_errors as ze

from pllm_sync.testing.zotero_server import ZoteroEmulator


def _article(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "itemType": "journalArticle",
        "title": title,
        "creators": [{"creatorType": "author", "firstName": "Ada", "lastName": "Lovelace"}],
        **extra,
    }


def test_key_info_names_the_user_and_full_access(zotero_client: Any) -> None:
    info = zotero_client.key_info()
    assert info == {
        "key": "TESTKEY",
        "userID": 1,
        "username": "testuser",
        "displayName": "testuser",
        "access": {
            "user": {"library": True, "files": True, "notes": True, "write": True},
            "groups": {"all": {"library": True, "write": True}},
        },
    }


def test_item_template_comes_from_the_schema(zotero_client: Any) -> None:
    tpl = zotero_client.item_template("preprint")
    assert tpl["itemType"] == "preprint"
    assert list(tpl)[:3] == ["itemType", "title", "creators"]
    assert tpl["creators"] == [{"creatorType": "author", "firstName": "", "lastName": ""}]
    assert "archiveID" in tpl and "repository" in tpl
    assert list(tpl)[-3:] == ["tags", "collections", "relations"]


def test_create_items_returns_a_full_write_report(zotero_client: Any) -> None:
    report = zotero_client.create_items([_article("One"), _article("Two")])
    assert set(report) == {"successful", "success", "unchanged", "failed"}
    assert report["failed"] == {} and report["unchanged"] == {}
    keys = report["success"]
    assert set(keys) == {"0", "1"}
    first = report["successful"]["0"]
    assert first["key"] == keys["0"] and first["data"]["title"] == "One"
    # Per-object version bumps: each object of the batch gets its own version.
    assert first["version"] == 1 and report["successful"]["1"]["version"] == 2


def test_update_item_patches_and_bumps_only_that_item(zotero_client: Any) -> None:
    report = zotero_client.create_items([_article("Old"), _article("Other")])
    key, other = report["success"]["0"], report["success"]["1"]
    item = zotero_client.item(key)
    item["data"]["title"] = "New"
    assert zotero_client.update_item(item["data"]) is True
    fresh = zotero_client.item(key)
    assert fresh["data"]["title"] == "New"
    assert fresh["version"] == 3
    assert zotero_client.item(other)["version"] == 2
    assert zotero_client.item_versions(since=2) == {key: 3}


def test_stale_update_raises_precondition_failed(
    zotero_client: Any, zotero_emulator: ZoteroEmulator
) -> None:
    key = zotero_client.create_items([_article("A")])["success"]["0"]
    item = zotero_client.item(key)
    zotero_emulator.edit_item(key, {"title": "Edited elsewhere"})
    item["data"]["title"] = "Mine"
    with pytest.raises(ze.PreConditionFailedError, match="Item has been modified since"):
        zotero_client.update_item(item["data"])
    assert zotero_client.item(key)["data"]["title"] == "Edited elsewhere"


def test_everything_follows_link_next_across_pages(zotero_client: Any) -> None:
    for start in range(0, 120, 50):
        batch = [_article(f"Paper {n}") for n in range(start, min(start + 50, 120))]
        assert not zotero_client.create_items(batch)["failed"]
    items = zotero_client.everything(zotero_client.items())
    assert len(items) == 120
    assert len({i["key"] for i in items}) == 120
    assert zotero_client.num_items() == 120


def test_collections_roundtrip_and_subcollections(zotero_client: Any) -> None:
    top = zotero_client.create_collections([{"name": "Personalization"}])["success"]["0"]
    sub = zotero_client.create_collections([{"name": "Memory", "parentCollection": top}])
    sub_key = sub["success"]["0"]
    assert sub["successful"]["0"]["links"]["up"]["href"].endswith(f"/collections/{top}")
    names = {c["data"]["name"] for c in zotero_client.collections()}
    assert names == {"Personalization", "Memory"}
    assert [c["key"] for c in zotero_client.collections_top()] == [top]
    assert [c["key"] for c in zotero_client.collections_sub(top)] == [sub_key]
    assert len(zotero_client.all_collections()) == 2
    assert zotero_client.collection(top)["meta"] == {"numCollections": 1, "numItems": 0}
    versions = zotero_client.collection_versions(since=0)
    assert set(versions) == {top, sub_key}


def test_collection_membership_and_collection_items(zotero_client: Any) -> None:
    coll = zotero_client.create_collections([{"name": "Reading"}])["success"]["0"]
    key = zotero_client.create_items([_article("In it")])["success"]["0"]
    item = zotero_client.item(key)
    assert zotero_client.addto_collection(coll, item) is True
    assert [i["key"] for i in zotero_client.collection_items(coll)] == [key]
    assert zotero_client.collection(coll)["meta"]["numItems"] == 1
    item = zotero_client.item(key)
    assert item["data"]["collections"] == [coll]
    assert zotero_client.deletefrom_collection(coll, item) is True
    assert zotero_client.collection_items(coll) == []


def test_child_note_with_parentid(zotero_client: Any) -> None:
    parent = zotero_client.create_items([_article("Parent")])["success"]["0"]
    note = {"itemType": "note", "note": "<p>My thoughts</p>", "tags": [], "relations": {}}
    report = zotero_client.create_items([note], parentid=parent)
    assert report["failed"] == {}
    child = report["successful"]["0"]
    assert child["data"]["parentItem"] == parent
    assert "collections" not in child["data"]
    children = zotero_client.children(parent)
    assert [c["key"] for c in children] == [child["key"]]
    assert zotero_client.item(parent)["meta"]["numChildren"] == 1
    assert [i["key"] for i in zotero_client.top()] == [parent]


def test_delete_item_with_version_and_deleted_log(zotero_client: Any) -> None:
    keys = zotero_client.create_items([_article("A"), _article("B")])["success"]
    version = zotero_client.last_modified_version()
    items = [zotero_client.item(k) for k in keys.values()]
    assert zotero_client.delete_item(items, last_modified=version) is True
    deleted = zotero_client.deleted(since=version)
    assert sorted(deleted["items"]) == sorted(keys.values())
    assert zotero_client.items() == []


def test_trash_shows_in_trash_and_with_include_trashed(zotero_client: Any) -> None:
    key = zotero_client.create_items([_article("Bin me")])["success"]["0"]
    item = zotero_client.item(key)
    item["data"]["deleted"] = 1
    zotero_client.update_item(item["data"])
    assert zotero_client.items() == []
    assert [i["key"] for i in zotero_client.trash()] == [key]
    assert [i["key"] for i in zotero_client.items(includeTrashed=1)] == [key]
    assert zotero_client.item(key)["data"]["deleted"] == 1
    assert zotero_client.deleted(since=0)["items"] == []


def test_update_items_batches_through_post(zotero_client: Any) -> None:
    keys = list(zotero_client.create_items([_article("A"), _article("B")])["success"].values())
    datas = [zotero_client.item(k)["data"] for k in keys]
    for d in datas:
        d["extra"] = "pllm-sync-id: x"
    assert zotero_client.update_items(datas) is True
    assert all(zotero_client.item(k)["data"]["extra"] == "pllm-sync-id: x" for k in keys)


def test_read_only_key_cannot_write(zotero_emulator: ZoteroEmulator) -> None:
    import httpx2
    from pyzotero import zotero

    client = httpx2.Client(trust_env=False)
    zot = zotero.Zotero("1", "user", "READONLYKEY", client=client)
    zot.endpoint = zotero_emulator.base_url
    try:
        assert zot.items() == []
        with pytest.raises(ze.UserNotAuthorisedError, match="Write access denied"):
            zot.create_collections([{"name": "Nope"}])
    finally:
        client.close()


def test_num_children_counts_notes_and_attachments(zotero_client: Any) -> None:
    parent = zotero_client.create_items([_article("P")])["success"]["0"]
    link = zotero_client.item_template("attachment", "linked_url")
    link.update({"title": "Paper page", "url": "https://arxiv.org/abs/2304.11406"})
    note = zotero_client.item_template("note")
    report = zotero_client.create_items([link, note], parentid=parent)
    assert report["failed"] == {}
    attachment = report["successful"]["0"]
    assert attachment["meta"] == {}
    assert list(attachment["data"]) == [
        "key",
        "version",
        "parentItem",
        "itemType",
        "linkMode",
        "title",
        "accessDate",
        "url",
        "note",
        "contentType",
        "charset",
        "tags",
        "relations",
        "dateAdded",
        "dateModified",
    ]
    assert zotero_client.item(parent)["meta"]["numChildren"] == 2


def test_tags_through_pyzotero(zotero_client: Any) -> None:
    coll = zotero_client.create_collections([{"name": "C"}])["success"]["0"]
    key = zotero_client.create_items([_article("T", tags=[{"tag": "a"}], collections=[coll])])[
        "success"
    ]["0"]
    zotero_client.create_items([_article("U", tags=[{"tag": "z"}])])
    assert zotero_client.add_tags(zotero_client.item(key), "b") is True
    assert sorted(zotero_client.item_tags(key)) == ["a", "b"]
    assert sorted(zotero_client.tags()) == ["a", "b", "z"]
    assert sorted(zotero_client.collection_tags(coll)) == ["a", "b"]
