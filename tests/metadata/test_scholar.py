"""The Semantic Scholar client against recorded answers: nulls, preprints vs published
versions, title matches, malformed and refused answers."""

from __future__ import annotations

import pytest

from pllm_sync.metadata.http import BadResponse, PoliteClient
from pllm_sync.metadata.scholar import ScholarClient, ScholarPaper, parse_paper

from .server import MetaServer, recorded, recorded_json

JOURNAL = "semanticscholar/paper_DOI-lookup_journal-article-with-arxiv-id_s42256.json"
PREPRINT = "semanticscholar/paper_DOI-lookup_arxiv-preprint_2312.07559.json"


def _client(meta: MetaServer) -> ScholarClient:
    return ScholarClient(f"{meta.base_url}/s2", PoliteClient("S2", sleep=lambda s: None))


def test_journal_version_of_an_arxiv_paper() -> None:
    p = parse_paper(recorded_json(JOURNAL))
    assert p is not None and p.published
    assert p.venue == "Nature Machine Intelligence" and p.venue_kind == "journal"
    assert p.doi == "10.1038/s42256-024-00832-8" and p.arxiv == "2304.05376"
    assert p.authors[0] == "Andrés M Bran" and p.date == "2023-04-11"


def test_arxiv_only_paper_is_not_published_and_has_no_doi_of_its_own() -> None:
    p = parse_paper(recorded_json(PREPRINT))
    assert p is not None and not p.published
    assert p.venue is None and p.doi is None and p.arxiv == "2312.07559"


def test_batch_answer_keeps_request_order_and_nulls(meta: MetaServer) -> None:
    body = recorded_json(
        "semanticscholar/paper-batch_full-fields_first-id-unknown-returns-null.json"
    )
    ids = ["CorpusId:211530585", "CorpusId:470667", "DOI:10.2139/ssrn.2250500", "x"]
    meta.s2 = dict(zip(ids, body, strict=True))
    got = _client(meta).fetch_batch(ids)
    assert got["CorpusId:211530585"] is None
    second = got["CorpusId:470667"]
    assert second is not None and second.title.startswith("How Much Should We Trust")
    third = got["x"]
    assert third is not None and third.date is None and third.venue_kind is None


def test_authors_only_batch_tolerates_missing_fields(meta: MetaServer) -> None:
    body = recorded_json("semanticscholar/paper-batch_authors-only.json")
    ids = ["a", "b", "c"]
    meta.s2 = dict(zip(ids, body, strict=True))
    got = _client(meta).fetch_batch(ids)
    assert all(p is not None and p.authors and p.title == "" for p in got.values())


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"data": []}', b"[null]", b"<html>502 Bad Gateway</html>", b'["x", 3]'],
)
def test_malformed_batch_answers_are_bad_responses(meta: MetaServer, body: bytes) -> None:
    meta.queued["/s2/paper/batch"] = [(200, body, {})]
    with pytest.raises(BadResponse):
        _client(meta).fetch_batch(["ARXIV:1706.03762", "ARXIV:1605.08386"])


def test_title_match_found_and_not_found(meta: MetaServer) -> None:
    hit = recorded_json("semanticscholar/paper-search-match_title_found.json")
    meta.queued["/s2/paper/search/match"] = [
        (200, recorded("semanticscholar/paper-search-match_title_found.json"), {})
    ]
    found = _client(meta).match_title("Augmenting large language models with chemistry tools")
    assert isinstance(found, ScholarPaper) and found.title == hit["data"][0]["title"]
    assert _client(meta).match_title("askldjrq3rjaw938h") is None


def test_error_400_is_reported_with_the_service_message(meta: MetaServer) -> None:
    meta.queued["/s2/paper/batch"] = [
        (400, recorded("semanticscholar/error_400_unrecognized-fields.json"), {})
    ]
    with pytest.raises(BadResponse, match="Unrecognized or unsupported fields"):
        _client(meta).fetch_batch(["ARXIV:1706.03762"])
