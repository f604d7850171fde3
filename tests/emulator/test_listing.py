"""Multi-object reads: limit/start, Total-Results, the Link header, key lists, sorting, the
item subsets (top, trash, children, collection items) and filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .conftest import Raw


def _links(resp_header: str) -> dict[str, str]:
    out = {}
    for part in resp_header.split(", <"):
        url, rel = part.split(">; rel=")
        out[rel.strip('"')] = url.lstrip("<")
    return out


def _fill(raw: Raw, n: int) -> list[str]:
    keys: list[str] = []
    for start in range(0, n, 50):
        report = raw.create(
            "items",
            [{"itemType": "book", "title": f"B{i}"} for i in range(start, min(n, start + 50))],
        )
        keys += [report["success"][k] for k in sorted(report["success"], key=int)]
    return keys


def test_default_limit_total_results_and_links(raw: Raw, zotero_emulator: ZoteroEmulator) -> None:
    _fill(raw, 60)
    resp = raw.get("/users/1/items", params={"locale": "en-US", "timeout": "30"})
    assert len(resp.json()) == 25
    assert resp.headers["Total-Results"] == "60"
    base = zotero_emulator.base_url
    assert _links(resp.headers["Link"]) == {
        "next": f"{base}/users/1/items?start=25",
        "last": f"{base}/users/1/items?start=50",
        "alternate": "https://www.zotero.org/users/1/items",
    }
    page2 = raw.get("/users/1/items", params={"start": "25", "limit": "10"})
    assert _links(page2.headers["Link"]) == {
        "first": f"{base}/users/1/items?limit=10",
        "prev": f"{base}/users/1/items?limit=10&start=15",
        "next": f"{base}/users/1/items?limit=10&start=35",
        "last": f"{base}/users/1/items?limit=10&start=50",
        "alternate": "https://www.zotero.org/users/1/items",
    }


def test_limit_is_clamped_and_defaulted(raw: Raw) -> None:
    _fill(raw, 120)
    assert len(raw.get("/users/1/items", params={"limit": "500"}).json()) == 100
    assert len(raw.get("/users/1/items", params={"limit": "0"}).json()) == 25
    assert len(raw.get("/users/1/items", params={"limit": "-3"}).json()) == 25
    assert len(raw.get("/users/1/items", params={"limit": "many"}).json()) == 25
    versions = raw.get("/users/1/items", params={"format": "versions"})
    assert len(versions.json()) == 120
    assert _links(versions.headers["Link"]).keys() == {"alternate"}


def test_pages_cover_everything_once(raw: Raw) -> None:
    keys = _fill(raw, 57)
    seen: list[str] = []
    start = 0
    while True:
        page = raw.get("/users/1/items", params={"limit": "20", "start": str(start)}).json()
        if not page:
            break
        seen += [i["key"] for i in page]
        start += 20
    assert sorted(seen) == sorted(keys) and len(seen) == 57


def test_default_sort_is_date_modified_descending(raw: Raw) -> None:
    keys = _fill(raw, 3)
    assert [i["key"] for i in raw.get("/users/1/items").json()] == keys[::-1]
    oldest = raw.get(f"/users/1/items/{keys[0]}").json()
    raw.patch(f"/users/1/items/{keys[0]}", {"title": "touched", "version": oldest["version"]})
    assert raw.get("/users/1/items").json()[0]["key"] == keys[0]
    by_title = raw.get("/users/1/items", params={"sort": "title"}).json()
    assert [i["data"]["title"] for i in by_title] == ["B1", "B2", "touched"]
    bad = raw.get("/users/1/items", params={"sort": "colour"})
    assert (bad.status_code, bad.text) == (400, "Invalid 'sort' value 'colour'")


def test_item_key_list_forces_limit_and_ignores_bad_keys(raw: Raw) -> None:
    keys = _fill(raw, 30)
    resp = raw.get("/users/1/items", params={"itemKey": ",".join(keys[:28]) + ","})
    assert len(resp.json()) == 28
    ordered = raw.get(
        "/users/1/items",
        params={"itemKey": ",".join(keys[:3]), "sort": "itemKeyList", "direction": "asc"},
    )
    assert [i["key"] for i in ordered.json()] == keys[:3]
    some_bad = raw.get("/users/1/items", params={"itemKey": f"AAAA,{keys[0]},0aB1cDeF"})
    assert [i["key"] for i in some_bad.json()] == [keys[0]]
    query = parse_qs(urlsplit(_links(resp.headers["Link"])["alternate"]).query)
    assert query == {}


def test_subsets_top_trash_children_and_collection_items(raw: Raw) -> None:
    coll = raw.new_collection("C")
    parent = raw.new_item(title="P", collections=[coll["key"]])
    note = raw.create("items", [{"itemType": "note", "note": "n", "parentItem": parent["key"]}])[
        "success"
    ]["0"]
    loose = raw.new_item(title="Loose")
    binned = raw.new_item(title="Bin", collections=[coll["key"]], deleted=1)

    def keys(path: str, **params: str) -> set[str]:
        return {i["key"] for i in raw.get(path, params=params).json()}

    assert keys("/users/1/items") == {parent["key"], note, loose["key"]}
    assert keys("/users/1/items", includeTrashed="1") == {
        parent["key"],
        note,
        loose["key"],
        binned["key"],
    }
    assert keys("/users/1/items/top") == {parent["key"], loose["key"]}
    assert keys("/users/1/items/trash") == {binned["key"]}
    assert keys(f"/users/1/items/{parent['key']}/children") == {note}
    assert keys(f"/users/1/collections/{coll['key']}/items") == {parent["key"], note}
    assert keys(f"/users/1/collections/{coll['key']}/items/top") == {parent["key"]}
    assert keys(f"/users/1/collections/{coll['key']}/items", includeTrashed="1") == {
        parent["key"],
        note,
        binned["key"],
    }
    assert raw.get("/users/1/collections/ABCD2345/items").status_code == 404
    assert raw.get("/users/1/items/ABCD2345/children").status_code == 404


def test_collection_subsets(raw: Raw) -> None:
    top = raw.new_collection("Top")
    sub = raw.new_collection("Sub", parentCollection=top["key"])
    assert [c["key"] for c in raw.get("/users/1/collections/top").json()] == [top["key"]]
    assert [c["key"] for c in raw.get(f"/users/1/collections/{top['key']}/collections").json()] == [
        sub["key"]
    ]
    assert raw.get(f"/users/1/collections/{top['key']}").json()["meta"] == {
        "numCollections": 1,
        "numItems": 0,
    }


def test_filters_item_type_tag_and_quick_search(raw: Raw) -> None:
    a = raw.new_item(title="Memory for LLM agents", tags=[{"tag": "memory"}])
    b = raw.new_item(
        itemType="journalArticle",
        title="Personas",
        tags=[{"tag": "persona"}],
        creators=[{"creatorType": "author", "firstName": "Ada", "lastName": "Lovelace"}],
    )

    def keys(**params: str) -> set[str]:
        return {i["key"] for i in raw.get("/users/1/items", params=params).json()}

    assert keys(itemType="journalArticle") == {b["key"]}
    assert keys(itemType="-journalArticle") == {a["key"]}
    assert keys(itemType="book || journalArticle") == {a["key"], b["key"]}
    assert keys(tag="memory") == {a["key"]}
    assert keys(tag="-memory") == {b["key"]}
    assert keys(q="llm") == {a["key"]}
    assert keys(q="lovelace") == {b["key"]}


def test_unknown_parameters_are_ignored(raw: Raw) -> None:
    raw.new_item()
    resp = raw.get(
        "/users/1/items", params={"locale": "en-US", "timeout": "30", "colour": "red", "v": "3"}
    )
    assert resp.status_code == 200 and len(resp.json()) == 1


def test_unsupported_format(raw: Raw) -> None:
    assert raw.get("/users/1/items", params={"format": "atom"}).status_code == 501
    bad = raw.get("/users/1/items", params={"format": "yaml"})
    assert (bad.status_code, bad.text) == (400, "Invalid 'format' value 'yaml'")


def test_a_key_list_reads_what_the_whole_listing_holds_in_its_order(raw: Raw) -> None:
    """A read by keys (how a client reads back the items a sync wrote) picks those objects
    without walking the library, and answers exactly what filtering the whole listing
    would: same objects, same order (ties of one batch's version in creation order), the
    trash only when asked, bad keys ignored, and no valid key meaning no filter."""
    keys = _fill(raw, 120)  # three batches: 50 share one version, then 50, then 20
    old = raw.get(f"/users/1/items/{keys[7]}").json()
    trashed = raw.patch(f"/users/1/items/{keys[7]}", {"deleted": 1, "version": old["version"]})
    assert trashed.status_code == 204
    gone = raw.get(f"/users/1/items/{keys[9]}").json()
    deleted = raw.delete(
        f"/users/1/items/{keys[9]}", headers={"If-Unmodified-Since-Version": str(gone["version"])}
    )
    assert deleted.status_code == 204
    scrambled = [(i * 37) % 120 for i in range(40)]  # ties of one batch, out of order
    wanted = [keys[i] for i in (*scrambled, 7, 9, 3)]
    for extra in ({}, {"includeTrashed": "1"}, {"sort": "title", "direction": "asc"}):
        every = raw.get("/users/1/items", params={"limit": 100, **extra}).json()
        every += raw.get("/users/1/items", params={"limit": 100, "start": 100, **extra}).json()
        whole = [i["key"] for i in every]
        picked = raw.get("/users/1/items", params={"itemKey": ",".join(wanted), **extra}).json()
        assert [i["key"] for i in picked] == [k for k in whole if k in wanted]
        assert (keys[7] in whole) == ("includeTrashed" in extra) and keys[9] not in whole
    none_valid = raw.get("/users/1/items", params={"itemKey": "AAAA,0aB1cDeF", "limit": 100})
    assert len(none_valid.json()) == 100  # as if no key list was given


def test_num_children_follows_every_child_write(raw: Raw) -> None:
    """``numChildren`` (counted once and kept until a child changes) follows each child
    written, trashed, restored, moved and deleted, in reads and in write reports."""
    parent = raw.new_item(title="P")
    other = raw.new_item(title="Q")

    def count(key: str) -> int:
        single = raw.get(f"/users/1/items/{key}").json()["meta"]["numChildren"]
        listed = raw.get("/users/1/items", params={"itemKey": key}).json()[0]
        assert listed["meta"]["numChildren"] == single
        n: int = single
        return n

    def report_count(key: str) -> int:
        cur = raw.get(f"/users/1/items/{key}").json()
        edit = {"key": key, "version": cur["version"], "extra": f"edit {cur['version']}"}
        report = raw.create("items", [edit])
        n: int = report["successful"]["0"]["meta"]["numChildren"]
        return n

    assert count(parent["key"]) == 0 and report_count(parent["key"]) == 0
    note = raw.create("items", [{"itemType": "note", "note": "n", "parentItem": parent["key"]}])
    nkey = note["success"]["0"]
    assert count(parent["key"]) == 1 and report_count(parent["key"]) == 1

    def patch_note(body: dict[str, Any]) -> None:
        cur = raw.get(f"/users/1/items/{nkey}").json()
        resp = raw.patch(f"/users/1/items/{nkey}", {**body, "version": cur["version"]})
        assert resp.status_code == 204, resp.text

    patch_note({"deleted": 1})
    assert count(parent["key"]) == 0 and report_count(parent["key"]) == 0
    patch_note({"deleted": 0})
    assert count(parent["key"]) == 1
    patch_note({"parentItem": other["key"]})
    assert (count(parent["key"]), count(other["key"])) == (0, 1)
    cur = raw.get(f"/users/1/items/{nkey}").json()
    raw.delete(
        f"/users/1/items/{nkey}", headers={"If-Unmodified-Since-Version": str(cur["version"])}
    )
    assert count(other["key"]) == 0 and report_count(other["key"]) == 0
