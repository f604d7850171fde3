"""The pure merge of answers into a paper (table tests)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pllm_sync.catalog.venues import parse_venue
from pllm_sync.metadata.arxiv import ArxivEntry, parse_feed
from pllm_sync.metadata.enrich import enrich_paper, published_venue, title_similarity
from pllm_sync.metadata.scholar import ScholarPaper, parse_paper
from pllm_sync.model import Paper, PaperIds, SourceRef, VenueKind

from .server import recorded, recorded_json

[ATTENTION] = parse_feed(recorded("arxiv/new-format_idlist_1706.03762_latest-is-v7.xml"))
_JOURNAL = parse_paper(
    recorded_json("semanticscholar/paper_DOI-lookup_journal-article-with-arxiv-id_s42256.json")
)
_PREPRINT = parse_paper(
    recorded_json("semanticscholar/paper_DOI-lookup_arxiv-preprint_2312.07559.json")
)
assert _JOURNAL is not None and _PREPRINT is not None
JOURNAL: ScholarPaper = _JOURNAL
PREPRINT: ScholarPaper = _PREPRINT


def _paper(**kw: object) -> Paper:
    base: dict[str, Any] = {
        "id": "arxiv:1706.03762",
        "title": "Attention Is All You Need",
        "ids": PaperIds(arxiv="1706.03762"),
        "sources": (SourceRef("jiahongliu21", 42),),
    }
    base.update(kw)
    return Paper(**base)


def test_arxiv_fills_authors_abstract_date_categories_pdf() -> None:
    p, warns = enrich_paper(_paper(), ATTENTION, None)
    assert not warns
    assert p.authors[:2] == ("Ashish Vaswani", "Noam Shazeer")
    assert p.abstract and p.abstract.startswith("The dominant sequence")
    assert p.date == "2017-06-12" and p.year == 2017
    assert p.categories[:2] == ("cs.CL", "cs.LG")
    assert p.pdf_url == "https://arxiv.org/pdf/1706.03762"
    assert p.id == "arxiv:1706.03762"  # identity never changes


def test_what_the_list_says_wins() -> None:
    listed = _paper(authors=("A. Vaswani et al.",), year=2018, abstract="Our own summary.")
    p, _ = enrich_paper(listed, ATTENTION, None)
    assert p.authors == ("A. Vaswani et al.",) and p.year == 2018
    assert p.abstract == "Our own summary." and p.date == "2018"


def test_badly_disagreeing_title_warns_with_the_line_and_changes_nothing() -> None:
    wrong = _paper(title="Personalized Retrieval for Dialogue Agents")
    p, warns = enrich_paper(wrong, ATTENTION, None)
    assert p == wrong
    assert len(warns) == 1 and warns[0].startswith("jiahongliu21:42:")
    assert "Attention Is All You Need" in warns[0]


@pytest.mark.parametrize(
    ("a", "b", "at_least"),
    [
        ("LaMP", "LaMP: When Large Language Models Meet Personalization", 1.0),
        ("Attention is all you need.", "Attention Is All You Need", 1.0),
        ("Personalized dialogue", "Attention Is All You Need", 0.0),
    ],
)
def test_title_similarity(a: str, b: str, at_least: float) -> None:
    assert title_similarity(a, b) >= at_least
    if at_least == 0.0:
        assert title_similarity(a, b) < 0.5


def test_preprint_listed_paper_is_upgraded_to_its_journal_version() -> None:
    listed = _paper(
        id="arxiv:2304.05376",
        title="Augmenting large language models with chemistry tools",
        ids=PaperIds(arxiv="2304.05376"),
        venue=parse_venue("arXiv 2023"),
    )
    p, _ = enrich_paper(listed, None, JOURNAL)
    assert p.venue is not None and p.venue.kind is VenueKind.JOURNAL
    assert p.venue.name == "Nature Machine Intelligence"
    assert p.ids.doi == "10.1038/s42256-024-00832-8" and p.ids.arxiv == "2304.05376"


def test_a_conference_the_list_names_is_never_replaced() -> None:
    listed = _paper(venue=parse_venue("NeurIPS 2017"))
    p, _ = enrich_paper(listed, None, replace(JOURNAL, title=listed.title))
    assert p.venue is not None and p.venue.name == "NeurIPS"


def test_arxiv_only_answer_adds_no_venue_and_no_doi() -> None:
    listed = _paper(
        id="arxiv:2312.07559",
        title=PREPRINT.title,
        ids=PaperIds(arxiv="2312.07559"),
    )
    p, _ = enrich_paper(listed, None, PREPRINT)
    assert p.venue is None and p.ids.doi is None and p.authors


def test_known_short_venue_names_are_used() -> None:
    s = ScholarPaper(
        paper_id="x",
        title="t",
        year=2023,
        venue="Neural Information Processing Systems",
        venue_names=("Neural Information Processing Systems", "NeurIPS", "NIPS"),
        venue_kind="conference",
    )
    v = published_venue(s)
    assert v is not None and v.label() == "NeurIPS 2023" and v.kind is VenueKind.CONFERENCE


def test_no_answers_no_change() -> None:
    p = _paper()
    assert enrich_paper(p, None, None) == (p, [])


def test_arxiv_doi_of_a_published_paper_is_used_but_not_arxivs_own() -> None:
    e = ArxivEntry(
        arxiv_id="1706.03762",
        version=1,
        title="Attention Is All You Need",
        abstract="x",
        authors=("A",),
        published="2017-06-12",
        updated="2017-06-12",
        doi="10.48550/arXiv.1706.03762",
    )
    assert enrich_paper(_paper(), e, None)[0].ids.doi is None
    e2 = ArxivEntry(**{**e.__dict__, "doi": "10.1000/ABC"})
    assert enrich_paper(_paper(), e2, None)[0].ids.doi == "10.1000/abc"


def test_templater_code_from_a_service_is_made_inert() -> None:
    evil = replace(
        ATTENTION,
        authors=("<% tp.system.exec('rm -rf ~') %>",),
        abstract="Nice <%* await tp.file.delete() %> abstract",
    )
    p, _ = enrich_paper(_paper(), evil, None)
    assert "<%" not in p.authors[0] and "%>" not in p.authors[0]
    assert p.abstract is not None and "<%" not in p.abstract
