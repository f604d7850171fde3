"""What pllm-sync sends must be what Zotero stores, or every sync sees a change and writes
again. Each hostile string goes through the real server rules (the emulator, over HTTP, via
pyzotero) and through the client's own normalisation; the two must agree."""

from __future__ import annotations

import pytest
from pyzotero import zotero

from pllm_sync.zotero.mapping import _merge_creators
from pllm_sync.zotero.server_text import clean_text, creator_text, tag_text

HOSTILE = [
    "plain",
    "  padded  ",
    "tab\there",
    "line\nbreak",
    "nul\x00inside",
    "esc\x1b[31mred",
    "del\x7f",
    "cr\r\nlf",
    "\ufeffbom",
    "\u200bzero width\u200b",
    "\u00a0nbsp\u00a0",
    "\ufeff",
    " \x01 ",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_title_tag_and_creator_as_the_server_stores_them(
    zotero_client: zotero.Zotero, text: str
) -> None:
    resp = zotero_client.create_items(
        [
            {
                "itemType": "book",
                "title": text,
                "creators": [
                    {"creatorType": "author", "name": text},
                    {"creatorType": "author", "name": "Z"},
                ]
                if tag_text(text)
                else [],
                "tags": [{"tag": text}],
            }
        ]
    )
    assert not resp["failed"], resp["failed"]
    data = resp["successful"]["0"]["data"]
    assert data["title"] == clean_text(text)
    expected_tags = [{"tag": tag_text(text)}] if tag_text(text) else []
    assert data["tags"] == expected_tags
    if tag_text(text):
        names = [c["name"] for c in data["creators"]]
        # A name the server trims to nothing drops it and every creator after it.
        assert names == ([creator_text(text), "Z"] if creator_text(text) else [])


def test_authors_the_server_would_drop_are_not_sent() -> None:
    """A blank author in the middle must not cost the authors after it."""
    creators = _merge_creators([], ["Ada Lovelace", "\ufeff", "Grace\x02 Hopper", " \x01 "])
    assert creators == [
        {"creatorType": "author", "firstName": "Ada", "lastName": "Lovelace"},
        {"creatorType": "author", "firstName": "Grace", "lastName": "Hopper"},
    ]


@pytest.mark.parametrize(
    "text", ["", "plain title", "tab\tand\nline", "bell\x07", "del\x7f", "\u2028 sep", "é\x00"]
)
def test_clean_text_fast_path_is_the_translation(text: str) -> None:
    """A printable string is returned as it is: the same as removing the controls."""
    from pllm_sync.zotero.server_text import _CONTROL

    assert clean_text(text) == text.translate(_CONTROL)


def test_clean_text_fast_path_on_every_code_point() -> None:
    import sys

    from pllm_sync.zotero.server_text import _CONTROL

    for cp in range(sys.maxunicode + 1):
        c = f"a{chr(cp)}b"
        assert clean_text(c) == c.translate(_CONTROL), hex(cp)
