"""Big write batches are encoded with orjson instead of httpx2's ``json=``: the bytes on the
wire must be exactly the same (the server, the write token's retries and the tests that read
bodies all see one body), whatever the text holds: other scripts, emoji, quotes, backslashes,
control characters, line separators."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pllm_sync.zotero.batch import FAST_JSON_OBJECTS

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(st.characters(codec="utf-8")),  # no lone surrogates: they are not UTF-8 at all
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def httpx2_body(objs: Any) -> bytes:
    return httpx2.Request("POST", "http://127.0.0.1/users/1/items", json=objs).content


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=10), VALUES, max_size=6), max_size=12))
def test_orjson_bodies_are_the_bytes_httpx2_would_send(objs: list[dict[str, Any]]) -> None:
    assert orjson.dumps(objs) == httpx2_body(objs)


def test_a_real_batch_is_encoded_alike() -> None:
    item = {
        "key": "ABCD2345",
        "version": 0,
        "itemType": "conferencePaper",
        "title": 'Ünïcode "quoted" \\ back\tslash\u2028line 🐶 \x7f',
        "creators": [{"creatorType": "author", "firstName": "Zoë", "lastName": "Ng"}],
        "tags": [{"tag": "pllm/venue/NeurIPS", "type": 1}],
        "collections": ["QWERTY23"],
        "relations": {},
        "extra": "pllm-sync-id: arxiv:2401.00001\npllm-code: https://github.com/x/y",
        "deleted": 0,
    }
    objs = [dict(item, key=f"ABCD{i:04d}") for i in range(FAST_JSON_OBJECTS * 5)]
    assert orjson.dumps(objs) == httpx2_body(objs)
