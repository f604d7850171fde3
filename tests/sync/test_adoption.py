"""``adopted_sides``: what the state records for an adopted item, so that the next run's
three-way merge fills each side from the other (the e2e story is tests/e2e/test_adoption.py)."""

from __future__ import annotations

from typing import Any

import pytest

from pllm_sync.record import Record, complete_record
from pllm_sync.sync.adoption import adopted_sides
from pllm_sync.sync.merge import merge_paper

NOTE: Record = complete_record(
    {
        "title": "Community Preferences",
        "venue": "EMNLP 2024",
        "year": 2024,
        "arxiv": "2410.16027",
        "tags": frozenset({"listed"}),
        "sections": frozenset({"adopt/alignment"}),
        "code": "https://github.com/example/compo",
    }
)


def item(**fields: Any) -> dict[str, Any]:
    return {
        "key": "ABCD2345",
        "version": 7,
        "itemType": "preprint",
        "archiveID": "arXiv:2410.16027",
        "title": "Community Preferences",
        "creators": [],
        "tags": [],
        "collections": ["COLL2345"],
        "extra": "pllm-sync-id: arxiv:2410.16027",
        **fields,
    }


@pytest.mark.parametrize(
    ("data", "to_note", "to_item"),
    [
        # the user's authors and abstract reach the note; the list's venue reaches the item
        (
            item(
                creators=[{"creatorType": "author", "firstName": "Sachin", "lastName": "Kumar"}],
                abstractNote="Real abstract.",
            ),
            {"authors": ("Sachin Kumar",), "abstract": "Real abstract."},
            {"venue": "EMNLP 2024", "year": 2024, "tags": frozenset({"listed"})},
        ),
        # the item's own title wins over the list's spelling, in the note too
        (
            item(title="Community preferences (COMPO)", date="2024"),
            {"title": "Community preferences (COMPO)"},
            {"venue": "EMNLP 2024", "tags": frozenset({"listed"})},
        ),
        # tags: a union, each side gets the other's
        (
            item(tags=[{"tag": "my-own"}, {"tag": "listed"}], date="2024"),
            {"tags": frozenset({"my-own", "listed"})},
            {"venue": "EMNLP 2024"},
        ),
        # a reading status set in Zotero (a status/ tag) reaches the note
        (
            item(tags=[{"tag": "status/read"}], date="2024"),
            {"status": "read"},
            {"venue": "EMNLP 2024", "tags": frozenset({"listed"})},
        ),
    ],
)
def test_the_next_merge_fills_each_side_from_the_other(
    data: dict[str, Any], to_note: Record, to_item: Record
) -> None:
    held, base = adopted_sides(NOTE, data)
    # what the run wrote to the item is recorded as written
    assert held["sections"] == NOTE["sections"] and held["code"] == NOTE["code"]
    res = merge_paper(base=base, catalog=None, catalog_base=None, zotero=held, vault=NOTE)
    assert not res.conflicts
    assert {k: v for k, v in res.to_vault.items()} == to_note
    assert {k: v for k, v in res.to_zotero.items()} == to_item


def test_an_item_holding_exactly_the_note_changes_nothing() -> None:
    data = item(date="2024", extra="pllm-sync-id: arxiv:2410.16027\npllm-venue: EMNLP 2024")
    held, base = adopted_sides(NOTE, data)
    res = merge_paper(base=base, catalog=None, catalog_base=None, zotero=held, vault=NOTE)
    assert not res.to_vault and not res.conflicts
