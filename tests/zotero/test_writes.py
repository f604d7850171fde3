"""Item writes: adoption instead of duplicates, notes, updates in chunks, trash only."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pllm_sync.model import Paper, PaperIds, Venue, VenueKind
from pllm_sync.record import record_from_paper
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.mapping import find_pllm_note, item_pllm_id, item_to_record
from pllm_sync.zotero.notes_html import note_html
from pllm_sync.zotero.store import ItemChange, NewItem, NoteUpsert

from .support import make_store, writes

ARXIV_PAPER = Paper(
    id="arxiv:1810.04805",
    title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    venue=Venue(raw="NAACL'19", name="NAACL", year=2019, kind=VenueKind.CONFERENCE),
    year=2019,
    url="https://arxiv.org/abs/1810.04805",
    code_url="https://github.com/google-research/bert",
    ids=PaperIds(arxiv="1810.04805"),
)


def _translator_item(emu: ZoteroEmulator, **over: object) -> str:
    data: dict[str, Any] = {
        "itemType": "preprint",
        "title": "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        "repository": "arXiv",
        "archiveID": "arXiv:1810.04805",
        "DOI": "10.48550/arXiv.1810.04805",
        "url": "http://arxiv.org/abs/1810.04805",
        "extra": "arXiv:1810.04805 [cs]",
        "creators": [{"creatorType": "author", "firstName": "Jacob", "lastName": "Devlin"}],
        "tags": [{"tag": "Computer Science - Computation and Language", "type": 1}],
    }
    data.update(over)
    return emu.create_item(data)


def test_matching_item_is_adopted_not_duplicated(emu: ZoteroEmulator) -> None:
    key = _translator_item(emu)
    col = emu.create_collection({"name": "Section"})
    store = make_store(emu)
    store.read(None)
    report = store.create_papers(
        [NewItem(ARXIV_PAPER, record_from_paper(ARXIV_PAPER), [col], notes_md="my *notes*")]
    )
    w = report.results[ARXIV_PAPER.id]
    assert (w.key, w.action) == (key, "adopted")
    items = emu.get_items()
    assert len([d for d in items.values() if not d.get("parentItem")]) == 1
    data = items[key]
    assert data["extra"].splitlines() == ["arXiv:1810.04805 [cs]", "pllm-sync-id: arxiv:1810.04805"]
    assert data["collections"] == [col]
    assert data["title"].startswith("BERT") and data["creators"][0]["lastName"] == "Devlin"
    kids = [d for d in items.values() if d.get("parentItem") == key]
    assert {d["itemType"] for d in kids} == {"attachment", "note"}
    assert set(w.children) == {"code", "note"}
    assert find_pllm_note(kids) is not None


def test_adoption_by_doi_and_by_title_but_never_from_the_trash(emu: ZoteroEmulator) -> None:
    by_doi = emu.create_item({"itemType": "journalArticle", "title": "Other", "DOI": "10.1145/XYZ"})
    by_title = emu.create_item({"itemType": "book", "title": "The  Same Title!"})
    trashed = emu.create_item({"itemType": "book", "title": "Trashed one"})
    emu.trash_item(trashed)
    papers = [
        Paper(id="doi:10.1145/xyz", title="Whatever", ids=PaperIds(doi="10.1145/xyz")),
        Paper(id="title:1", title="the same title"),
        Paper(id="title:2", title="Trashed one"),
    ]
    store = make_store(emu)
    store.read(None)
    report = store.create_papers([NewItem(p, record_from_paper(p)) for p in papers])
    assert report.results["doi:10.1145/xyz"].key == by_doi
    assert report.results["title:1"].key == by_title
    assert report.results["title:2"].action == "created"
    assert report.results["title:2"].key != trashed


def test_second_create_finds_its_items_and_writes_nothing(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    entry = NewItem(ARXIV_PAPER, record_from_paper(ARXIV_PAPER), notes_md="n")
    first = store.create_papers([entry])
    emu.clear_log()
    again = make_store(emu).create_papers([entry])
    w = again.results[ARXIV_PAPER.id]
    assert w.action == "existing" and w.key == first.results[ARXIV_PAPER.id].key
    assert w.children == first.results[ARXIV_PAPER.id].children
    assert not writes(emu)


def test_notes_upsert_and_a_concurrent_edit_is_not_overwritten(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    parent = store.create_papers([NewItem(ARXIV_PAPER, record_from_paper(ARXIV_PAPER))])
    pkey = parent.results[ARXIV_PAPER.id].key
    nkey, v1 = store.upsert_note(pkey, None, None, "first")
    assert v1 is not None
    nkey2, v2 = store.upsert_note(pkey, nkey, v1, "second")
    assert nkey2 == nkey and v2 is not None and v2 > v1
    items = emu.get_items()
    rec = item_to_record(items[pkey], [items[nkey]], {})
    assert rec["notes"] == "second"
    # The user edits the note in Zotero; our stale write must not clobber it.
    emu.edit_item(nkey, {"note": note_html("theirs"), "version": v2})
    report = store.upsert_notes([NoteUpsert(pkey, nkey, v2, "ours", base_html=note_html("second"))])
    assert [f.code for f in report.failures] == [412]
    assert "theirs" in emu.get_items()[nkey]["note"]


def test_updates_are_chunked_with_per_object_versions(emu: ZoteroEmulator) -> None:
    keys = [emu.create_item({"itemType": "preprint", "title": f"P{i}"}) for i in range(120)]
    store = make_store(emu)
    snap = store.read(None)
    emu.clear_log()
    report = store.update_items(
        [ItemChange(k, snap.items[k]["version"], {"title": f"Q{i}"}) for i, k in enumerate(keys)]
    )
    assert report.ok and len(report.results) == 120
    posts = writes(emu)
    assert len(posts) == math.ceil(120 / 50)
    assert all(d["title"].startswith("Q") for d in emu.get_items().values())
    assert report.library_version == emu.library_version()


def test_trash_moves_to_trash_and_never_deletes(emu: ZoteroEmulator) -> None:
    keys = [emu.create_item({"itemType": "preprint", "title": f"P{i}"}) for i in range(3)]
    emu.trash_item(keys[2])
    store = make_store(emu)  # no read first: versions are fetched by key
    report = store.trash(keys)
    assert report.ok
    assert {k: w.action for k, w in report.results.items()} == {
        keys[0]: "trashed",
        keys[1]: "trashed",
        keys[2]: "unchanged",
    }
    items = emu.get_items()
    assert all(items[k].get("deleted") for k in keys)
    assert not [r for r in emu.request_log if r.method == "DELETE"]


def test_created_items_carry_the_id_and_validate(emu: ZoteroEmulator) -> None:
    store = make_store(emu)
    store.read(None)
    report = store.create_papers([NewItem(ARXIV_PAPER, record_from_paper(ARXIV_PAPER))])
    data = emu.get_items()[report.results[ARXIV_PAPER.id].key]
    assert item_pllm_id(data) == ARXIV_PAPER.id
    assert data["itemType"] == "conferencePaper"
    assert data["conferenceName"] == "NAACL 2019"


def _new_items(n: int, month: str) -> list[NewItem]:
    """``n`` new papers (arXiv ids ``<month>.00000`` on), each with a code link: two objects
    a paper, so 25 papers a batch of 50."""
    papers = [
        Paper(
            id=f"arxiv:{month}.{i:05d}",
            title=f"Paper {i}",
            code_url=f"https://github.com/lab/r{i}",
            ids=PaperIds(arxiv=f"{month}.{i:05d}"),
        )
        for i in range(n)
    ]
    return [NewItem(p, record_from_paper(p)) for p in papers]


def test_create_papers_settles_papers_while_later_batches_are_still_to_send(
    emu: ZoteroEmulator,
) -> None:
    """The engine writes a new paper's note as soon as its item is settled: the first papers
    settle after the first batch, not after the last, and a paper whose part was refused
    settles without a key (its note then links nothing, as the report says)."""
    entries = _new_items(60, "2401")  # 120 objects: three batches
    papers = [e.paper for e in entries]
    entries[-1].record = {**entries[-1].record, "code": "https://github.com/lab/" + "x" * 70_000}
    store = make_store(emu)
    store.read(None)
    posts_at: dict[str, int] = {}
    keys: dict[str, str | None] = {}

    def settled(pid: str, key: str | None) -> None:
        posts_at[pid] = sum(1 for r in emu.request_log if r.method == "POST")
        keys[pid] = key

    report = store.create_papers(entries, on_settled=settled)
    posts = sum(1 for r in emu.request_log if r.method == "POST")
    assert posts == 3
    assert posts_at[papers[0].id] == 1
    assert keys == {
        p.id: (report.results[p.id].key if p.id in report.results else None) for p in papers
    }
    assert keys[papers[-1].id] is None and report.failures[0].code == 413


class _ReadAt(dict[str, Any]):
    """A record that notes how many POSTs the emulator had answered when it was first read
    (when ``create_papers`` planned its entry)."""

    def __init__(self, emu: ZoteroEmulator, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.emu = emu
        self.posts_then: int | None = None

    def get(self, key: str, default: Any = None) -> Any:
        if self.posts_then is None:
            self.posts_then = sum(1 for r in self.emu.request_log if r.method == "POST")
        return super().get(key, default)


def test_create_papers_sends_each_batch_before_planning_the_entries_after_it(
    emu: ZoteroEmulator,
) -> None:
    """The first request goes out once 50 objects are planned, not once every entry is built
    (at 5,000 papers that held back every note the engine writes meanwhile): the planning
    runs at most two batches ahead of the answers, and as many requests go out as when
    every object is sent at once (12 of 50 objects)."""
    entries = _new_items(300, "2402")  # 600 objects: twelve batches
    papers = [e.paper for e in entries]
    last = _ReadAt(emu, entries[-1].record)
    entries[-1].record = last
    store = make_store(emu)
    store.read(None)
    report = store.create_papers(entries)
    # the last entry is in batch 12: batch 10 was queued before it, behind batches 8 and 9
    # at most (one more in flight), so batches 1-8 were answered before it was planned
    assert last.posts_then is not None and last.posts_then >= 8
    assert sum(1 for r in emu.request_log if r.method == "POST") == 12
    assert set(report.results) == {p.id for p in papers} and not report.failures


def _sender_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "pllm-zotero-send"]


def test_a_batch_refused_mid_stream_stops_the_sending_and_reports_what_landed(
    emu: ZoteroEmulator,
) -> None:
    """Zotero refuses the third batch (a 400 for the whole request) while later batches are
    already built: nothing after it is sent, the error carries a report of the papers that
    landed (the first two batches: 50 papers), and no sender thread is left behind."""
    from pllm_sync.zotero.errors import ZoteroWriteError

    emu.inject(400, count=1, after=2, method="POST", path=r".*/items$")
    store = make_store(emu)
    store.read(None)
    settled: list[tuple[str, str | None]] = []
    entries = _new_items(300, "2403")  # 600 objects: twelve batches
    with pytest.raises(ZoteroWriteError) as err:
        store.create_papers(entries, on_settled=lambda pid, key: settled.append((pid, key)))
    assert sum(1 for r in emu.request_log if r.method == "POST") == 3
    report = err.value.report
    assert report is not None
    assert set(report.results) == {e.paper.id for e in entries[:50]}
    assert all(key is not None for _pid, key in settled) and len(settled) == 50
    assert len(emu.get_items()) == 100  # 50 items and their 50 code links
    assert not _sender_threads()


class _Stop(BaseException):
    """What the engine's cancel raises inside a settle hook."""


def test_a_run_stopped_inside_a_settle_hook_stops_the_sender(emu: ZoteroEmulator) -> None:
    """The settle hook runs on the sender thread; when it raises (the run was cancelled),
    the planner raises the same exception, no batch after the current one is sent, and the
    sender thread is gone."""
    store = make_store(emu)
    store.read(None)
    seen: list[str] = []

    def hook(pid: str, key: str | None) -> None:
        seen.append(pid)
        if len(seen) > 30:  # inside the second batch's answer
            raise _Stop

    with pytest.raises(_Stop):
        store.create_papers(_new_items(300, "2403"), on_settled=hook)
    assert sum(1 for r in emu.request_log if r.method == "POST") == 2
    assert not _sender_threads()
