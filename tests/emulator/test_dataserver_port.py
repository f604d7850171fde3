"""The dataserver's own API tests for the rules a sync client meets, ported to Python.

Each test names its source: ``zotero/dataserver`` ``tests/remote/tests/3/<file>.test.js``
and the ``it(...)`` title (the JS suite is itself a port of ``tests/remote/tests/API/3/*.php``;
the PHP name is given too). The steps and asserted values are the originals'; where the
original sleeps a second to see a timestamp move, the port sets an old explicit
``dateModified`` first instead (no timing in tests). Helpers mirror ``api3.js``
(``createItem``, ``createAttachmentItem``, ``createNoteItem``, ``createCollection``)."""

from __future__ import annotations

from typing import Any

import httpx2

from .conftest import Raw

U = "/users/1"


# --------------------------------------------------------------- api3.js helpers
def template(raw: Raw, item_type: str, link_mode: str | None = None) -> dict[str, Any]:
    params = {"itemType": item_type}
    if link_mode:
        params["linkMode"] = link_mode
    resp = raw.get("/items/new", params=params)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def post_items(raw: Raw, objects: list[dict[str, Any]], **kw: Any) -> httpx2.Response:
    return raw.post(f"{U}/items", objects, **kw)


def create_item(raw: Raw, item_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """``API.createItem(type, data, 'json')``: the created object (key, version, meta, data)."""
    json = template(raw, item_type)
    json.update(data or {})
    resp = post_items(raw, [json])
    report = resp.json()
    assert "0" in report["successful"], report
    created: dict[str, Any] = report["successful"]["0"]
    return created


def create_attachment(
    raw: Raw, link_mode: str, data: dict[str, Any] | None = None, parent: str | None = None
) -> dict[str, Any]:
    json = template(raw, "attachment", link_mode)
    json.update(data or {})
    if parent:
        json["parentItem"] = parent
    report = post_items(raw, [json]).json()
    assert "0" in report["successful"], report
    created: dict[str, Any] = report["successful"]["0"]["data"]
    return created


def create_note(raw: Raw, text: str, parent: str | None = None) -> str:
    json = template(raw, "note")
    json["note"] = text
    if parent:
        json["parentItem"] = parent
    report = post_items(raw, [json]).json()
    assert "0" in report["successful"], report
    return str(report["successful"]["0"]["key"])


def create_collection(raw: Raw, name: str, parent: str | None = None) -> str:
    body: dict[str, Any] = {"name": name}
    if parent:
        body["parentCollection"] = parent
    report = raw.post(f"{U}/collections", [body]).json()
    assert "0" in report["successful"], report
    return str(report["successful"]["0"]["key"])


def get_data(raw: Raw, key: str) -> dict[str, Any]:
    resp = raw.get(f"{U}/items/{key}")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def failed(resp: httpx2.Response, code: int, message: str | None = None, index: int = 0) -> Any:
    """``assert{code}ForObject(response, message, index)`` from ``assertions3.js``."""
    assert resp.status_code == 200, resp.text
    entry = resp.json()["failed"][str(index)]
    assert entry["code"] == code, entry
    if message is not None:
        assert entry["message"] == message
    return entry


# ======================================================== item.test.js: dates
def test_date_accessed_iso8601(raw: Raw) -> None:
    """item.test.js 'should handle dateAccessed ISO 8601' (PHP testDateAccessed8601)."""
    date = "2014-02-01T01:23:45Z"
    assert create_item(raw, "book", {"accessDate": date})["data"]["accessDate"] == date


def test_date_accessed_iso8601_tz(raw: Raw) -> None:
    """item.test.js 'should handle dateAccessed ISO 8601 TZ' (PHP testDateAccessed8601TZ)."""
    data = create_item(raw, "book", {"accessDate": "2014-02-01T01:23:45-0400"})["data"]
    assert data["accessDate"] == "2014-02-01T05:23:45Z"


def test_date_accessed_sql(raw: Raw) -> None:
    """item.test.js 'should handle dateAccessed SQL' (PHP testDateAccessedSQL)."""
    data = create_item(raw, "book", {"accessDate": "2014-02-01 01:23:45"})["data"]
    assert data["accessDate"] == "2014-02-01T01:23:45Z"


def test_date_accessed_invalid(raw: Raw) -> None:
    """item.test.js 'should handle dateAccessed invalid' (PHP testDateAccessedInvalid)."""
    json = template(raw, "book")
    json["accessDate"] = "February 1, 2014"
    failed(
        post_items(raw, [json]),
        400,
        "'accessDate' must be in ISO 8601 or UTC 'YYYY-MM-DD[ hh:mm:ss]' format or "
        "'CURRENT_TIMESTAMP' (February 1, 2014)",
    )


def test_date_added_new_item_iso8601(raw: Raw) -> None:
    """item.test.js 'should handle dateAdded new item ISO 8601' (PHP
    testDateAddedNewItem8601)."""
    data = create_item(
        raw, "videoRecording", {"title": "Test", "dateAdded": "2013-03-03T21:33:53Z"}
    )["data"]
    assert data["dateAdded"] == "2013-03-03T21:33:53Z"


def test_date_added_new_item_iso8601_tz(raw: Raw) -> None:
    """item.test.js 'should handle dateAdded new item ISO 8601 TZ' (PHP
    testDateAddedNewItem8601TZ)."""
    data = create_item(
        raw, "videoRecording", {"title": "Test", "dateAdded": "2013-03-03T17:33:53-0400"}
    )["data"]
    assert data["dateAdded"] == "2013-03-03T21:33:53Z"


def test_date_added_new_item_sql(raw: Raw) -> None:
    """item.test.js 'should handle dateAdded new item SQL' (PHP testDateAddedNewItemSQL)."""
    data = create_item(
        raw, "videoRecording", {"title": "Test", "dateAdded": "2013-03-03 21:33:53"}
    )["data"]
    assert data["dateAdded"] == "2013-03-03T21:33:53Z"


def test_date_added_and_modified_invalid(raw: Raw) -> None:
    """Items.inc.php validateJSONItem: the message for dateAdded/dateModified (no test of its
    own in the suite)."""
    json = template(raw, "book")
    json["dateModified"] = "yesterday"
    failed(
        post_items(raw, [json]),
        400,
        "'dateModified' must be in ISO 8601 or UTC 'YYYY-MM-DD hh:mm:ss' format (yesterday)",
    )


def test_date_modified(raw: Raw) -> None:
    """item.test.js 'should handle dateModified' (PHP testDateModified)."""
    old = "2012-01-01T00:00:00Z"
    json = create_item(raw, "videoRecording", {"title": "Test", "dateModified": old})["data"]
    key = json["key"]
    assert json["dateModified"] == old
    # If no explicit dateModified, use current timestamp
    json["title"] = "Test 2"
    del json["dateModified"]
    assert raw.put(f"{U}/items/{key}", json).status_code == 204
    json = get_data(raw, key)
    modified2 = json["dateModified"]
    assert modified2 != old
    # If existing dateModified (SQL form), use current timestamp
    raw.emu.edit_item(key, {"dateModified": old})
    json = get_data(raw, key)
    json["title"] = "Test 3"
    json["dateModified"] = old.replace("T", " ").replace("Z", "")
    assert raw.put(f"{U}/items/{key}", json).status_code == 204
    json = get_data(raw, key)
    assert json["dateModified"] != old
    # If explicit dateModified, use that
    json["title"] = "Test 4"
    json["dateModified"] = "2013-03-03T21:33:53Z"
    assert raw.put(f"{U}/items/{key}", json).status_code == 204
    assert get_data(raw, key)["dateModified"] == "2013-03-03T21:33:53Z"


def test_date_modified_tmp_zotero_client_hack(raw: Raw) -> None:
    """item.test.js 'should handle dateModified tmp zotero client hack' (PHP
    testDateModifiedTmpZoteroClientHack): a Zotero client's dateModified is kept as sent."""
    firefox = {"User-Agent": "Firefox"}
    old = "2012-01-01T00:00:00Z"
    json = create_item(raw, "videoRecording", {"title": "Test", "dateModified": old})["data"]
    key = json["key"]
    json["title"] = "Test 2"
    del json["dateModified"]
    assert raw.put(f"{U}/items/{key}", json, headers=firefox).status_code == 204
    json = get_data(raw, key)
    modified2 = json["dateModified"]
    assert modified2 != old
    # If dateModified provided and hasn't changed, use that
    raw.emu.edit_item(key, {"dateModified": old})
    json = get_data(raw, key)
    json["title"] = "Test 3"
    json["dateModified"] = old.replace("T", " ").replace("Z", "")
    assert raw.put(f"{U}/items/{key}", json, headers=firefox).status_code == 204
    assert get_data(raw, key)["dateModified"] == old
    # If dateModified is provided and has changed, use that
    json = get_data(raw, key)
    json["title"] = "Test 4"
    json["dateModified"] = "2013-03-03T21:33:53Z"
    assert raw.put(f"{U}/items/{key}", json, headers=firefox).status_code == 204
    assert get_data(raw, key)["dateModified"] == "2013-03-03T21:33:53Z"


def test_date_modified_no_change(raw: Raw) -> None:
    """item.test.js 'should handle dateModified no change' (PHP testDateModifiedNoChange): a
    Zotero client's edit with its dateModified, then membership and relations changes
    without it, keep Date Modified."""
    collection = create_collection(raw, "Test")
    json = create_item(raw, "book", {"dateModified": "2012-01-01T00:00:00Z"})["data"]
    modified = json["dateModified"]
    changes: list[dict[str, Any]] = [
        {"title": "A"},
        {"collections": [collection]},
        {"relations": {"dc:relation": "http://zotero.org/users/1/items/AAAAAAAA"}},
    ]
    for i, change in enumerate(changes, 1):
        if i > 1:
            del json["dateModified"]
        json.update(change)
        resp = post_items(
            raw,
            [json],
            headers={"If-Unmodified-Since-Version": str(json["version"]), "User-Agent": "Firefox"},
        )
        json = resp.json()["successful"]["0"]["data"]
        assert json["dateModified"] == modified, f"Date Modified changed on loop {i}"


def test_date_modified_collection_change(raw: Raw) -> None:
    """item.test.js 'should handle dateModified collection change' (PHP
    testDateModifiedCollectionChange): membership alone does not move Date Modified."""
    collection = create_collection(raw, "Test")
    old = "2012-01-01T00:00:00Z"
    json = create_item(raw, "book", {"title": "Test", "dateModified": old})["data"]
    json["collections"] = [collection]
    resp = post_items(raw, [json])
    assert resp.status_code == 200 and "0" in resp.json()["successful"]
    after = get_data(raw, json["key"])
    assert after["collections"] == [collection]
    assert after["dateModified"] == old
    # Also when the client leaves dateModified out (PATCH semantics).
    resp = raw.patch(f"{U}/items/{json['key']}", {"collections": [], "version": after["version"]})
    assert resp.status_code == 204
    assert get_data(raw, json["key"])["dateModified"] == old


# ================================================ item.test.js: attachments
def test_patch_attachment(raw: Raw) -> None:
    """item.test.js 'should patch attachment' (PHP testPatchAttachment)."""
    json = create_attachment(raw, "imported_file")
    key, version = json["key"], json["version"]
    resp = raw.patch(
        f"{U}/items/{key}",
        {"filename": "test.pdf", "mtime": 1234567890000, "md5": "390d914fdac33e307e5b0e1f3dba9da2"},
        headers={"If-Unmodified-Since-Version": str(version)},
    )
    assert resp.status_code == 204
    json = get_data(raw, key)
    assert json["filename"] == "test.pdf"
    assert json["mtime"] == 1234567890000
    assert json["md5"] == "390d914fdac33e307e5b0e1f3dba9da2"
    assert int(resp.headers["Last-Modified-Version"]) > version
    assert json["version"] == int(resp.headers["Last-Modified-Version"])


def test_convert_child_attachment_to_top_level_via_patch_without_parent_item_false(
    raw: Raw,
) -> None:
    """item.test.js 'should convert child attachment to top level and add to collection via
    PATCH without parentItem false'."""
    collection = create_collection(raw, "Test")
    parent = create_item(raw, "book", {"title": "Test"})["key"]
    attachment = create_attachment(raw, "linked_url", {}, parent)
    del attachment["parentItem"]
    attachment["collections"] = [collection]
    assert raw.patch(f"{U}/items/{attachment['key']}", attachment).status_code == 204
    json = get_data(raw, attachment["key"])
    assert "parentItem" not in json
    assert json["collections"] == [collection]


def _child_note(raw: Raw) -> dict[str, Any]:
    parent = create_item(raw, "book", {"title": "Test"})["key"]
    key = create_note(raw, "<p>Test</p>", parent)
    return get_data(raw, key)


def test_edit_child_note(raw: Raw) -> None:
    """item.test.js 'should edit child note' (PHP testEditChildNote)."""
    json = _child_note(raw)
    json["note"] = "<p>Test Test</p>"
    assert raw.put(f"{U}/items/{json['key']}", json).status_code == 204
    assert get_data(raw, json["key"])["note"] == "<p>Test Test</p>"


def test_convert_child_note_to_parent_via_patch(raw: Raw) -> None:
    """item.test.js 'should convert child note to parent via PATCH' (PHP
    testConvertChildNoteToParentViaPatch)."""
    json = _child_note(raw)
    resp = raw.patch(
        f"{U}/items/{json['key']}",
        {"parentItem": False},
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    assert "parentItem" not in get_data(raw, json["key"])


def test_convert_child_note_to_top_level_and_add_to_collection(raw: Raw) -> None:
    """item.test.js 'should convert child note to top level and add to collection via
    PATCH' and '... via PUT' (PHP test_should_convert_child_note_to_top_level_and_add_to_
    collection_via_PATCH / _via_PUT)."""
    collection = create_collection(raw, "Test")
    json = _child_note(raw)
    resp = raw.patch(
        f"{U}/items/{json['key']}",
        {"parentItem": False, "collections": [collection]},
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    data = get_data(raw, json["key"])
    assert "parentItem" not in data and collection in data["collections"]
    json = _child_note(raw)
    del json["parentItem"]
    json["collections"] = [collection]
    resp = raw.put(
        f"{U}/items/{json['key']}",
        json,
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    data = get_data(raw, json["key"])
    assert "parentItem" not in data and collection in data["collections"]


def test_top_level_attachment_moved_under_a_parent_leaves_its_collections(raw: Raw) -> None:
    """Item.inc.php save, "Changing parent": a standalone item that becomes a child is
    deleted from every collection it was in (no test of its own in the suite)."""
    collection = create_collection(raw, "Test")
    parent = create_item(raw, "book", {"title": "P"})["key"]
    json = create_attachment(raw, "linked_url", {"collections": [collection]})
    assert json["collections"] == [collection]
    resp = raw.patch(f"{U}/items/{json['key']}", {"parentItem": parent, "version": json["version"]})
    assert resp.status_code == 204, resp.text
    data = get_data(raw, json["key"])
    assert data["parentItem"] == parent and "collections" not in data
    assert raw.get(f"{U}/collections/{collection}/items").json() == []


def test_new_top_level_linked_attachments_are_accepted(raw: Raw) -> None:
    """item.test.js 'should reject new invalid top level attachment' (PHP
    testNewInvalidTopLevelAttachment): despite its name, linked_file and linked_url
    top-level attachments are now accepted."""
    for link_mode in ("linked_file", "linked_url"):
        resp = post_items(raw, [template(raw, "attachment", link_mode)])
        assert resp.status_code == 200
        assert "0" in resp.json()["successful"], resp.json()


def test_patch_top_level_attachment(raw: Raw) -> None:
    """item.test.js 'should patch top level attachment' (PHP testPatchTopLevelAttachment)."""
    json = create_attachment(raw, "linked_url")
    key = json["key"]
    for title, extra in (
        ("A", {"linkMode": "linked_url"}),
        ("B", {"itemType": "attachment", "linkMode": "linked_url"}),
        ("C", {"itemType": "attachment"}),
        ("D", {}),
    ):
        patch = {"key": key, "version": json["version"], "title": title, **extra}
        resp = post_items(raw, [patch])
        assert resp.status_code == 200 and not resp.json()["failed"], resp.json()
        json = get_data(raw, key)
        assert json["title"] == title


def test_reject_md5_on_linked_url(raw: Raw) -> None:
    """item.test.js 'should reject new attachment item MD5 on linked URL'."""
    parent = create_item(raw, "book")["key"]
    json = template(raw, "attachment", "linked_url")
    json["parentItem"] = parent
    json["md5"] = "c7487a750a97722ae1878ed46b215ebe"
    failed(
        post_items(raw, [json]),
        400,
        "'md5' is valid only for imported and embedded-image attachments",
    )


def test_reject_mtime_on_linked_url(raw: Raw) -> None:
    """item.test.js 'should reject new attachment item mod time on linked URL' (PHP
    testNewAttachmentItemModTimeOnLinkedURL)."""
    parent = create_item(raw, "book")["key"]
    json = template(raw, "attachment", "linked_url")
    json["parentItem"] = parent
    json["mtime"] = "1332807793000"
    failed(
        post_items(raw, [json]),
        400,
        "'mtime' is valid only for imported and embedded-image attachments",
    )


def test_ignore_null_for_existing_storage_properties(raw: Raw) -> None:
    """item.test.js 'should ignore null for existing storage properties'."""
    json = create_attachment(raw, "imported_file")
    key = json["key"]
    json["md5"] = "c7487a750a97722ae1878ed46b215ebe"
    json["mtime"] = 1332807793000
    assert post_items(raw, [json]).status_code == 200
    json = get_data(raw, key)
    assert (json["md5"], json["mtime"]) == ("c7487a750a97722ae1878ed46b215ebe", 1332807793000)
    json["md5"] = None
    json["mtime"] = None
    assert post_items(raw, [json]).status_code == 200
    json = get_data(raw, key)
    assert (json["md5"], json["mtime"]) == ("c7487a750a97722ae1878ed46b215ebe", 1332807793000)


def test_reject_stored_file_filename_with_a_directory_path(raw: Raw) -> None:
    """item.test.js 'should reject a stored-file filename containing a directory path' and
    'should allow a stored-file filename containing a bare backslash'."""
    for filename in (
        "D:/Foo/Bar/test.pdf",
        "C:\\Users\\matth\\test.pdf",
        "\\\\server\\share\\test.pdf",
        "\\\\?\\C:\\Users\\x\\test.pdf",
    ):
        json = template(raw, "attachment", "imported_file")
        json["filename"] = filename
        failed(
            post_items(raw, [json]),
            400,
            f"Stored-file filename '{filename}' cannot contain a directory path",
        )
    for filename in ("Sutton - 2.4 \\AA resolution.pdf", "foo\\bar.pdf"):
        assert (
            create_attachment(raw, "imported_file", {"filename": filename})["filename"] == filename
        )


def test_reject_embedded_image_without_parent(raw: Raw) -> None:
    """item.test.js 'should reject embedded image attachment without parent'."""
    json = template(raw, "attachment", "embedded_image")
    json["parentItem"] = False
    json["contentType"] = "image/png"
    failed(post_items(raw, [json]), 400, "Embedded-image attachment must have a parent item")


# ================================================= item.test.js: parentItem
def test_parent_item(raw: Raw) -> None:
    """item.test.js 'should handle parentItem' (PHP testParentItem)."""
    parent = create_item(raw, "book")["key"]
    json = create_attachment(raw, "linked_file", {}, parent)
    assert json["parentItem"] == parent
    del json["parentItem"]
    resp = raw.put(
        f"{U}/items/{json['key']}",
        json,
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204, resp.text
    assert "parentItem" not in get_data(raw, json["key"])


def test_reject_parent_item_that_matches_item_key(raw: Raw) -> None:
    """item.test.js 'should reject parentItem that matches item key'."""
    json = template(raw, "attachment", "imported_file")
    json.update({"key": "ABCD2345", "version": 0, "parentItem": "ABCD2345"})
    entry = failed(post_items(raw, [json]), 400)
    assert "cannot be a child of itself" in entry["message"]


def test_parent_item_patch(raw: Raw) -> None:
    """item.test.js 'should handle parentItem PATCH' (PHP testParentItemPatch)."""
    parent = create_item(raw, "book")["key"]
    json = create_attachment(raw, "linked_file", {}, parent)
    key = json["key"]
    resp = raw.patch(
        f"{U}/items/{key}",
        {"title": "Test"},
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    json = get_data(raw, key)
    assert json["parentItem"] == parent
    resp = raw.patch(
        f"{U}/items/{key}",
        {"parentItem": False},
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    assert "parentItem" not in get_data(raw, key)


# ========================================================= item.test.js: 409s
def test_409_on_missing_parent(raw: Raw) -> None:
    """item.test.js 'should return 409 on missing parent' (PHP
    test_should_return_409_on_missing_parent)."""
    json = template(raw, "note")
    json["parentItem"] = "BDARG2AV"
    json["note"] = "<p>test</p>"
    entry = failed(post_items(raw, [json]), 409, "Parent item BDARG2AV not found")
    assert entry["data"]["parentItem"] == "BDARG2AV"


def test_409_on_missing_parent_if_parent_failed(raw: Raw) -> None:
    """item.test.js 'should return 409 on missing parent if parent failed' (PHP
    test_should_return_409_on_missing_parent_if_parent_failed)."""
    collection = create_collection(raw, "A")
    version = raw.lmv(raw.get(f"{U}/items"))
    parent = "BDARG2AV"
    tag = "ab" * 150  # 300 characters
    item1 = template(raw, "book")
    item1.update(
        {
            "key": parent,
            "creators": [{"firstName": "A.", "lastName": "Nespola", "creatorType": "author"}],
            "tags": [{"tag": "A"}, {"tag": tag}],
            "collections": [collection],
        }
    )
    item2 = template(raw, "note")
    item2["parentItem"] = parent
    item3 = template(raw, "attachment", "linked_url")
    item3.update({"parentItem": parent, "note": "Test"})
    resp = post_items(
        raw, [item1, item2, item3], headers={"If-Unmodified-Since-Version": str(version)}
    )
    failed(resp, 413, None, 0)
    assert failed(resp, 409, f"Parent item {parent} not found", 1)["data"]["parentItem"] == parent
    assert failed(resp, 409, f"Parent item {parent} not found", 2)["data"]["parentItem"] == parent


def test_409_on_missing_collection(raw: Raw) -> None:
    """item.test.js 'should return 409 on missing collection' (PHP
    test_should_return_409_on_missing_collection)."""
    json = template(raw, "book")
    json["collections"] = ["BDARG2AV"]
    entry = failed(post_items(raw, [json]), 409, "Collection BDARG2AV not found")
    assert entry["data"]["collection"] == "BDARG2AV"


def test_409_if_note_references_note_as_parent(raw: Raw) -> None:
    """item.test.js 'should return 409 if a note references a note as a parent item'."""
    parent = create_note(raw, "<p>Parent</p>")
    json = template(raw, "note")
    json.update({"parentItem": parent, "note": "<p>Child</p>"})
    entry = failed(post_items(raw, [json]), 409, "Parent item cannot be a note or attachment")
    assert entry["data"]["parentItem"] == parent


def test_409_if_attachment_references_note_as_parent(raw: Raw) -> None:
    """item.test.js 'should return 409 if an attachment references a note as a parent
    item'."""
    parent = create_note(raw, "<p>Parent</p>")
    json = template(raw, "attachment", "imported_file")
    json["parentItem"] = parent
    entry = failed(post_items(raw, [json]), 409, "Parent item cannot be a note or attachment")
    assert entry["data"]["parentItem"] == parent


def test_allow_emoji_in_title(raw: Raw) -> None:
    """item.test.js 'should allow emoji in title' (PHP test_should_allow_emoji_in_title)."""
    key = create_item(raw, "book", {"title": "🐶"})["key"]
    assert get_data(raw, key)["title"] == "🐶"


# ====================================================== item.test.js: queries
def test_top(raw: Raw) -> None:
    """item.test.js 'should handle top' (PHP testTop)."""
    collection = create_collection(raw, "Test")
    parents = [
        create_item(raw, "journalArticle", {"title": "Parent Title", "collections": [collection]})[
            "key"
        ]
    ]
    children = [
        create_attachment(raw, "linked_url", {"title": "This is a Test Title"}, parents[0])["key"]
    ]
    parents.append(create_item(raw, "newspaperArticle", {"title": "Another Parent Title"})["key"])
    children.append(create_note(raw, "This is a sample note.", parents[1]))
    json = raw.get(f"{U}/items/top").json()
    assert sorted(i["key"] for i in json) == sorted(parents)
    json = raw.get(f"{U}/collections/{collection}/items/top").json()
    assert [i["key"] for i in json] == [parents[0]]
    json = raw.get(f"{U}/items/top", params={"itemKey": children[0]}).json()
    assert [i["key"] for i in json] == [parents[0]]


def test_top_with_since(raw: Raw) -> None:
    """item.test.js 'should handle top with since' (PHP testTopWithSince)."""
    version1 = raw.lmv(raw.get(f"{U}/items"))
    parents = [create_item(raw, "book")["key"]]
    create_attachment(raw, "linked_url", {}, parents[0])
    parents.append(create_item(raw, "journalArticle")["key"])
    version4 = raw.lmv(raw.get(f"{U}/items"))
    create_note(raw, "", parents[1])
    parents.append(create_item(raw, "book")["key"])
    assert len(raw.get(f"{U}/items/top", params={"since": version1}).json()) == 3
    assert len(raw.get(f"{U}/items", params={"since": version1}).json()) == 5
    versions = raw.get(f"{U}/items/top", params={"format": "versions", "since": version4}).json()
    assert list(versions) == [parents[2]]


def test_top_with_q_returns_the_parent_of_a_matching_child(raw: Raw) -> None:
    """item.test.js 'should return top level item for three level hierarchy' (PHP
    test_top_should_return_top_level_item_for_three_level_hierarchy), without the
    annotation level (annotations are not emulated): a child found by ``q`` or ``itemType``
    returns its top-level item."""
    parent = create_item(raw, "book", {"title": "aaa"})["key"]
    create_attachment(
        raw,
        "imported_url",
        {"contentType": "application/pdf", "title": "bbb", "tags": [{"tag": "child-tag"}]},
        parent,
    )
    json = raw.get(f"{U}/items/top", params={"q": "bbb"}).json()
    assert [i["data"]["title"] for i in json] == ["aaa"]
    # A tag is tested on the top-level item itself (DS joins it on the top-level ID).
    assert raw.get(f"{U}/items/top", params={"tag": "child-tag"}).json() == []
    json = raw.get(f"{U}/items/top", params={"itemType": "attachment"}).json()
    assert [i["data"]["title"] for i in json] == ["aaa"]


def test_ignore_invalid_keys_in_item_key_for_get(raw: Raw) -> None:
    """item.test.js 'should ignore invalid keys in itemKey parameter for GET'."""
    valid = create_item(raw, "book")["key"]
    resp = raw.get(f"{U}/items?itemKey={valid},0aB1cDeF,tZ37uYyQ")
    assert resp.status_code == 200
    assert [i["key"] for i in resp.json()] == [valid]


def test_ignore_invalid_keys_in_item_key_for_delete(raw: Raw) -> None:
    """item.test.js 'should ignore invalid keys in itemKey parameter for DELETE'."""
    json = create_item(raw, "book")
    resp = raw.delete(
        f"{U}/items?itemKey={json['key']},0aB1cDeF,tZ37uYyQ,8ECE13BC",
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert resp.status_code == 204
    assert raw.get(f"{U}/items?itemKey={json['key']}").json() == []


def test_ignore_invalid_keys_in_collection_key(raw: Raw) -> None:
    """API.inc.php parseQueryParams applies the same rule to ``collectionKey``."""
    key = create_collection(raw, "C")
    resp = raw.get(f"{U}/collections?collectionKey={key},nope")
    assert [c["key"] for c in resp.json()] == [key]
    version = raw.lmv(resp)
    resp = raw.delete(
        f"{U}/collections?collectionKey=nope,{key}",
        headers={"If-Unmodified-Since-Version": str(version)},
    )
    assert resp.status_code == 204
    assert raw.get(f"{U}/collections").json() == []


# ==================================================================== tags
def test_ignore_empty_tag(raw: Raw) -> None:
    """tag.test.js 'should ignore empty tag' (PHP test_empty_tag_should_be_ignored)."""
    json = template(raw, "book")
    json["tags"] = [{"tag": "A"}, {"tag": "", "type": 1}]
    resp = post_items(raw, [json])
    assert resp.json()["successful"]["0"]["data"]["tags"] == [{"tag": "A"}]


def test_ignore_empty_tag_with_whitespace(raw: Raw) -> None:
    """tag.test.js 'should ignore empty tag with whitespace' (PHP
    test_empty_tag_with_whitespace_should_be_ignored)."""
    json = template(raw, "book")
    json["tags"] = [{"tag": "A"}, {"tag": " ", "type": 1}]
    resp = post_items(raw, [json])
    assert resp.json()["successful"]["0"]["data"]["tags"] == [{"tag": "A"}]


def test_reject_invalid_tag_object(raw: Raw) -> None:
    """tag.test.js 'should reject invalid tag object' (PHP testInvalidTagObject)."""
    json = template(raw, "book")
    json["tags"] = [["invalid"]]
    failed(post_items(raw, [json]), 400, "Tag must be an object")


def test_add_tag_to_item(raw: Raw) -> None:
    """tag.test.js 'should add tag to item' (PHP test_should_add_tag_to_item)."""
    json = template(raw, "book")
    json["tags"] = [{"tag": "A"}]
    json = post_items(raw, [json]).json()["successful"]["0"]["data"]
    for name in ("C", "B"):
        json["tags"].append({"tag": name})
        json = post_items(raw, [json]).json()["successful"]["0"]["data"]
    json["tags"].append({"tag": "D"})
    tags = json["tags"]
    json = post_items(raw, [json]).json()["successful"]["0"]["data"]
    assert json["tags"] == tags


def test_utf8mb4_tag(raw: Raw) -> None:
    """tag.test.js 'should handle utf8mb4 tag' (PHP test_utf8mb4_tag)."""
    json = template(raw, "book")
    json["tags"] = [{"tag": "🐻", "type": 0}]
    data = post_items(raw, [json]).json()["successful"]["0"]["data"]
    assert data["tags"] == [{"tag": "🐻"}]


def test_reject_tag_too_long(raw: Raw) -> None:
    """tag.test.js 'should reject tag too long' (PHP testTagTooLong); the message is
    ``Zotero_Errors::parseException``'s."""
    tag = "x" * 300
    json = template(raw, "book")
    json["tags"] = [{"tag": tag, "type": 1}]
    entry = failed(post_items(raw, [json]), 413, f"Tag '{'x' * 50}…' too long")
    assert entry["data"]["tag"] == tag


def test_create_a_0_tag(raw: Raw) -> None:
    """tag.test.js 'should create a 0 tag'."""
    json = template(raw, "book")
    json["tags"] = [{"tag": "0"}]
    data = post_items(raw, [json]).json()["successful"]["0"]["data"]
    assert data["tags"] == [{"tag": "0"}]


# ============================================================ general.test.js
def test_filter_invalid_characters(raw: Raw) -> None:
    """general.test.js 'should filter invalid characters' (PHP testInvalidCharacters)."""
    data = create_item(
        raw,
        "book",
        {
            "title": "A\x00A",
            "creators": [{"creatorType": "author", "name": "B\x01B"}],
            "tags": [{"tag": "C\x02C"}],
        },
    )["data"]
    assert data["title"] == "AA"
    assert data["creators"][0]["name"] == "BB"
    assert data["tags"][0]["tag"] == "CC"


# ============================================================ creator.test.js
def test_empty_creator(raw: Raw) -> None:
    """creator.test.js 'should handle empty creator' (PHP testEmptyCreator)."""
    created = create_item(raw, "book", {"creators": [{"creatorType": "author", "name": "\ufeff"}]})
    assert "creatorSummary" not in created["meta"]
    assert created["data"]["creators"] == []


def test_creator_summary_json(raw: Raw) -> None:
    """creator.test.js 'should create correct creator summary in JSON' (PHP
    testCreatorSummaryJSON)."""
    created = create_item(raw, "book", {"creators": [{"creatorType": "author", "name": "Test"}]})
    key = created["key"]
    assert created["meta"]["creatorSummary"] == "Test"
    json = created["data"]
    for first, last, summary in (("Alice", "Foo", "Test and Foo"), ("Bob", "Bar", "Test et al.")):
        json["creators"].append({"creatorType": "author", "firstName": first, "lastName": last})
        assert raw.put(f"{U}/items/{key}", json).status_code == 204
        got = raw.get(f"{U}/items/{key}").json()
        assert got["meta"]["creatorSummary"] == summary
        json = got["data"]


# ========================================================= collection.test.js
def test_collection_item_missing_collection(raw: Raw) -> None:
    """collection.test.js 'should handle collection item missing collection' (PHP
    testCollectionItemMissingCollection)."""
    json = template(raw, "book")
    json["collections"] = ["AAAAAAAA"]
    failed(post_items(raw, [json]), 409, "Collection AAAAAAAA not found")


def test_409_on_missing_parent_collection(raw: Raw) -> None:
    """collection.test.js 'should return 409 on missing parent collection'."""
    resp = raw.post(f"{U}/collections", [{"name": "Test", "parentCollection": "GDHRG8AZ"}])
    entry = failed(resp, 409, "Parent collection GDHRG8AZ not found")
    assert entry["data"]["collection"] == "GDHRG8AZ"


def test_413_if_collection_name_is_too_long(raw: Raw) -> None:
    """collection.test.js 'should return 413 if collection name is too long'."""
    failed(raw.post(f"{U}/collections", [{"name": "1" * 256}]), 413)


def test_move_parent_collection_to_root_if_descendent(raw: Raw) -> None:
    """collection.test.js 'should move parent collection to root if descendent of
    collection'."""
    key_a = create_collection(raw, "A")
    json_a = raw.get(f"{U}/collections/{key_a}").json()["data"]
    key_b = create_collection(raw, "B", key_a)
    json_a["parentCollection"] = key_b
    resp = raw.post(f"{U}/collections", [json_a])
    assert resp.json()["successful"]["0"]["data"]["parentCollection"] == key_b
    assert raw.get(f"{U}/collections/{key_b}").json()["data"]["parentCollection"] is False


def test_allow_emoji_in_collection_name(raw: Raw) -> None:
    """collection.test.js 'should allow emoji in name'."""
    key = create_collection(raw, "🐶")
    assert raw.get(f"{U}/collections/{key}").json()["data"]["name"] == "🐶"


# ============================================================= object.test.js
TOO_LONG = "1234567890" * 6554
CONDITIONS = [{"condition": "title", "operator": "contains", "value": "value"}]


def _three(raw: Raw, kind: str, names: tuple[str, str, str]) -> list[dict[str, Any]]:
    if kind == "items":
        out = []
        for name in names:
            json = template(raw, "book")
            json["title"] = name
            out.append(json)
        return out
    extra = {"conditions": CONDITIONS} if kind == "searches" else {}
    return [{"name": name, **extra} for name in names]


def _name(obj: dict[str, Any]) -> str:
    return str(obj["data"].get("title", obj["data"].get("name")))


def test_partial_write_failure(raw: Raw) -> None:
    """object.test.js 'should handle partial write failure' (PHP testPartialWriteFailure)
    and 'should not leave data from failed objects in a partial write'."""
    for kind in ("collections", "items", "searches"):
        raw.emu.state.clear_library(1)
        resp = raw.post(f"{U}/{kind}", _three(raw, kind, ("First", TOO_LONG, "Third")))
        report = resp.json()
        assert set(report["success"]) == {"0", "2"}
        failed(resp, 413, None, 1)
        got = [_name(raw.get(f"{U}/{kind}/{report['success'][i]}").json()) for i in ("0", "2")]
        assert got == ["First", "Third"]
        assert raw.get(f"{U}/{kind}").headers["Total-Results"] == "2"


def test_partial_write_failure_with_unchanged(raw: Raw) -> None:
    """object.test.js 'should handle partial write failure with `unchanged`' (PHP
    testPartialWriteFailureWithUnchanged)."""
    for kind in ("collections", "items", "searches"):
        raw.emu.state.clear_library(1)
        first = raw.create(kind, _three(raw, kind, ("Name", "x", "y"))[:1])["successful"]["0"]
        objects = [first["data"], *_three(raw, kind, ("-", TOO_LONG, "Test"))[1:]]
        resp = raw.post(f"{U}/{kind}", objects)
        report = resp.json()
        assert report["unchanged"] == {"0": first["key"]}
        failed(resp, 413, None, 1)
        assert "2" in report["success"]
        assert _name(raw.get(f"{U}/{kind}/{first['key']}").json()) == "Name"


def test_consistent_library_version_after_partial_write(raw: Raw) -> None:
    """object.test.js 'should return consistent library version after partial write'."""
    for kind in ("collections", "items", "searches"):
        raw.emu.state.clear_library(1)
        resp = raw.post(f"{U}/{kind}", _three(raw, kind, ("Test", TOO_LONG, "-"))[:2])
        listing = raw.get(f"{U}/{kind}")
        assert raw.lmv(listing) == raw.lmv(resp)
        assert listing.headers["Total-Results"] == "1"


def test_multi_object_write_with_invalid_object(raw: Raw) -> None:
    """object.test.js 'should handle multi-object write with invalid object' (PHP
    testMultiObjectWriteInvalidObject)."""
    for kind, singular in (
        ("collections", "collection"),
        ("items", "item"),
        ("searches", "search"),
    ):
        resp = raw.post(f"{U}/{kind}", {"foo": "bar"})
        assert (resp.status_code, resp.text) == (400, "Uploaded data must be a JSON array")
        resp = raw.post(f"{U}/{kind}", [[], ""])
        for index in (0, 1):
            failed(
                resp,
                400,
                f"Invalid value for index {index} in uploaded data; expected JSON {singular} object",
                index,
            )


# ===================================================== more tag.test.js / item.test.js
def test_keyed_item_with_tags(raw: Raw) -> None:
    """tag.test.js 'should handle keyed item with tags' (PHP test_keyed_item_with_tags)."""
    create_item(
        raw, "book", {"key": "ABCD2345", "version": 0, "tags": [{"tag": "a"}, {"tag": "b"}]}
    )
    tags = get_data(raw, "ABCD2345")["tags"]
    assert sorted(t["tag"] for t in tags) == ["a", "b"]


def test_change_case_of_existing_tag(raw: Raw) -> None:
    """tag.test.js 'should change case of existing tag' (PHP testTagCase)."""
    data1 = create_item(raw, "book", {"tags": [{"tag": "a"}]})["data"]
    data2 = create_item(raw, "book", {"tags": [{"tag": "a"}]})["data"]
    version = data1["version"]
    data1["tags"] = [{"tag": "A"}]
    resp = post_items(raw, [data1])
    assert "0" in resp.json()["successful"]
    data1, data2 = get_data(raw, data1["key"]), get_data(raw, data2["key"])
    assert data2["version"] == version + 1
    assert data1["tags"] == [{"tag": "A"}] and data2["tags"] == [{"tag": "a"}]


def test_tag_diacritics(raw: Raw) -> None:
    """tag.test.js 'should handle tag diacritics' (PHP testTagDiacritics)."""
    data = create_item(raw, "book", {"tags": [{"tag": "ëtest"}]})["data"]
    version = data["version"]
    data["tags"] = [{"tag": "ëtest"}, {"tag": "etest"}]
    assert "0" in post_items(raw, [data]).json()["successful"]
    data = get_data(raw, data["key"])
    assert data["version"] == version + 1
    assert sorted(t["tag"] for t in data["tags"]) == ["etest", "ëtest"]


def test_edit_title_with_collection_and_tag_in_multiple_mode(raw: Raw) -> None:
    """item.test.js 'should edit title with collection in multiple mode' and 'should edit
    title with tag in multiple mode' (PHP testEditTitleWithCollectionInMultipleMode,
    testEditTitleWithTagInMultipleMode)."""
    collection = create_collection(raw, "Test")
    json = create_item(raw, "book", {"title": "A", "collections": [collection]})["data"]
    json["title"] = "B"
    data = post_items(raw, [json]).json()["successful"]["0"]["data"]
    assert data["title"] == "B" and collection in data["collections"]
    json = create_item(raw, "book", {"title": "A", "tags": [{"tag": "B"}]})["data"]
    json["title"] = "C"
    data = post_items(raw, [json]).json()["successful"]["0"]["data"]
    assert data["title"] == "C" and data["tags"] == [{"tag": "B"}]


def test_null_value_is_an_empty_string(raw: Raw) -> None:
    """item.test.js 'should treat null value as empty string' (PHP
    test_should_treat_null_value_as_empty_string)."""
    json = create_item(raw, "book", {"place": "New York"})["data"]
    json["place"] = None
    assert post_items(raw, [json]).json()["successful"]["0"]["data"]["place"] == ""


def test_item_tag_search(raw: Raw) -> None:
    """tag.test.js 'should handle item tag search' (PHP testItemTagSearch)."""
    key1 = create_item(raw, "book", {"tags": [{"tag": "a"}, {"tag": "b"}]})["key"]
    key2 = create_item(raw, "book", {"tags": [{"tag": "a"}, {"tag": "c"}]})["key"]

    def keys(*tags: str) -> set[str]:
        resp = raw.get(f"{U}/items", params={"format": "keys", "tag": list(tags)})
        return set(resp.text.split())

    assert keys("a") == {key1, key2}
    assert keys("a", "c") == {key2}
    assert keys("b", "c") == set()
    assert keys("b || c") == {key1, key2}
    assert keys("a || b || c") == {key1, key2}
    assert keys("-a") == set()
    assert keys("-b") == {key2}
    assert keys("b || c", "a") == {key1, key2}
    assert keys("-z") == {key1, key2}
    assert keys("B") == {key1}  # case-insensitive


def test_negation_in_top_requests(raw: Raw) -> None:
    """tag.test.js 'should handle negation in top requests' (PHP
    test_should_handle_negation_in_top_requests)."""
    key1 = create_item(raw, "book", {"tags": [{"tag": "a"}, {"tag": "b"}]})["key"]
    key2 = create_item(raw, "book", {"tags": [{"tag": "a"}, {"tag": "c"}]})["key"]
    create_attachment(raw, "imported_url", {}, key1)
    create_attachment(raw, "imported_url", {}, key2)
    resp = raw.get(f"{U}/items/top", params={"format": "keys", "tag": "-b"})
    assert resp.text.split() == [key2]


# ============================================================= params.test.js
def test_search_collections(raw: Raw) -> None:
    """params.test.js 'should search collections' (PHP testCollectionQuickSearch)."""
    create_collection(raw, "Test Title")
    key2 = create_collection(raw, "Another Title")
    assert [c["key"] for c in raw.get(f"{U}/collections", params={"q": "another"}).json()] == [key2]
    assert raw.get(f"{U}/collections", params={"q": "nothing"}).json() == []


def test_search_items(raw: Raw) -> None:
    """params.test.js 'should search items' (PHP testItemQuickSearch)."""
    key1 = create_item(raw, "book", {"title": "Test Title"})["key"]
    key2 = create_item(
        raw, "journalArticle", {"title": "Another Title", "date": "November 25, 2013"}
    )["key"]

    def found(q: str) -> list[str]:
        return [i["key"] for i in raw.get(f"{U}/items", params={"q": q}).json()]

    assert found("Test Title") == [key1]
    assert found("2013") == [key2]
    assert found("2014") == []


def test_quicksearch_with_multiple_words(raw: Raw) -> None:
    """params.test.js 'should perform quicksearch with multiple words' (PHP
    test_should_perform_quicksearch_with_multiple_words)."""
    key1 = create_item(raw, "book", {"title": "This Is a Great Title"})["key"]
    key2 = create_item(
        raw, "journalArticle", {"title": "Great, But Is It Better Than This Title?"}
    )["key"]

    def found(q: str) -> list[str]:
        return [i["key"] for i in raw.get(f"{U}/items", params={"q": q}).json()]

    assert found("better title") == [key2]
    assert found('"great title"') == [key1]
    assert found('"better title"') == []


# =============================================================== note.test.js
NOTE_CONTENT = "1234567890" * 50001


def test_reject_note_that_is_too_long(raw: Raw) -> None:
    """note.test.js 'should reject note that is too long' and its variants with blank first
    lines, blank HTML first lines, a title plus newlines, and the text within HTML tags (PHP
    testNoteTooLong*); the message is HTML-escaped as DS's write report does."""
    digits = "1234567890" * 8
    cases = [
        (NOTE_CONTENT, digits[:79]),
        (" \n \n" + NOTE_CONTENT, digits[:79]),
        ("\n<p>&nbsp;</p>\n<p>&nbsp;</p>\n" + NOTE_CONTENT, digits[:73]),
        ("Full Text:\n\n" + NOTE_CONTENT, "Full Text: " + digits[:67]),
        ("&nbsp;\n<p><!-- " + NOTE_CONTENT + " --></p>", "&lt;p&gt;&lt;!-- " + digits[:64]),
    ]
    for note, excerpt in cases:
        json = template(raw, "note")
        json["note"] = note
        failed(post_items(raw, [json]), 413, f"Note '{excerpt}...' too long")


def test_save_utf8mb4_note(raw: Raw) -> None:
    """note.test.js 'should save utf8mb4 note' (PHP test_utf8mb4_note)."""
    json = template(raw, "note")
    json["note"] = "<p>🐻</p>"
    assert post_items(raw, [json]).json()["successful"]["0"]["data"]["note"] == "<p>🐻</p>"


def test_single_object_write_accepts_a_version_newer_than_the_objects(raw: Raw) -> None:
    """ApiController::checkSingleObjectWriteVersion refuses only an *older* version
    (``$obj->version > $version``); the library version, newer than the object's, passes."""
    json = create_item(raw, "book", {"title": "A"})["data"]
    create_item(raw, "book", {"title": "B"})  # the library moves past the item
    library = raw.lmv(raw.get(f"{U}/items"))
    assert library > json["version"]
    resp = raw.patch(
        f"{U}/items/{json['key']}",
        {"title": "C"},
        headers={"If-Unmodified-Since-Version": str(library)},
    )
    assert resp.status_code == 204
    stale = raw.patch(
        f"{U}/items/{json['key']}",
        {"title": "D"},
        headers={"If-Unmodified-Since-Version": str(json["version"])},
    )
    assert stale.status_code == 412
