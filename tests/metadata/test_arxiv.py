"""The arXiv client against recorded feeds: both layouts, dropped ids, the error feed."""

from __future__ import annotations

import pytest

from pllm_sync.metadata.arxiv import ArxivClient, FeedError, parse_feed
from pllm_sync.metadata.http import BadResponse, PoliteClient

from .server import MetaServer, all_recorded_entries, recorded


def _client(
    meta: MetaServer, *, interval: float = 0.0, sleeps: list[float] | None = None
) -> ArxivClient:
    clock = [0.0]

    def sleep(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)
        clock[0] += s

    http = PoliteClient(
        "arXiv", min_interval=interval, sleep=sleep, clock=lambda: clock[0], backoff=0.01
    )
    return ArxivClient(f"{meta.base_url}/arxiv/query", http)


def test_new_layout_entry_fields() -> None:
    [e] = parse_feed(recorded("arxiv/new-format_idlist_1706.03762_latest-is-v7.xml"))
    assert e.arxiv_id == "1706.03762" and e.version == 7
    assert e.title == "Attention Is All You Need"
    assert e.authors[0] == "Ashish Vaswani" and len(e.authors) == 8
    assert e.published == "2017-06-12" and e.updated == "2023-08-02"
    assert e.primary_category == "cs.CL" and "cs.LG" in e.categories
    assert e.abstract.startswith("The dominant sequence transduction models")


def test_old_layout_hard_wrapped_text_is_one_line() -> None:
    entries = parse_feed(recorded("arxiv/old-format_idlist_two-ids_2012.xml"))
    assert [e.arxiv_id for e in entries] == ["1205.1001", "1001.1001"]
    for e in entries:
        assert "\n" not in e.title and "  " not in e.abstract
        assert e.authors and e.published[:4].isdigit()


def test_old_style_ids_journal_ref_and_doi() -> None:
    [e] = parse_feed(recorded("arxiv/new-format_idlist_old-style-id_journal-ref_affiliations.xml"))
    assert e.arxiv_id == "astro-ph/0601001" and e.journal_ref
    assert not e.abstract.startswith(" ")
    old = parse_feed(recorded("arxiv/old-format_search_all-science_max10_doi-journalref_2019.xml"))
    assert any(x.doi for x in old) and any("/" in x.arxiv_id for x in old)


def test_title_zero_is_kept() -> None:
    [e] = parse_feed(recorded("arxiv/new-format_idlist_versioned-v1_title-zero.xml"))
    assert e.title == "0" and e.version == 1


def test_error_feed_names_the_bad_id() -> None:
    with pytest.raises(FeedError) as exc:
        parse_feed(recorded("arxiv/new-format_idlist_malformed-id_abc_http400-error-feed.xml"))
    assert exc.value.bad_id == "abc" and "incorrect id format" in str(exc.value)


@pytest.mark.parametrize(
    "body", [b"<feed><entry>", b"not xml at all", b"<html><body>Service down</body></html>", b""]
)
def test_malformed_feeds_are_bad_responses(body: bytes) -> None:
    with pytest.raises(BadResponse):
        parse_feed(body)


def test_unknown_ids_are_matched_back_by_id(meta: MetaServer) -> None:
    meta.arxiv_entries = all_recorded_entries()
    got = _client(meta).fetch_batch(["0808.05394", "1707.08567", "0000.0000"])
    assert got["0808.05394"] is None and got["0000.0000"] is None
    found = got["1707.08567"]
    assert found is not None and found.title.startswith("Proceedings of Workshop AEW10")


def test_a_malformed_id_is_dropped_and_the_rest_asked_again(meta: MetaServer) -> None:
    meta.arxiv_entries = all_recorded_entries()
    client = _client(meta)
    client_ids = ["1706.03762", "1605.08386"]
    # a bad id that passes our own check reaches arXiv: it answers with the error feed
    meta.queued["/arxiv/query"] = [
        (
            400,
            recorded("arxiv/new-format_idlist_malformed-id_abc_http400-error-feed.xml").replace(
                b"abc", b"1605.08386"
            ),
            {},
        )
    ]
    got = client.fetch_batch(client_ids)
    assert got["1605.08386"] is None
    assert got["1706.03762"] is not None
    assert meta.requests("/arxiv") == 2


def test_ids_that_are_not_arxiv_ids_are_never_sent(meta: MetaServer) -> None:
    got = _client(meta).fetch_batch(["abc"])
    assert got == {"abc": None} and meta.requests() == 0


def test_batches_of_100_spaced_three_seconds(meta: MetaServer) -> None:
    meta.arxiv_entries = all_recorded_entries()
    ids = [f"2401.{n:05d}" for n in range(250)]
    sleeps: list[float] = []
    client = _client(meta, interval=3.0, sleeps=sleeps)
    for start in range(0, len(ids), client.batch):
        client.fetch_batch(ids[start : start + client.batch])
    assert meta.requests("/arxiv") == 3
    first = meta.log[0][1]
    assert "max_results=100" in first and first.count(",") == 99
    assert len(sleeps) == 2 and all(s >= 3.0 - 1e-6 for s in sleeps)
