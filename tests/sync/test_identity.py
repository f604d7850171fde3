"""Table tests for identity joining (``sync/identity.py``): the collected views of one run in,
the joined views out (which id keeps which note and item), no emulator and no files. Each row
is a situation the catalog, a crash or a copy made by a user leads to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from pllm_sync.model import Paper, PaperIds, paper_id_for
from pllm_sync.record import Record, record_from_paper, section_key
from pllm_sync.sync.decide import DuplicateItem, PaperView
from pllm_sync.sync.identity import (
    copy_takes_over,
    join_identities,
    second_item_wins,
    user_added_item_id,
    user_added_note_id,
)
from pllm_sync.sync.state import PaperState
from pllm_sync.vault.store import NoteInfo, NoteStat

TITLE = "Synthetic Paper One: A Study"
OLD = "arxiv:2401.00001"  # the id the list gave the paper until it dropped the arXiv link
NEW = paper_id_for(PaperIds(), TITLE)  # the title id it has now
NOTE = "Papers/Synthetic Paper One - A Study.md"
COPY = "Papers/Synthetic Paper One - A Study 1.md"
COPY2 = "Papers/Synthetic Paper One - A Study 2.md"
KEY = "ITEM0001"


def catalog(title: str = TITLE, status: str = "listed") -> Record:
    return {"title": title, "catalog": status}


def note(pid: str, path: str = NOTE, title: str = TITLE, **record: Any) -> NoteInfo:
    return NoteInfo(
        path=path,
        pllm_id=pid,
        record={"title": title, **record},
        zotero_key=KEY,
        size=1,
        mtime_ns=1,
        sha256="x",
    )


def state(pid: str, *, title: str = TITLE, listed: str = "listed", **kw: Any) -> PaperState:
    values: dict[str, Any] = {"catalog_base": catalog(title, listed), "zotero_key": KEY}
    values["note_path"] = NOTE
    return PaperState(pllm_id=pid, **{**values, **kw})


def retired(pid: str) -> PaperState:
    """A paper whose note the user deleted or moved out: its item went to Zotero's trash
    and both sides are retired (the state forgets the note's path)."""
    return state(
        pid, base={"title": TITLE}, note_path=None, vault_retired=True, zotero_retired=True
    )


def item(pid: str, key: str = KEY) -> dict[str, Any]:
    return {"key": key, "version": 3, "itemType": "preprint", "extra": f"pllm-sync-id: {pid}"}


def listed(pid: str, title: str = TITLE, **kw: Any) -> PaperView:
    """A paper in the catalog read this run."""
    return PaperView(pid=pid, paper=Paper(id=pid, title=title), catalog=catalog(title), **kw)


def synced_old(pid: str = OLD, **kw: Any) -> PaperView:
    """The paper under its old id, known to the state, no longer listed (a tombstone)."""
    values: dict[str, Any] = {
        "state": state(pid),
        "catalog": catalog(status="removed"),
        "zitem": item(pid),
        "note": note(pid),
    }
    return PaperView(pid=pid, **{**values, **kw})


FIXED = "arxiv:2401.00009"  # the id one of the paper's rows gives it first
S, T = ("a", "S"), ("b", "T")  # two sections (of two lists) listing the paper


def listed_in(pid: str, *sections: tuple[str, ...], **kw: Any) -> PaperView:
    """A paper in the catalog read this run, listed in ``sections``."""
    paper = Paper(id=pid, title=TITLE, sections=sections)
    return PaperView(pid=pid, paper=paper, catalog=record_from_paper(paper), **kw)


def state_in(pid: str, *sections: tuple[str, ...], **kw: Any) -> PaperState:
    """A paper the last run synced, listed then in ``sections``."""
    base = {**catalog(), "sections": frozenset(section_key(s) for s in sections)}
    return state(pid, catalog_base=base, **kw)


def other_state() -> PaperState:
    """Another paper of the same title, listed in section T (its own note and item)."""
    return state_in("doi:10.1/x", T, zotero_key="ITEM0002", note_path=COPY)


TWIN_KEY = "ITEM0002"


def twin_state() -> PaperState:
    """The twin a split made: the id the other row gave the paper at the first pull, with
    its own (empty) note and item."""
    return state(FIXED, base={"title": TITLE}, zotero_key=TWIN_KEY, note_path=COPY)


def twin(**kw: Any) -> PaperView:
    """The twin, listed now (the rows agree on its id), as the run read it."""
    values: dict[str, Any] = {
        "state": twin_state(),
        "note": note(FIXED, COPY),
        "zitem": item(FIXED, TWIN_KEY),
        "zrecord": {"title": TITLE},
    }
    paper_catalog = kw.pop("catalog", catalog())
    return replace(listed(FIXED, **{**values, **kw}), catalog=paper_catalog)


def written_in(**kw: Any) -> PaperView:
    """The id the user wrote in (status read in its note), leaving the list now."""
    values: dict[str, Any] = {
        "state": state(OLD, base={"title": TITLE}),
        "note": note(OLD, status="read"),
    }
    return synced_old(**{**values, **kw})


def split_states() -> dict[str, PaperState]:
    return {OLD: state(OLD, base={"title": TITLE}), FIXED: twin_state()}


@dataclass
class Want:
    """What one view of the result must look like (None: not checked)."""

    note: str | None = None
    renamed_from: str | None = None
    item_key: str | None = None
    copies: tuple[str, ...] = ()
    state_id: str | None = None
    vault_gone: bool = False
    duplicates: tuple[str, ...] = ()  # keys of the paper's duplicate items
    sections: tuple[str, ...] | None = None  # the catalog's sections of the paper
    discards: tuple[str, ...] = ()  # paths of the twin notes it sends to the vault's trash
    notices: int = 0  # warnings the join has for it


@dataclass
class Row:
    name: str
    views: Callable[[], list[PaperView]]
    want: dict[str, Want]  # the ids left after joining, and what each holds
    papers: Callable[[], dict[str, PaperState]] = dict
    catalog_read: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


ROWS = [
    Row(
        "in step: nothing to join",
        lambda: [listed(OLD, state=state(OLD), zitem=item(OLD), note=note(OLD))],
        {OLD: Want(note=NOTE, item_key=KEY, state_id=OLD)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "the list changes a paper's id: the new id takes the old id's state, item and note",
        lambda: [synced_old(), listed(NEW)],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "another device followed the id change first (the cloud brought its note): the new "
        "id takes this device's state, with the item and note that carry it already",
        lambda: [
            synced_old(note=None, zitem=None, vault_unreadable=True),
            listed(NEW, zitem=item(NEW), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "... but not when the new id's item is another item than the one the state knows",
        lambda: [
            synced_old(note=None, zitem=None, vault_unreadable=True),
            listed(NEW, zitem=item(NEW, "ITEM0002"), note=note(NEW)),
        ],
        {OLD: Want(state_id=OLD), NEW: Want(note=NOTE, item_key="ITEM0002")},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "... also in a plain sync, which reads no catalog (the usual first run after the cloud "
        "brought the note)",
        lambda: [
            synced_old(note=None, zitem=None, catalog=catalog()),
            PaperView(pid=NEW, zitem=item(NEW), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD)},
        catalog_read=False,
    ),
    Row(
        "a run already gave the new id a row for the same item: one paper, the old row goes",
        lambda: [
            synced_old(note=None, zitem=None),
            listed(NEW, state=state(NEW), zitem=item(NEW), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD), NEW: state(NEW)},
    ),
    Row(
        "a plain sync reads no catalog: no id can have appeared, nothing is followed",
        lambda: [synced_old(catalog=catalog()), PaperView(pid=NEW)],
        {OLD: Want(note=NOTE, item_key=KEY, state_id=OLD), NEW: Want()},
        papers=lambda: {OLD: state(OLD)},
        catalog_read=False,
    ),
    Row(
        "a copy found without state (after a lost state database) is followed too",
        lambda: [PaperView(pid=OLD, zitem=item(OLD), note=note(OLD)), listed(NEW)],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY)},
    ),
    Row(
        "two vanished ids with the same title: no guess, nothing followed",
        lambda: [
            synced_old(),
            synced_old("doi:10.1/x"),
            listed(NEW),
        ],
        {
            OLD: Want(note=NOTE, item_key=KEY),
            "doi:10.1/x": Want(note=NOTE, item_key=KEY),
            NEW: Want(),
        },
        papers=lambda: {OLD: state(OLD), "doi:10.1/x": state("doi:10.1/x")},
    ),
    Row(
        "the new id already has an item of its own: nothing followed",
        lambda: [synced_old(), listed(NEW, zitem=item(NEW, "ITEM0002"))],
        {OLD: Want(note=NOTE, item_key=KEY), NEW: Want(item_key="ITEM0002")},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "a rename cut short after Zotero was written: the new id's item is the paper's",
        lambda: [synced_old(zitem=None), listed(NEW, zitem=item(NEW))],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "a note made under the new id before (a copy): the paper's own note keeps the identity",
        lambda: [synced_old(), listed(NEW, note=note(NEW, COPY))],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, copies=(COPY,))},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "the new id has a note and the old id none: the new id's note stays its own",
        lambda: [synced_old(note=None, vault_gone=True), listed(NEW, note=note(NEW, COPY))],
        {OLD: Want(item_key=KEY, vault_gone=True), NEW: Want(note=COPY)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "the old id's copies move with its note",
        lambda: [synced_old(copies=(COPY,)), listed(NEW)],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, copies=(COPY,))},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "a rename whose note was not rewritten: the note at the known path is the paper's",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), vault_gone=True),
            PaperView(pid=OLD, note=note(OLD)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "... finished in a plain sync too (no catalog read)",
        lambda: [
            PaperView(
                pid=NEW, catalog=catalog(), state=state(NEW), zitem=item(NEW), vault_gone=True
            ),
            PaperView(pid=OLD, note=note(OLD)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
        catalog_read=False,
    ),
    Row(
        "... beside a copy of that note made before: the copy stays a copy",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), vault_gone=True),
            PaperView(pid=OLD, note=note(OLD), copies=(COPY,)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, copies=(COPY,), state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "a rename cut short, the id changed back: the item the state knows is the paper's",
        lambda: [
            listed(OLD, state=state(OLD), note=note(OLD)),
            PaperView(pid=NEW, zitem=item(NEW)),
        ],
        {OLD: Want(note=NOTE, renamed_from=NEW, item_key=KEY, state_id=OLD)},
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "... and after a lost state, the old id's item joins the listed id's note",
        lambda: [
            listed(OLD, note=note(OLD)),
            PaperView(pid=NEW, zitem=item(NEW), zrecord={"title": TITLE}),
        ],
        {OLD: Want(note=NOTE, renamed_from=NEW, item_key=KEY)},
    ),
    Row(
        "... also when that note has a copy, as long as it names that very item",
        lambda: [
            listed(OLD, note=note(OLD), copies=(COPY,)),
            PaperView(pid=NEW, zitem=item(NEW), zrecord={"title": TITLE}),
        ],
        {OLD: Want(note=NOTE, renamed_from=NEW, item_key=KEY, copies=(COPY,))},
    ),
    Row(
        "... but not a note with a copy that names another item",
        lambda: [
            listed(OLD, note=replace(note(OLD), zotero_key="OTHER001"), copies=(COPY,)),
            PaperView(pid=NEW, zitem=item(NEW), zrecord={"title": TITLE}),
        ],
        {OLD: Want(note=NOTE, copies=(COPY,)), NEW: Want(item_key=KEY)},
    ),
    Row(
        "... but never onto a note that belongs to a paper of its own (it has an item)",
        lambda: [
            listed(NEW, state=state(NEW), vault_gone=True),
            PaperView(pid=OLD, note=note(OLD), zitem=item(OLD, "ITEM0002")),
        ],
        {NEW: Want(vault_gone=True, state_id=NEW), OLD: Want(note=NOTE, item_key="ITEM0002")},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "a copy left under the old id after the rename is a copy of the listed paper",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY,), state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "two copies left under the old id are both copies of the listed paper",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY), copies=(COPY2,)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY, COPY2), state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "... in a plain sync too: the state's catalog record says the paper is listed",
        lambda: [
            PaperView(
                pid=NEW, catalog=catalog(), state=state(NEW), zitem=item(NEW), note=note(NEW)
            ),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY,), state_id=NEW)},
        papers=lambda: {NEW: state(NEW)},
        catalog_read=False,
    ),
    Row(
        "... also with the state row a run without Zotero wrote for it after a lost state",
        lambda: [
            listed(NEW, zitem=item(NEW), note=note(NEW)),
            PaperView(
                pid=OLD,
                note=note(OLD, COPY),
                state=PaperState(pllm_id=OLD, note_path=COPY),
            ),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY,))},
        papers=lambda: {OLD: PaperState(pllm_id=OLD, note_path=COPY)},
    ),
    Row(
        "... and when the list changes the id back, the paper and its item follow it there",
        lambda: [
            PaperView(
                pid=NEW,
                zitem=item(NEW),
                note=note(NEW),
                state=PaperState(pllm_id=NEW, note_path=NOTE),
            ),
            listed(
                OLD,
                note=note(OLD, COPY),
                state=PaperState(pllm_id=OLD, note_path=COPY),
            ),
        ],
        {OLD: Want(note=NOTE, renamed_from=NEW, item_key=KEY, copies=(COPY,))},
        papers=lambda: {
            OLD: PaperState(pllm_id=OLD, note_path=COPY),
            NEW: PaperState(pllm_id=NEW, note_path=NOTE),
        },
    ),
    Row(
        "a paper retired by a run that knew nothing of it follows its new id by its title",
        lambda: [
            PaperView(
                pid=OLD,
                state=state(
                    OLD, catalog_base=None, note_path=None, zotero_retired=True, vault_retired=True
                ),
                zrecord_trashed={"title": TITLE},
                zotero_gone="trashed",
            ),
            listed(NEW),
        ],
        {NEW: Want(renamed_from=OLD, state_id=NEW)},
        papers=lambda: {
            OLD: state(
                OLD, catalog_base=None, note_path=None, zotero_retired=True, vault_retired=True
            )
        },
    ),
    Row(
        "a note of another title with an unknown id stays a paper of its own",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY, title="Another Paper")),
        ],
        {NEW: Want(note=NOTE, item_key=KEY), OLD: Want(note=COPY)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "a hand-added note is never taken for a copy",
        lambda: [
            listed(NEW, state=state(NEW), zitem=item(NEW), note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY), user_added="vault"),
        ],
        {NEW: Want(note=NOTE, item_key=KEY), OLD: Want(note=COPY)},
        papers=lambda: {NEW: state(NEW)},
    ),
    Row(
        "... and after a lost state database, by the paper's item (a plain sync)",
        lambda: [
            PaperView(pid=NEW, zitem=item(NEW), note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY,))},
        catalog_read=False,
    ),
    Row(
        "... but not by an item in Zotero's trash",
        lambda: [
            PaperView(pid=NEW, zitem=item(NEW), zotero_gone="trashed", note=note(NEW)),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY), OLD: Want(note=COPY)},
        catalog_read=False,
    ),
    Row(
        "a copy of a tombstone (its item live) is a copy too, never a second item",
        lambda: [
            PaperView(
                pid=NEW,
                catalog=catalog(status="removed"),
                state=state(NEW, listed="removed"),
                zitem=item(NEW),
                note=note(NEW),
            ),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, item_key=KEY, copies=(COPY,))},
        papers=lambda: {NEW: state(NEW, listed="removed")},
        catalog_read=False,
    ),
    Row(
        "... also when its item did not change (not in the change feed: the state knows it)",
        lambda: [
            PaperView(
                pid=NEW,
                catalog=catalog(status="removed"),
                state=state(NEW, listed="removed"),
                note=note(NEW),
            ),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE, copies=(COPY,))},
        papers=lambda: {NEW: state(NEW, listed="removed")},
    ),
    Row(
        "... but not a paper whose item the state knows as retired",
        lambda: [
            PaperView(
                pid=NEW,
                catalog=catalog(status="removed"),
                state=state(NEW, listed="removed", zotero_retired=True),
                note=note(NEW),
            ),
            PaperView(pid=OLD, note=note(OLD, COPY)),
        ],
        {NEW: Want(note=NOTE), OLD: Want(note=COPY)},
        papers=lambda: {NEW: state(NEW, listed="removed", zotero_retired=True)},
    ),
    Row(
        "the old id's item restored after a lost state joins the new id's paper as a duplicate",
        lambda: [
            PaperView(pid=OLD, zitem=item(OLD), zrecord={"title": TITLE}),
            listed(NEW, zitem=item(NEW, "ITEM0002"), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, item_key="ITEM0002", duplicates=(KEY,))},
    ),
    Row(
        "two listed papers of one title: one's item restored from the trash is its own, "
        "not a duplicate of the other (its note comes back, rule 3)",
        lambda: [
            PaperView(
                pid=OLD,
                state=state(OLD, note_path=None, zotero_retired=True, vault_retired=True),
                zitem=item(OLD),
                zrecord={"title": TITLE},
            ),
            listed(NEW, state=state(NEW, zotero_key="ITEM0002"), note=note(NEW)),
        ],
        {OLD: Want(item_key=KEY, state_id=OLD), NEW: Want(note=NOTE, state_id=NEW)},
        papers=lambda: {
            OLD: state(OLD, note_path=None, zotero_retired=True, vault_retired=True),
            NEW: state(NEW, zotero_key="ITEM0002"),
        },
        catalog_read=False,
    ),
    Row(
        "the old id retired on both sides, its item restored: a duplicate of the known paper",
        lambda: [
            PaperView(
                pid=OLD,
                state=PaperState(OLD, zotero_key=KEY, zotero_retired=True, vault_retired=True),
                zitem=item(OLD),
                zrecord={"title": TITLE},
            ),
            # the paper's own item is unchanged: not in the feed, the state knows it
            listed(NEW, state=state(NEW, zotero_key="ITEM0002"), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, duplicates=(KEY,), state_id=NEW)},
        papers=lambda: {
            OLD: PaperState(OLD, zotero_key=KEY, zotero_retired=True, vault_retired=True),
            NEW: state(NEW, zotero_key="ITEM0002"),
        },
    ),
    Row(
        "a tombstone's live item is its own paper, never a duplicate of another",
        lambda: [
            synced_old(note=None, vault_gone=True),
            listed(NEW, zitem=item(NEW, "ITEM0002"), note=note(NEW, COPY)),
        ],
        {
            OLD: Want(item_key=KEY, state_id=OLD, vault_gone=True),
            NEW: Want(note=COPY, item_key="ITEM0002"),
        },
        papers=lambda: {OLD: state(OLD)},
    ),
    Row(
        "two papers of the item's title: no guess, the item is left its own",
        lambda: [
            PaperView(pid=OLD, zitem=item(OLD), zrecord={"title": TITLE}),
            listed(NEW, zitem=item(NEW, "ITEM0002"), note=note(NEW)),
            listed(
                "doi:10.1/x", zitem=item("doi:10.1/x", "ITEM0003"), note=note("doi:10.1/x", COPY)
            ),
        ],
        {
            OLD: Want(item_key=KEY),
            NEW: Want(note=NOTE, item_key="ITEM0002"),
            "doi:10.1/x": Want(note=COPY, item_key="ITEM0003"),
        },
    ),
    Row(
        "after a lost state an item found only in the trash follows its paper to the new id",
        lambda: [
            PaperView(
                pid=OLD,
                zitem={**item(OLD), "deleted": 1},
                zotero_gone="trashed",
                zrecord_trashed={"title": TITLE},
            ),
            listed(NEW),
        ],
        {NEW: Want(renamed_from=OLD, item_key=KEY)},
    ),
    Row(
        "an item of another title is no duplicate",
        lambda: [
            PaperView(pid=OLD, zitem=item(OLD), zrecord={"title": "Another Paper"}),
            listed(NEW, zitem=item(NEW, "ITEM0002"), note=note(NEW)),
        ],
        {OLD: Want(item_key=KEY), NEW: Want(note=NOTE, item_key="ITEM0002")},
    ),
    Row(
        "a note moved back under the id its paper left joins the paper retired in the vault",
        lambda: [PaperView(pid=OLD, note=note(OLD)), listed(NEW, state=retired(NEW))],
        {NEW: Want(note=NOTE, renamed_from=OLD, state_id=NEW)},
        papers=lambda: {NEW: retired(NEW)},
    ),
    Row(
        "the same in a plain sync (no catalog read): the state's title joins them",
        lambda: [PaperView(pid=OLD, note=note(OLD)), PaperView(pid=NEW, state=retired(NEW))],
        {NEW: Want(note=NOTE, renamed_from=OLD, state_id=NEW)},
        papers=lambda: {NEW: retired(NEW)},
        catalog_read=False,
    ),
    Row(
        "the list gives the old id back as the note returns: the paper's state goes with it",
        lambda: [PaperView(pid=NEW, state=retired(NEW)), listed(OLD, note=note(OLD))],
        {OLD: Want(note=NOTE, renamed_from=NEW, state_id=OLD)},
        papers=lambda: {NEW: retired(NEW)},
    ),
    Row(
        "two returning notes of one title: no guess, each stays its own",
        lambda: [
            PaperView(pid=OLD, note=note(OLD)),
            PaperView(pid="doi:10.1/x", note=note("doi:10.1/x", COPY)),
            listed(NEW, state=retired(NEW)),
        ],
        {OLD: Want(note=NOTE), "doi:10.1/x": Want(note=COPY), NEW: Want(state_id=NEW)},
        papers=lambda: {NEW: retired(NEW)},
    ),
    Row(
        "a lost state, then a sync without Zotero or the list wrote the old id's row: the "
        "item and note still follow the list's new id",
        lambda: [
            PaperView(
                pid=OLD,
                state=PaperState(pllm_id=OLD, note_path=NOTE),
                zitem=item(OLD),
                zrecord={"title": TITLE},
                note=note(OLD),
            ),
            listed(NEW),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {OLD: PaperState(pllm_id=OLD, note_path=NOTE)},
    ),
    Row(
        "a lost state, then a pull without Zotero moved the note to the new id: the new id "
        "takes the item no state knows",
        lambda: [
            PaperView(pid=OLD, zitem=item(OLD), zrecord={"title": TITLE}),
            listed(NEW, state=state(NEW, zotero_key=None), note=note(NEW)),
        ],
        {NEW: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=NEW)},
        papers=lambda: {NEW: state(NEW, zotero_key=None)},
    ),
    Row(
        "a listed id whose item was never made does not take an item another state knows",
        lambda: [
            synced_old(),
            listed(NEW, state=state(NEW, zotero_key=None), note=note(NEW, COPY)),
        ],
        {OLD: Want(note=NOTE, item_key=KEY, state_id=OLD), NEW: Want(note=COPY, state_id=NEW)},
        papers=lambda: {OLD: state(OLD), NEW: state(NEW, zotero_key=None)},
    ),
    Row(
        "one of a paper's two rows changes its id first: one paper, under the id it had, "
        "with its note, its item and both sections",
        lambda: [
            listed_in(OLD, T, state=state_in(OLD, S, T), zitem=item(OLD), note=note(OLD)),
            listed_in(FIXED, S),
        ],
        {OLD: Want(note=NOTE, item_key=KEY, state_id=OLD, sections=("a / S", "b / T"))},
        papers=lambda: {OLD: state_in(OLD, S, T)},
    ),
    Row(
        "... and once the rows agree, the paper follows the id change",
        lambda: [
            synced_old(state=state_in(OLD, S, T), catalog=catalog(status="removed")),
            listed_in(FIXED, S, T),
        ],
        {FIXED: Want(note=NOTE, renamed_from=OLD, item_key=KEY, state_id=FIXED)},
        papers=lambda: {OLD: state_in(OLD, S, T)},
    ),
    Row(
        "a second paper of the same title added where the first stays listed: its own paper",
        lambda: [
            listed_in(OLD, S, state=state_in(OLD, S), zitem=item(OLD), note=note(OLD)),
            listed_in(FIXED, S),
        ],
        {OLD: Want(note=NOTE, item_key=KEY, sections=("a / S",)), FIXED: Want(sections=("a / S",))},
        papers=lambda: {OLD: state_in(OLD, S)},
    ),
    Row(
        "... also where the first left a section but the second is not only there",
        lambda: [
            listed_in(OLD, T, state=state_in(OLD, S, T), zitem=item(OLD), note=note(OLD)),
            listed_in(FIXED, S, ("c", "U")),
        ],
        {OLD: Want(note=NOTE, item_key=KEY), FIXED: Want(sections=("a / S", "c / U"))},
        papers=lambda: {OLD: state_in(OLD, S, T)},
    ),
    Row(
        "... and when two papers of the title stay listed: no guess",
        lambda: [
            listed_in(OLD, T, state=state_in(OLD, S, T), zitem=item(OLD), note=note(OLD)),
            listed_in("doi:10.1/x", T, state=other_state(), note=note("doi:10.1/x", COPY)),
            listed_in(FIXED, S),
        ],
        {
            OLD: Want(note=NOTE, item_key=KEY),
            "doi:10.1/x": Want(note=COPY),
            FIXED: Want(sections=("a / S",)),
        },
        papers=lambda: {OLD: state_in(OLD, S, T), "doi:10.1/x": other_state()},
    ),
    Row(
        "a paper split before the first pull, the rows now agreeing on the id the user did not "
        "write in: the user's note and item take it, the empty twin's go to the trash",
        lambda: [written_in(), twin()],
        {
            FIXED: Want(
                note=NOTE,
                renamed_from=OLD,
                item_key=KEY,
                state_id=FIXED,
                duplicates=(TWIN_KEY,),
                discards=(COPY,),
                notices=1,
            )
        },
        papers=split_states,
    ),
    Row(
        "... the twin's item not in the change feed: a duplicate to read before trashing",
        lambda: [written_in(), twin(zitem=None, zrecord=None)],
        {
            FIXED: Want(
                note=NOTE,
                renamed_from=OLD,
                item_key=KEY,
                state_id=FIXED,
                duplicates=(TWIN_KEY,),
                discards=(COPY,),
                notices=1,
            )
        },
        papers=split_states,
    ),
    Row(
        "... the user wrote in the item only (a tag in Zotero)",
        lambda: [
            written_in(note=note(OLD), zrecord={"title": TITLE, "tags": frozenset({"x"})}),
            twin(),
        ],
        {
            FIXED: Want(
                note=NOTE,
                renamed_from=OLD,
                item_key=KEY,
                duplicates=(TWIN_KEY,),
                discards=(COPY,),
                notices=1,
            )
        },
        papers=split_states,
    ),
    Row(
        "... nothing of the user's in either: the leaving id is retired as before",
        lambda: [written_in(note=note(OLD)), twin()],
        {OLD: Want(note=NOTE, item_key=KEY), FIXED: Want(note=COPY, item_key=TWIN_KEY)},
        papers=split_states,
    ),
    Row(
        "... the user wrote in both: nothing moves, a warning names both notes",
        lambda: [written_in(), twin(note=note(FIXED, COPY, notes="mine too"))],
        {
            OLD: Want(note=NOTE, item_key=KEY, notices=1),
            FIXED: Want(note=COPY, item_key=TWIN_KEY),
        },
        papers=split_states,
    ),
    Row(
        "... the twin's item holds a user's child (a PDF): nothing moves",
        lambda: [written_in(), twin(z_user_children=True)],
        {
            OLD: Want(note=NOTE, item_key=KEY, notices=1),
            FIXED: Want(note=COPY, item_key=TWIN_KEY),
        },
        papers=split_states,
    ),
    Row(
        "... two papers whose DOIs differ: not one paper, nothing moves",
        lambda: [
            written_in(
                state=state(OLD, base={"title": TITLE}, catalog_base={**catalog(), "doi": "10.1/a"})
            ),
            twin(catalog={**catalog(), "doi": "10.1/b"}),
        ],
        {OLD: Want(note=NOTE, item_key=KEY), FIXED: Want(note=COPY, item_key=TWIN_KEY)},
        papers=split_states,
    ),
    Row(
        "... a run cut short after Zotero: the user's item carries the new id (a duplicate "
        "of the twin, which is unchanged), and is still the user's",
        lambda: [
            written_in(zitem=None),
            twin(
                zitem=None,
                zrecord=None,
                duplicate_items=(DuplicateItem.of(FIXED, item(FIXED), [], {"title": TITLE}),),
            ),
        ],
        {
            FIXED: Want(
                note=NOTE, renamed_from=OLD, duplicates=(TWIN_KEY,), discards=(COPY,), notices=1
            )
        },
        papers=split_states,
    ),
    Row(
        "... cut short after the twin's item and note went to the trash and the user's note "
        "took the new id: finished, nothing discarded twice",
        lambda: [
            written_in(note=None, zitem=None, vault_unreadable=True),
            twin(
                note=note(FIXED, status="read"),
                zitem={**item(FIXED, TWIN_KEY), "deleted": 1},
                zrecord=None,
                zotero_gone="trashed",
                zrecord_trashed={"title": TITLE},
            ),
        ],
        {FIXED: Want(note=NOTE, renamed_from=OLD, notices=1)},
        papers=split_states,
    ),
    Row(
        "a paper of another title does not take a returning note",
        lambda: [
            PaperView(pid=OLD, note=note(OLD, title="Another Paper")),
            listed(NEW, state=retired(NEW)),
        ],
        {OLD: Want(note=NOTE), NEW: Want(state_id=NEW)},
        papers=lambda: {NEW: retired(NEW)},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_identity_rules(row: Row) -> None:
    views = {v.pid: v for v in row.views()}
    before = {pid: (v.note, v.zitem, v.state, v.copies) for pid, v in views.items()}
    out = join_identities(views, row.papers(), catalog_read=row.catalog_read)
    assert sorted(out) == sorted(row.want)
    for pid, want in row.want.items():
        v = out[pid]
        assert v.pid == pid
        assert (v.note.path if v.note else None) == want.note, pid
        assert v.renamed_from == want.renamed_from, pid
        assert (v.zitem or {}).get("key") == want.item_key, pid
        assert v.copies == want.copies, pid
        assert v.vault_gone == want.vault_gone, pid
        assert tuple(str(d.zitem["key"]) for d in v.duplicate_items) == want.duplicates, pid
        assert tuple(n.path for n in v.discard_notes) == want.discards, pid
        assert len(v.notices) == want.notices, pid
        if want.state_id is not None:
            assert v.state is not None and v.state.pllm_id == want.state_id, pid
        if want.sections is not None:
            assert v.catalog is not None, pid
            assert sorted(v.catalog.get("sections") or ()) == list(want.sections), pid
    # pure: the views handed in are left as they were
    assert {pid: (v.note, v.zitem, v.state, v.copies) for pid, v in views.items()} == before


@pytest.mark.parametrize(
    ("record", "path", "want"),
    [
        ({"arxiv": "2310.10100", "title": "X"}, "Papers/X.md", "arxiv:2310.10100"),
        ({"doi": "10.1/abc", "title": "X"}, "Papers/X.md", "doi:10.1/abc"),
        ({"url": "https://example.org/x", "title": TITLE}, "Papers/X.md", NEW),
        ({"url": "https://example.org/x"}, f"Papers/{TITLE}.md", NEW),  # title from the name
        ({"title": TITLE}, "Papers/X.md", None),  # names no paper: not a paper note
        ({}, "Papers/Shopping list.md", None),
    ],
)
def test_user_added_note_id(record: Record, path: str, want: str | None) -> None:
    info = NoteInfo(path, None, record, None, 1, 1, "x")
    assert user_added_note_id(info) == want


COLLECTIONS = {"COLL0001": ("sm", "Alignment")}


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (
            {"key": "K1", "itemType": "preprint", "title": TITLE, "collections": ["COLL0001"]},
            NEW,
        ),
        (
            {
                "key": "K1",
                "itemType": "journalArticle",
                "title": "X",
                "DOI": "10.1/abc",
                "collections": ["COLL0001"],
            },
            "doi:10.1/abc",
        ),
        ({"key": "K1", "itemType": "preprint", "title": TITLE, "collections": ["ELSEWHRE"]}, None),
        ({"key": "K1", "itemType": "preprint", "title": TITLE, "collections": []}, None),
        (
            {
                "key": "K1",
                "itemType": "preprint",
                "title": TITLE,
                "collections": ["COLL0001"],
                "deleted": 1,
            },
            None,
        ),
        ({"key": "K1", "itemType": "note", "note": "x", "collections": ["COLL0001"]}, None),
        ({"key": "K1", "itemType": "attachment", "collections": ["COLL0001"]}, None),
    ],
)
def test_user_added_item_id(data: dict[str, Any], want: str | None) -> None:
    assert user_added_item_id(data, COLLECTIONS) == want


LIVE = {"key": KEY}
TRASHED = {"key": KEY, "deleted": 1}
OTHER = {"key": "ITEM0002"}
OTHER_TRASHED = {"key": "ITEM0002", "deleted": 1}


@pytest.mark.parametrize(
    ("st", "held", "other", "wins"),
    [
        pytest.param(state(OLD), OTHER, LIVE, True, id="the item the state knows wins"),
        pytest.param(state(OLD), LIVE, OTHER, False, id="the item the state knows stays"),
        pytest.param(None, TRASHED, OTHER, True, id="a live item beats a trashed one"),
        pytest.param(None, OTHER_TRASHED, TRASHED, False, id="both trashed: the first stays"),
        pytest.param(None, LIVE, OTHER, False, id="both live, no state: the first stays"),
        pytest.param(
            state(OLD), OTHER, TRASHED, True, id="the known item wins even from the trash"
        ),
    ],
)
def test_second_item_wins(
    st: PaperState | None, held: dict[str, Any], other: dict[str, Any], wins: bool
) -> None:
    assert second_item_wins(st, held, other) is wins


def stat(pid: str | None) -> NoteStat:
    return NoteStat(size=1, mtime_ns=1, sha256="x", kind="paper", pllm_id=pid)


BOTH_THERE = {NOTE: stat(OLD), COPY: stat(OLD)}


@pytest.mark.parametrize(
    ("path", "known", "present", "previous", "takes_over"),
    [
        pytest.param(COPY, NOTE, {COPY}, BOTH_THERE, True, id="the note gone, its copy stays"),
        pytest.param(COPY, NOTE, {COPY, NOTE}, BOTH_THERE, False, id="the note still there"),
        pytest.param(NOTE, NOTE, {NOTE}, BOTH_THERE, False, id="it is the known note"),
        pytest.param(COPY, None, {COPY}, BOTH_THERE, False, id="no known note"),
        pytest.param(COPY, NOTE, {COPY}, {NOTE: stat(OLD)}, False, id="renamed: no copy beside"),
        pytest.param(
            COPY, NOTE, {COPY}, {NOTE: stat(OLD), COPY: stat(NEW)}, False, id="another id beside"
        ),
        pytest.param(
            COPY, NOTE, {COPY}, {NOTE: stat(NEW), COPY: stat(OLD)}, False, id="known had another"
        ),
    ],
)
def test_copy_takes_over(
    path: str, known: str | None, present: set[str], previous: dict[str, NoteStat], takes_over: bool
) -> None:
    assert copy_takes_over(OLD, path, known, present, previous) is takes_over
