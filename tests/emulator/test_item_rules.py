"""Item validation and write semantics: schema fields and creators, tags, relations, children,
PATCH vs PUT, dates, type changes, attachments."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Raw


def _fail(raw: Raw, obj: dict[str, Any]) -> dict[str, Any]:
    report = raw.post("/users/1/items", [obj]).json()
    assert "0" in report["failed"], report
    failure: dict[str, Any] = report["failed"]["0"]
    return failure


@pytest.mark.parametrize(
    ("obj", "code", "message"),
    [
        ({"title": "x"}, 400, "'itemType' property not provided"),
        (
            {"itemType": "book", "proceedingsTitle": "x"},
            400,
            "'proceedingsTitle' is not a valid field for type 'book'",
        ),
        ({"itemType": "book", "nonsense": "x"}, 400, "Invalid property 'nonsense'"),
        ({"itemType": "book", "title": ["a"]}, 400, "Unexpected array for property 'title'"),
        (
            {
                "itemType": "journalArticle",
                "creators": [{"creatorType": "cartographer", "lastName": "X", "firstName": ""}],
            },
            400,
            "'cartographer' is not a valid creator type for item type 'journalArticle'",
        ),
        (
            {"itemType": "book", "creators": [{"creatorType": "boss", "name": "X"}]},
            400,
            "'boss' is not a valid creator type",
        ),
        (
            {"itemType": "book", "creators": [{"name": "X"}]},
            400,
            "creator object must contain 'creatorType'",
        ),
        (
            {"itemType": "book", "creators": [{"creatorType": "author", "lastName": "X"}]},
            400,
            "'firstName' creator field must be set if 'lastName' is set",
        ),
        (
            {
                "itemType": "book",
                "creators": [
                    {"creatorType": "author", "name": "X", "firstName": "Y", "lastName": "Z"}
                ],
            },
            400,
            "'firstName' and 'name' creator fields are mutually exclusive",
        ),
        (
            {
                "itemType": "book",
                "creators": [
                    {"creatorType": "author", "name": "A"},
                    {"creatorType": "author", "name": ""},
                ],
            },
            400,
            "creator object must contain 'firstName'/'lastName' or 'name'",
        ),
        ({"itemType": "book", "tags": [{}]}, 400, "Tag object is empty"),
        ({"itemType": "book", "tags": ["a"]}, 400, "Tag must be an object"),
        ({"itemType": "book", "tags": [{"tag": "a", "type": "x"}]}, 400, "Invalid tag type 'x'"),
        (
            {"itemType": "book", "tags": [{"tag": "a", "colour": "red"}]},
            400,
            "Invalid tag property 'colour'",
        ),
        ({"itemType": "book", "tags": "a"}, 400, "'tags' property must be an array"),
        (
            {"itemType": "book", "relations": {"owl:sameAs": "https://arxiv.org/abs/1"}},
            400,
            "'relations' values currently must be Zotero item URIs",
        ),
        (
            {
                "itemType": "book",
                "relations": {"dc:isPartOf": "http://zotero.org/users/1/items/ABCD2345"},
            },
            400,
            "Unsupported predicate 'dc:isPartOf'",
        ),
        ({"itemType": "book", "collections": ["ABCD2345"]}, 409, "Collection ABCD2345 not found"),
        (
            {"itemType": "book", "collections": ["nope"]},
            400,
            "'nope' is not a valid collection key",
        ),
        (
            {"itemType": "note", "note": "x", "parentItem": "ABCD2345"},
            409,
            "Parent item ABCD2345 not found",
        ),
        (
            {"itemType": "note", "note": "x", "parentItem": "nope"},
            400,
            "'parentItem' must be a valid item key or false",
        ),
        (
            {"itemType": "book", "note": "x"},
            400,
            "'note' property is valid only for note and attachment items",
        ),
        (
            {"itemType": "book", "linkMode": "linked_url"},
            400,
            "'linkMode' is valid only for attachment items",
        ),
        (
            {"itemType": "attachment", "linkMode": "embedded_image"},
            400,
            "Embedded-image attachment must have a parent item",
        ),
        (
            {"itemType": "attachment", "linkMode": "teleport"},
            400,
            "'teleport' is not a valid linkMode",
        ),
        (
            {"itemType": "book", "dateAdded": "last week"},
            400,
            "'dateAdded' must be in ISO 8601 or UTC 'YYYY-MM-DD hh:mm:ss' format (last week)",
        ),
        ({"itemType": "teapot"}, 400, "'teapot' is not a valid itemType"),
    ],
)
def test_invalid_items_fail_with_the_server_message(
    raw: Raw, obj: dict[str, Any], code: int, message: str
) -> None:
    failure = _fail(raw, obj)
    assert (failure["code"], failure["message"]) == (code, message)


def test_too_long_field_is_413_with_data(raw: Raw) -> None:
    failure = _fail(raw, {"itemType": "book", "title": "x" * 70000})
    assert failure["code"] == 413
    assert failure["data"]["field"] == "title"


def test_base_fields_map_to_the_type_field(raw: Raw) -> None:
    data = raw.new_item(itemType="conferencePaper", publicationTitle="Proc. of X")
    assert data["proceedingsTitle"] == "Proc. of X"
    assert "publicationTitle" not in data


def test_template_creator_is_ignored_on_creation(raw: Raw) -> None:
    tpl = raw.get("/items/new", params={"itemType": "journalArticle"}).json()
    data = raw.create("items", [tpl])["successful"]["0"]["data"]
    assert data["creators"] == []


def test_data_has_every_field_of_the_type_in_schema_order(raw: Raw) -> None:
    from pllm_sync.testing.zotero_server.validation import load_schema

    data = raw.new_item(itemType="preprint", title="T", archiveID="arXiv:2304.11406")
    fields = list(load_schema().type_info("preprint").fields)
    expected = [
        "key",
        "version",
        "itemType",
        "title",
        "creators",
        *fields[1:],
        "tags",
        "collections",
        "relations",
        "dateAdded",
        "dateModified",
    ]
    assert list(data) == expected
    assert data["abstractNote"] == "" and data["archiveID"] == "arXiv:2304.11406"


def test_tags_normalise_type_zero_and_keep_type_one(raw: Raw) -> None:
    data = raw.new_item(
        tags=[{"tag": "manual", "type": 0}, {"tag": "auto", "type": 1}, {"tag": " padded "}]
    )
    assert data["tags"] == [{"tag": "manual"}, {"tag": "auto", "type": 1}, {"tag": "padded"}]


def test_relations_accept_zotero_uris_in_string_or_list_form(raw: Raw) -> None:
    uri = "http://zotero.org/users/1/items/ABCD2345"
    data = raw.new_item(
        relations={
            "dc:relation": [uri, "http://zotero.org/users/1/items/BCDE2345"],
            "owl:sameAs": uri,
        }
    )
    assert data["relations"]["owl:sameAs"] == uri
    assert len(data["relations"]["dc:relation"]) == 2


def test_child_rules(raw: Raw) -> None:
    coll = raw.new_collection()
    parent = raw.new_item(title="P")
    note = raw.create(
        "items", [{"itemType": "note", "note": "<p>n</p>", "parentItem": parent["key"]}]
    )
    note_key = note["successful"]["0"]["key"]
    failure = _fail(
        raw,
        {
            "itemType": "note",
            "note": "x",
            "parentItem": parent["key"],
            "collections": [coll["key"]],
        },
    )
    assert (failure["code"], failure["message"]) == (
        400,
        "Child items cannot be assigned to collections",
    )
    failure = _fail(raw, {"itemType": "note", "note": "x", "parentItem": note_key})
    assert (failure["code"], failure["message"]) == (
        409,
        "Parent item cannot be a note or attachment",
    )
    failure = _fail(raw, {"itemType": "book", "parentItem": parent["key"]})
    assert failure["message"] == "Child item must be note, attachment, or annotation"


def test_child_may_follow_its_parent_in_the_same_post(raw: Raw) -> None:
    report = raw.post(
        "/users/1/items",
        [
            {"key": "PARENT23", "version": 0, "itemType": "preprint", "title": "Paper"},
            {"itemType": "note", "note": "<p>mine</p>", "parentItem": "PARENT23"},
            {
                "itemType": "attachment",
                "linkMode": "linked_url",
                "url": "https://x.org",
                "parentItem": "PARENT23",
            },
        ],
    ).json()
    assert report["failed"] == {}
    assert report["successful"]["1"]["links"]["up"]["href"].endswith("/users/1/items/PARENT23")
    children = raw.get("/users/1/items/PARENT23/children").json()
    assert len(children) == 2


def test_post_has_patch_semantics_and_put_replaces(raw: Raw) -> None:
    data = raw.new_item(title="T", abstractNote="A", tags=[{"tag": "t"}])
    key = data["key"]
    raw.post("/users/1/items", [{"key": key, "version": data["version"], "publisher": "P"}])
    after = raw.get(f"/users/1/items/{key}").json()["data"]
    assert (after["title"], after["abstractNote"], after["publisher"]) == ("T", "A", "P")
    assert after["tags"] == [{"tag": "t"}]
    resp = raw.put(
        f"/users/1/items/{key}", {"itemType": "book", "title": "Only", "version": after["version"]}
    )
    assert resp.status_code == 400
    assert resp.text == "'tags' property not provided"
    resp = raw.put(
        f"/users/1/items/{key}",
        {
            "itemType": "book",
            "title": "Only",
            "tags": [],
            "collections": [],
            "relations": {},
            "version": after["version"],
        },
    )
    assert resp.status_code == 204
    replaced = raw.get(f"/users/1/items/{key}").json()["data"]
    assert (
        replaced["title"],
        replaced["abstractNote"],
        replaced["publisher"],
        replaced["tags"],
    ) == ("Only", "", "", [])


def test_patch_arrays_are_complete_lists(raw: Raw) -> None:
    data = raw.new_item(tags=[{"tag": "a"}, {"tag": "b"}])
    raw.patch(f"/users/1/items/{data['key']}", {"tags": [{"tag": "c"}], "version": data["version"]})
    assert raw.get(f"/users/1/items/{data['key']}").json()["data"]["tags"] == [{"tag": "c"}]


def test_clearing_a_field_with_empty_string(raw: Raw) -> None:
    data = raw.new_item(title="T", extra="x")
    raw.patch(f"/users/1/items/{data['key']}", {"extra": "", "version": data["version"]})
    assert raw.get(f"/users/1/items/{data['key']}").json()["data"]["extra"] == ""


def test_date_added_and_date_modified_rules(raw: Raw) -> None:
    data = raw.new_item(dateAdded="2020-01-02T03:04:05Z", dateModified="2020-01-02T03:04:05Z")
    assert data["dateAdded"] == "2020-01-02T03:04:05Z"
    key, url = data["key"], f"/users/1/items/{data['key']}"
    resp = raw.patch(url, {"dateAdded": "2021-01-01T00:00:00Z", "version": data["version"]})
    assert (resp.status_code, resp.text) == (
        400,
        "'dateAdded' cannot be modified for existing items",
    )
    raw.patch(url, {"title": "new", "version": data["version"]})
    now = raw.get(url).json()["data"]
    assert now["dateModified"] > "2020-01-02T03:04:05Z"
    raw.patch(
        url, {"title": "newer", "dateModified": "2019-05-05 10:00:00", "version": now["version"]}
    )
    assert raw.get(url).json()["data"]["dateModified"] == "2019-05-05T10:00:00Z"
    assert key


def test_item_type_change_moves_base_fields(raw: Raw) -> None:
    data = raw.new_item(
        itemType="journalArticle", title="T", publicationTitle="J", volume="3", PMID="1"
    )
    raw.patch(
        f"/users/1/items/{data['key']}", {"itemType": "conferencePaper", "version": data["version"]}
    )
    after = raw.get(f"/users/1/items/{data['key']}").json()["data"]
    assert after["itemType"] == "conferencePaper"
    assert after["proceedingsTitle"] == "J" and after["volume"] == "3"
    assert "PMID" not in after and "publicationTitle" not in after


def test_trash_flag_input_forms_and_output(raw: Raw) -> None:
    for value in (True, 1, "1"):
        data = raw.new_item(deleted=value)
        assert data["deleted"] == 1
    data = raw.new_item()
    raw.patch(f"/users/1/items/{data['key']}", {"deleted": 1, "version": data["version"]})
    trashed = raw.get(f"/users/1/items/{data['key']}").json()["data"]
    assert trashed["deleted"] == 1 and trashed["version"] == data["version"] + 1
    raw.patch(f"/users/1/items/{data['key']}", {"deleted": False, "version": trashed["version"]})
    assert "deleted" not in raw.get(f"/users/1/items/{data['key']}").json()["data"]


def test_linked_url_attachment_rejects_file_properties(raw: Raw) -> None:
    parent = raw.new_item()
    failure = _fail(
        raw,
        {
            "itemType": "attachment",
            "linkMode": "linked_url",
            "parentItem": parent["key"],
            "md5": "0" * 32,
        },
    )
    assert failure["message"] == "'md5' is valid only for imported and embedded-image attachments"


def test_collection_membership_change_bumps_the_item_not_the_collection(raw: Raw) -> None:
    coll = raw.new_collection()
    item = raw.new_item()
    raw.patch(
        f"/users/1/items/{item['key']}", {"collections": [coll["key"]], "version": item["version"]}
    )
    assert raw.get(f"/users/1/items/{item['key']}").json()["version"] == item["version"] + 1
    assert raw.get(f"/users/1/collections/{coll['key']}").json()["version"] == coll["version"]


def test_meta_creator_summary_and_parsed_date(raw: Raw) -> None:
    def meta(**fields: Any) -> dict[str, Any]:
        key = raw.new_item(**fields)["key"]
        result: dict[str, Any] = raw.get(f"/users/1/items/{key}").json()["meta"]
        return result

    one = [{"creatorType": "author", "firstName": "A", "lastName": "Smith"}]
    two = [*one, {"creatorType": "author", "name": "OpenAI"}]
    three = [*two, {"creatorType": "author", "firstName": "C", "lastName": "Doe"}]
    assert meta(creators=one, date="2023-06-01") == {
        "creatorSummary": "Smith",
        "parsedDate": "2023-06-01",
        "numChildren": 0,
    }
    assert meta(creators=two, date="June 2021")["creatorSummary"] == "Smith and OpenAI"
    assert meta(creators=two, date="June 2021")["parsedDate"] == "2021-06"
    assert meta(creators=three, date="2019")["creatorSummary"] == "Smith et al."
    editors = [{"creatorType": "editor", "firstName": "E", "lastName": "Ed"}]
    assert meta(creators=editors)["creatorSummary"] == "Ed"
    assert meta() == {"numChildren": 0}
    assert meta(date="03/15/2020")["parsedDate"] == "2020-03-15"
