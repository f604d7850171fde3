"""The user's own data in Zotero items survives pllm-sync's writes (found by review)."""

from __future__ import annotations

from typing import Any

from pllm_sync.zotero.mapping import item_authors, item_to_record, record_to_item_changes
from pllm_sync.zotero.notes_html import has_rich_content, note_html, roundtrip_markdown


def test_creator_entries_the_user_edited_are_reused() -> None:
    item: dict[str, Any] = {
        "key": "AAAAAAAA",
        "version": 3,
        "itemType": "preprint",
        "creators": [
            {"creatorType": "editor", "firstName": "Ed", "lastName": "Itor"},
            {"creatorType": "author", "firstName": "Jan", "lastName": "van der Berg"},
            {"creatorType": "author", "name": "OpenAI Research Team"},
        ],
    }
    ch = record_to_item_changes({"authors": (*item_authors(item), "New Person")}, item)
    assert ch["creators"][0] == item["creators"][0], "the editor stays first"
    assert ch["creators"][1:3] == item["creators"][1:3], "the user's splits are kept"
    assert ch["creators"][3] == {"creatorType": "author", "firstName": "New", "lastName": "Person"}


def test_obsidian_syntax_round_trips_through_note_html() -> None:
    for text in [
        "[[my_note]]",
        "#to_read",
        "$x_1$",
        "[TODO]: reread",
        "Claim[^1].\n\n[^1]: Smith2020",
        "snake_case_name",
        "*em* and **b**",
    ]:
        assert roundtrip_markdown(text) == text


def test_rich_zotero_content_is_recognised() -> None:
    ours = note_html("a *b* `c`\n\n```python\nx = 1\n```\n\n| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert not has_rich_content(ours)
    for rich in (
        '<p><img data-attachment-key="ABCD2345"></p>',
        '<span class="highlight" data-annotation="x">q</span>',
        '<span style="color: #ff2020">red</span>',
        "<u>under</u>",
        "x<sub>2</sub>",
    ):
        assert has_rich_content(f'<div data-pllm-sync="notes">{rich}</div>'), rich
    # Zotero 7's note editor wraps every note it saves in this: plain text is not rich
    saved = '<div data-schema-version="9"><h1>pllm-sync notes</h1>\n<p>Line one.</p>\n</div>'
    assert not has_rich_content(saved)
    assert has_rich_content(saved.replace("<p>Line", '<p><img data-attachment-key="K">Line'))


def test_any_status_and_rating_tag_reads_back_as_such() -> None:
    item = {
        "key": "AAAAAAAA",
        "version": 1,
        "itemType": "preprint",
        "title": "T",
        "tags": [{"tag": "status/to-read"}, {"tag": "rating/8"}],
        "extra": "",
    }
    rec = item_to_record(item, [], {})
    assert (rec["status"], rec["rating"]) == ("to-read", 8)
    assert not rec["tags"]
