"""Zotero mapping of enriched papers: abstract, citekey, full date, categories, the upgrade."""

from __future__ import annotations

from typing import Any

from pllm_sync.model import Paper, PaperIds, Venue, VenueKind
from pllm_sync.zotero.mapping import build_item, item_to_record, record_to_item_changes

NEURIPS = Venue(raw="NeurIPS 2023", name="NeurIPS", year=2023, kind=VenueKind.CONFERENCE)


def _paper(**kw: Any) -> Paper:
    base: dict[str, Any] = {
        "id": "arxiv:2305.00001",
        "title": "A Paper",
        "ids": PaperIds(arxiv="2305.00001"),
        "year": 2023,
        "date": "2023-05-02",
        "abstract": "An abstract.",
        "citekey": "doeaPaper2023",
        "categories": ("cs.CL",),
        "authors": ("Jane Doe",),
    }
    base.update(kw)
    return Paper(**base)


def _preprint() -> dict[str, Any]:
    return {
        "key": "AAAAAAAA",
        "version": 3,
        "itemType": "preprint",
        "title": "A Paper",
        "repository": "arXiv",
        "archiveID": "arXiv:2305.00001",
        "date": "2023",
        "extra": "pllm-sync-id: arxiv:2305.00001\npllm-venue: arXiv 2023",
        "tags": [],
        "creators": [],
    }


def test_new_item_carries_abstract_citekey_full_date_and_category_tags() -> None:
    p = _paper()
    record = {
        "title": p.title,
        "year": 2023,
        "abstract": p.abstract,
        "citekey": p.citekey,
        "arxiv": "2305.00001",
        "authors": p.authors,
    }
    item = build_item(p, record, key="BBBBBBBB")
    assert item["abstractNote"] == "An abstract." and item["citationKey"] == "doeaPaper2023"
    assert item["date"] == "2023-05-02"
    assert {"tag": "pllm/arxiv/cs.CL", "type": 1} in item["tags"]
    back = item_to_record(item, [], {})
    assert back["abstract"] == "An abstract." and back["citekey"] == "doeaPaper2023"
    assert back["year"] == 2023


def test_preprint_upgraded_to_conference_paper_in_one_patch() -> None:
    p = _paper(venue=NEURIPS)
    patch = record_to_item_changes({"venue": "NeurIPS 2023"}, _preprint(), paper=p)
    assert patch["key"] == "AAAAAAAA" and patch["version"] == 3
    assert patch["itemType"] == "conferencePaper"
    assert patch["conferenceName"] == "NeurIPS 2023" and patch["proceedingsTitle"] == "NeurIPS 2023"
    assert "archiveID" not in patch and patch["publisher"] == ""
    assert "pllm-arxiv: 2305.00001" in patch["extra"]


def test_a_venue_the_user_typed_never_changes_the_type() -> None:
    p = _paper(venue=NEURIPS)
    patch = record_to_item_changes({"venue": "ICML 2024"}, _preprint(), paper=p)
    assert "itemType" not in patch


def test_a_published_item_is_never_downgraded() -> None:
    item = {**_preprint(), "itemType": "journalArticle"}
    del item["repository"], item["archiveID"]
    p = _paper(venue=Venue(raw="arXiv 2023", name="arXiv", year=2023, kind=VenueKind.PREPRINT))
    patch = record_to_item_changes({"venue": "arXiv 2023"}, item, paper=p)
    assert "itemType" not in patch
