"""Paper/Record <-> Zotero item JSON, without HTTP: shapes Zotero itself would make, and the
canonical Record read back exactly (so an untouched item never looks edited)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pllm_sync.model import Link, Paper, PaperIds, Venue, VenueKind, paper_id_for
from pllm_sync.record import STATUSES, normalize_record, record_from_paper
from pllm_sync.zotero.mapping import (
    build_item,
    child_changes,
    item_match_keys,
    item_pllm_id,
    item_to_record,
    new_key,
    paper_match_keys,
    record_to_item_changes,
    set_extra,
)
from pllm_sync.zotero.notes_html import note_html
from pllm_sync.zotero.schema import ZOTERO7_MISSING_FIELDS, item_types, validate_item

from .support import real_catalog, synthetic_catalog

KEY = "ABCD2345"


def _item(paper: Paper, collections: tuple[str, ...] = ()) -> dict[str, Any]:
    return build_item(paper, record_from_paper(paper), key=KEY, collection_keys=collections)


def _check_shape(item: dict[str, Any]) -> None:
    assert validate_item(item) == []
    fields = item_types()[item["itemType"]].fields
    assert not (set(item) & ZOTERO7_MISSING_FIELDS.get(item["itemType"], frozenset()))
    assert {k for k in item if k in fields} <= fields


def test_arxiv_preprint_looks_like_zoteros_own() -> None:
    p = Paper(
        id="arxiv:1810.04805",
        title="BERT: Pre-training of Deep Bidirectional Transformers",
        method="BERT",
        venue=Venue(raw="arXiv'18", name="arXiv", year=2018, kind=VenueKind.PREPRINT),
        year=2018,
        url="https://arxiv.org/pdf/1810.04805v2",
        code_url="https://github.com/google-research/bert",
        ids=PaperIds(arxiv="1810.04805"),
        authors=("Jacob Devlin", "Ming-Wei Chang"),
    )
    item = _item(p)
    _check_shape(item)
    assert item["itemType"] == "preprint"
    assert item["repository"] == "arXiv"
    assert item["archiveID"] == "arXiv:1810.04805"
    assert item["DOI"] == "10.48550/arXiv.1810.04805"
    assert item["url"] == "https://arxiv.org/abs/1810.04805"
    assert item["libraryCatalog"] == "arXiv.org"
    assert item["shortTitle"] == "BERT"
    assert item["date"] == "2018"
    assert item["creators"][0] == {
        "creatorType": "author",
        "firstName": "Jacob",
        "lastName": "Devlin",
    }
    assert {"tag": "pllm/method/BERT", "type": 1} in item["tags"]
    assert {"tag": "pllm/venue/arXiv 2018", "type": 1} in item["tags"]
    extra = item["extra"].splitlines()
    assert extra[0] == "pllm-sync-id: arxiv:1810.04805"
    assert "pllm-url: https://arxiv.org/pdf/1810.04805v2" in extra
    assert "pllm-code: https://github.com/google-research/bert" in extra
    rec = item_to_record(item, [], {})
    assert rec["doi"] is None  # the arXiv DOI is derived, not the paper's own
    assert rec["url"] == p.url and rec["arxiv"] == "1810.04805"


def test_openreview_acl_and_journal_papers() -> None:
    orv = Paper(
        id="openreview:abc123",
        title="A Paper",
        venue=Venue(raw="ICLR'25", name="ICLR", year=2025, kind=VenueKind.CONFERENCE),
        year=2025,
        url="https://openreview.net/pdf?id=abc123",
        ids=PaperIds(openreview="abc123"),
    )
    item = _item(orv)
    _check_shape(item)
    assert item["itemType"] == "conferencePaper"
    assert item["url"] == "https://openreview.net/forum?id=abc123"
    assert item["libraryCatalog"] == "openreview.net"
    assert item["conferenceName"] == item["proceedingsTitle"] == "ICLR 2025"

    acl = Paper(
        id="acl:2024.acl-long.1",
        title="An ACL Paper",
        venue=Venue(raw="ACL'24", name="ACL", year=2024, kind=VenueKind.CONFERENCE),
        url="https://aclanthology.org/2024.acl-long.1.pdf",
        ids=PaperIds(acl="2024.acl-long.1", doi="10.18653/v1/2024.acl-long.1"),
    )
    item = _item(acl)
    _check_shape(item)
    assert item["url"] == "https://aclanthology.org/2024.acl-long.1/"
    assert item["libraryCatalog"] == "ACLWeb"
    assert item["publisher"] == "Association for Computational Linguistics"
    assert item["DOI"] == "10.18653/v1/2024.acl-long.1"

    journal = Paper(
        id="doi:10.1145/3626772",
        title="A Journal Paper",
        venue=Venue(raw="TOIS", name="TOIS", kind=VenueKind.JOURNAL),
        ids=PaperIds(doi="10.1145/3626772", arxiv="2401.00001"),
    )
    item = _item(journal)
    _check_shape(item)
    assert item["itemType"] == "journalArticle"
    assert item["publicationTitle"] == "TOIS"
    assert item["DOI"] == "10.1145/3626772"
    assert "pllm-arxiv: 2401.00001" in item["extra"]


@pytest.mark.parametrize("which", ["real", "synthetic"])
def test_every_catalog_paper_round_trips_exactly(which: str) -> None:
    catalog = real_catalog() if which == "real" else synthetic_catalog()
    for p in catalog.papers:
        item = _item(p)
        _check_shape(item)
        assert item_pllm_id(item) == p.id
        got = item_to_record(item, [], {})
        want = record_from_paper(p)
        assert {k: got[k] for k in want if k != "sections"} == {
            k: v for k, v in want.items() if k != "sections"
        }, p.id
        assert got["tags"] == frozenset() and got["notes"] == "" and got["status"] is None


_text = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs", "P"), exclude_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip())
_name = st.from_regex(r"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8}){0,2}", fullmatch=True)
_tag = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)


@st.composite
def papers(draw: st.DrawFn) -> Paper:
    kind = draw(st.sampled_from(list(VenueKind)))
    arxiv = draw(st.none() | st.from_regex(r"2[0-4][01][0-9]\.[0-9]{5}", fullmatch=True))
    doi = draw(st.none() | st.from_regex(r"10\.[0-9]{4}/[a-z0-9.]{3,10}", fullmatch=True))
    title = draw(_text)
    venue = (
        None
        if kind is VenueKind.UNKNOWN
        else Venue(
            raw=draw(_text),
            name=draw(_text),
            year=draw(st.none() | st.integers(1990, 2030)),
            kind=kind,
        )
    )
    url = draw(
        st.none()
        | st.just(f"https://arxiv.org/pdf/{arxiv}v1" if arxiv else "https://example.org/p")
        | st.from_regex(r"https://example\.org/[a-z]{1,8}", fullmatch=True)
    )
    ids = PaperIds(arxiv=arxiv, doi=doi)
    return Paper(
        id=paper_id_for(ids, title),
        title=title,
        method=draw(st.none() | _text),
        venue=venue,
        year=draw(st.none() | st.integers(1990, 2030)),
        url=url,
        code_url=draw(st.none() | st.just("https://github.com/x/y")),
        links=tuple(
            draw(
                st.lists(
                    st.builds(
                        Link, st.sampled_from(["dataset", "home"]), st.just("https://hf.co/d")
                    ),
                    max_size=2,
                )
            )
        ),
        ids=ids,
        authors=tuple(draw(st.lists(_name, max_size=4))),
    )


_user_fields = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.frozensets(_tag, max_size=4),
        "status": st.none() | st.sampled_from(STATUSES),
        "rating": st.none() | st.integers(1, 5),
        "catalog": st.sampled_from(["listed", "removed"]),
        "title": _text,
        "method": st.none() | _text,
        "venue": st.none() | _text,
        "year": st.none() | st.integers(1990, 2030),
        "doi": st.none() | st.from_regex(r"10\.[0-9]{4}/[a-z0-9]{3,8}", fullmatch=True),
        "authors": st.lists(_name, max_size=3).map(tuple),
        "url": st.none() | st.from_regex(r"https://example\.org/[a-z]{1,8}", fullmatch=True),
        "code": st.none() | st.just("https://github.com/a/b"),
    },
)


@given(papers(), _user_fields)
def test_changes_applied_to_an_item_read_back_as_the_changed_record(
    paper: Paper, changes: dict[str, Any]
) -> None:
    changes = normalize_record(changes)  # records are always canonical
    item = _item(paper)
    _check_shape(item)
    before = item_to_record(item, [], {})
    patch = record_to_item_changes(changes, item)
    applied = {**item, **{k: v for k, v in patch.items() if k not in ("key", "version")}}
    assert validate_item(applied) == []
    kids = [
        {**c, "dateAdded": "2024-01-01T00:00:00Z"}
        for c in child_changes(changes, KEY, [], make_key=new_key)
        if c.get("version") == 0
    ]
    after = item_to_record(applied, kids, {})
    assert after == {**before, **{k: v for k, v in after.items() if k in changes}}
    for k, v in changes.items():
        if k == "code" and v is None:
            continue
        assert after[k] == v, k
    # applying the same change again is a no-op
    assert record_to_item_changes(changes, applied) == {}


def test_tags_keep_their_original_spelling_and_types() -> None:
    item = {
        "key": KEY,
        "version": 5,
        "itemType": "preprint",
        "title": "T",
        "tags": [
            {"tag": "machine learning"},
            {"tag": "#NLP"},
            {"tag": "Computer Science - Computation and Language", "type": 1},
            {"tag": "status/reading"},
            {"tag": "rating/4"},
            {"tag": "pllm/method/X", "type": 1},
        ],
    }
    rec = item_to_record(item, [], {})
    assert rec["tags"] == {"machine-learning", "NLP", "Computer-Science-Computation-and-Language"}
    assert rec["status"] == "reading" and rec["rating"] == 4
    # the vault removed "machine-learning", added "deep-learning", finished reading
    patch = record_to_item_changes(
        {"tags": (rec["tags"] - {"machine-learning"}) | {"deep-learning"}, "status": "read"}, item
    )
    tags = patch["tags"]
    assert {"tag": "machine learning"} not in tags
    assert {"tag": "#NLP"} in tags  # kept in its own spelling
    assert {"tag": "Computer Science - Computation and Language", "type": 1} in tags
    assert {"tag": "deep-learning"} in tags
    assert {"tag": "status/read"} in tags and {"tag": "status/reading"} not in tags
    assert {"tag": "rating/4"} in tags and {"tag": "pllm/method/X", "type": 1} in tags
    assert patch["version"] == 5 and patch["key"] == KEY


def test_collections_outside_our_tree_are_kept() -> None:
    paths = {"COLLAAAA": ("L", "A"), "COLLBBBB": ("L", "B")}
    item = {
        "key": KEY,
        "version": 1,
        "itemType": "preprint",
        "collections": ["COLLAAAA", "MINE2222"],
    }
    assert item_to_record(item, [], paths)["sections"] == {"L / A"}
    patch = record_to_item_changes({"sections": frozenset({"L / B"})}, item, collection_paths=paths)
    assert set(patch["collections"]) == {"MINE2222", "COLLBBBB"}
    assert record_to_item_changes({"sections": {"L / A"}}, item, collection_paths=paths) == {}


def test_extra_keeps_the_users_lines() -> None:
    extra = "Citation Key: devlin2018\npllm-sync-id: old\nmy own note: keep me\ntex.x: y"
    out = set_extra(extra, {"pllm-sync-id": ["arxiv:1"], "pllm-method": ["M"]})
    assert out.splitlines() == [
        "Citation Key: devlin2018",
        "pllm-sync-id: arxiv:1",
        "pllm-method: M",
        "my own note: keep me",
        "tex.x: y",
    ]
    assert set_extra(out, {"pllm-method": []}).count("pllm-method") == 0


def test_notes_and_code_children() -> None:
    note = {
        "key": "NOTE2222",
        "version": 3,
        "itemType": "note",
        "parentItem": KEY,
        "note": note_html("old *notes*"),
    }
    other = {
        "key": "NOTE3333",
        "version": 3,
        "itemType": "note",
        "parentItem": KEY,
        "note": "<p>Comment: 13 pages</p>",
    }
    code = {
        "key": "CODE2222",
        "version": 4,
        "itemType": "attachment",
        "parentItem": KEY,
        "linkMode": "linked_url",
        "title": "Code",
        "url": "https://github.com/a/b",
    }
    item = {"key": KEY, "version": 1, "itemType": "preprint", "title": "T"}
    rec = item_to_record(item, [other, note, code], {})
    assert rec["notes"] == "old *notes*" and rec["code"] == "https://github.com/a/b"
    assert child_changes({"notes": "old _notes_"}, KEY, [note], make_key=new_key) == []
    upd = child_changes({"notes": "new", "code": None}, KEY, [note, code], make_key=new_key)
    assert upd == [
        {"key": "CODE2222", "version": 4, "deleted": 1},
        {"key": "NOTE2222", "version": 3, "note": note_html("new")},
    ]
    # a trashed note is not the live note
    assert item_to_record(item, [{**note, "deleted": 1}], {})["notes"] == ""


def test_translator_made_item_matches_for_adoption() -> None:
    """An arXiv item saved by Zotero's connector (TR arXiv.org.js shape) is found by the
    catalog paper with the same arXiv id, and reads back without a DOI."""
    zot = {
        "key": "TRAN2345",
        "version": 9,
        "itemType": "preprint",
        "title": "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        "repository": "arXiv",
        "archiveID": "arXiv:1810.04805",
        "DOI": "10.48550/arXiv.1810.04805",
        "url": "http://arxiv.org/abs/1810.04805",
        "extra": "arXiv:1810.04805 [cs]",
        "date": "2019-05-24",
        "shortTitle": "BERT",
    }
    paper = Paper(id="arxiv:1810.04805", title="BERT", ids=PaperIds(arxiv="1810.04805"))
    assert paper_match_keys(paper)[0] == item_match_keys(zot)[0] == "arxiv:1810.04805"
    rec = item_to_record(zot, [], {})
    assert rec["arxiv"] == "1810.04805" and rec["doi"] is None and rec["year"] == 2019
    assert rec["method"] is None  # shortTitle is Zotero's, not a method


def test_templater_code_in_zotero_titles_creators_and_venue_is_made_inert() -> None:
    from pllm_sync.zotero.mapping import item_to_record

    rec = item_to_record(
        {
            "key": "ABCD2345",
            "itemType": "journalArticle",
            "title": "A <% tp.date.now() %> paper",
            "creators": [{"creatorType": "author", "name": "<%* x %>"}],
            "extra": "Venue: <% y %>",
            "tags": [],
        },
        [],
        {},
    )
    assert rec["title"] == "A < % tp.date.now() % > paper"
    assert rec["authors"] == ("< %* x % >",)


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("Jane Doe", {"firstName": "Jane", "lastName": "Doe"}),
        ("Doe, Jane", {"firstName": "Jane", "lastName": "Doe"}),  # once "Doe," / "Jane"
        ("van der Berg, Jan", {"firstName": "Jan", "lastName": "van der Berg"}),
        ("John Smith, Jr.", {"firstName": "John Smith,", "lastName": "Jr."}),  # as before
        ("Madonna", {"name": "Madonna"}),
    ],
)
def test_split_author_reads_last_comma_first(name: str, want: dict[str, str]) -> None:
    from pllm_sync.zotero.mapping import split_author

    assert split_author(name) == {"creatorType": "author", **want}


LAID_OUT = "Personal agents help.\n\nWe propose teh method\nand test it."


@pytest.mark.parametrize(
    ("new", "want"),
    [
        # a typo fixed in the note's one-line callout: the paragraphs stay
        (
            "Personal agents help. We propose the method and test it.",
            "Personal agents help.\n\nWe propose the method\nand test it.",
        ),
        # a sentence added at the end, words dropped before a paragraph break
        (
            "Personal agents help. We propose teh method and test it. It works.",
            "Personal agents help.\n\nWe propose teh method\nand test it. It works.",
        ),
        (
            "Agents. We propose teh method and test it.",
            "Agents.\n\nWe propose teh method\nand test it.",
        ),
        ("Something else entirely.", "Something else entirely."),
        ("New text\n\nwith its own paragraphs.", "New text\n\nwith its own paragraphs."),
        ("", ""),
    ],
)
def test_an_abstract_edited_in_the_note_keeps_zoteros_paragraphs(new: str, want: str) -> None:
    from pllm_sync.zotero.mapping import keep_layout

    got = keep_layout(LAID_OUT, new)
    assert got == want
    assert got.split() == new.split(), "the words are the note's, exactly"


@given(
    st.lists(st.sampled_from(["a", "b", "c", "\n\n", "\n", " "]), max_size=14).map("".join),
    st.lists(st.sampled_from(["a", "b", "d", " "]), max_size=10).map("".join),
)
def test_keep_layout_changes_only_whitespace_of_the_new_text(old: str, new: str) -> None:
    from pllm_sync.zotero.mapping import keep_layout

    got = keep_layout(old, new)
    assert got.split() == new.split()


@pytest.mark.parametrize(
    ("data", "arxiv"),
    [
        # the user made the preprint a journal article in Zotero: archiveID went with it
        ({"itemType": "journalArticle", "url": "https://arxiv.org/abs/2401.00001"}, "2401.00001"),
        ({"itemType": "journalArticle", "DOI": "10.48550/arXiv.2401.00002"}, "2401.00002"),
        ({"itemType": "journalArticle", "url": "https://example.org/p"}, None),
        # a preprint whose arXiv id the user cleared stays cleared, whatever its URL says
        ({"itemType": "preprint", "url": "https://arxiv.org/abs/2401.00001"}, None),
        ({"itemType": "preprint", "archiveID": "arXiv:2401.00003"}, "2401.00003"),
    ],
)
def test_the_arxiv_id_of_an_item_whose_type_changed_in_zotero(
    data: dict[str, str], arxiv: str | None
) -> None:
    from pllm_sync.zotero.mapping import item_arxiv

    assert item_arxiv({**data, "extra": "pllm-sync-id: arxiv:2401.00001"}) == arxiv
