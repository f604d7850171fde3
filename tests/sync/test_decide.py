"""Table tests for every rule of the pure decision pass (``sync/decide.py``): plain views in,
a plan out, no emulator and no files. Each row is a situation a user runs into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from pllm_sync.record import Record, complete_record
from pllm_sync.sync.decide import (
    DecideConfig,
    DuplicateItem,
    PaperView,
    choose_identity_note,
    decide,
    differs,
    edited_past_the_list,
    holds_user_data,
    listed_fields,
)
from pllm_sync.sync.state import PaperState
from pllm_sync.vault.store import NoteInfo

PID = "arxiv:2401.00001"
BASE: Record = complete_record(
    {
        "title": "Synthetic Paper One",
        "arxiv": "2401.00001",
        "tags": frozenset({"alpha"}),
        "status": "unread",
        "notes": "my first line",
        "sections": frozenset({"Alignment"}),
    }
)


def note(rec: Record = BASE, path: str = "Papers/Synthetic Paper One.md") -> NoteInfo:
    return NoteInfo(
        path=path,
        pllm_id=PID,
        record=dict(rec),
        zotero_key="ITEM0001",
        size=10,
        mtime_ns=1,
        sha256="x",
    )


def state(**kw: Any) -> PaperState:
    values: dict[str, Any] = {
        "base": dict(BASE),
        "catalog_base": dict(BASE),
        "zotero_key": "ITEM0001",
        "zotero_note_key": "NOTE0001",
        "note_path": "Papers/Synthetic Paper One.md",
        "zotero_record": dict(BASE),
    }
    return PaperState(pllm_id=PID, **{**values, **kw})


ITEM: dict[str, Any] = {"key": "ITEM0001", "version": 5, "itemType": "preprint"}


def synced(**kw: Any) -> PaperView:
    """A paper in step on both sides (the item unchanged, so read at its base)."""
    return PaperView(pid=PID, state=state(), zrecord=dict(BASE), note=note(), **kw)


def edited(rec: Record, **changes: Any) -> Record:
    return {**rec, **changes}


def with_dup(dup: Record, *, user_children: bool = False) -> PaperView:
    """A paper in step with a second live item (the old id's, restored from the trash)."""
    item = {"key": "DUPL0001", "version": 9, "itemType": "preprint"}
    return synced(
        zitem=dict(ITEM),
        duplicate_items=(DuplicateItem("arxiv:old", item, dup, user_children=user_children),),
    )


@dataclass
class Row:
    name: str
    view: Callable[[], PaperView]
    zotero: str | None = None
    vault: str | None = None
    retire_zotero: bool = False
    retire_vault: bool = False
    cfg: DecideConfig = field(default_factory=DecideConfig)
    open_conflicts: frozenset[str] = frozenset()
    warns: str | None = None  # a word every warning list must contain
    kinds: frozenset[tuple[str, str]] | None = None  # the exact (side, kind) of the actions
    trashes: tuple[str, ...] = ()  # the duplicate items the run moves to Zotero's trash


ROWS = [
    Row("in step: nothing to do", synced),
    Row(
        "edit in the vault goes to Zotero",
        lambda: replace(synced(), note=note(edited(BASE, status="read"))),
        zotero="update",
    ),
    Row(
        "edit in Zotero goes to the vault",
        lambda: replace(synced(), zrecord=edited(BASE, status="read"), zitem=dict(ITEM)),
        vault="update",
    ),
    Row(
        "the same field changed differently on both sides stays open under ask",
        lambda: replace(
            synced(),
            zrecord=edited(BASE, status="read"),
            zitem=dict(ITEM),
            note=note(edited(BASE, status="reading")),
        ),
        vault="update",  # only the sync-conflict flag
        open_conflicts=frozenset({"status"}),
    ),
    Row(
        "an unreadable note is left alone, never taken as deleted",
        lambda: PaperView(pid=PID, state=state(), zrecord=dict(BASE), vault_unreadable=True),
        warns="cannot be read",
    ),
    Row(
        "a note deleted in the vault trashes the unchanged item",
        lambda: PaperView(pid=PID, state=state(), zrecord=dict(BASE), vault_gone=True),
        zotero="trash",
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "with Zotero off a deleted note waits for a run with Zotero (its policy then)",
        lambda: PaperView(pid=PID, state=state(), vault_gone=True),
        cfg=DecideConfig(zotero=False),
        warns="next run with Zotero",
    ),
    Row(
        "with Zotero off a deleted note of a paper with no item retires both sides: the "
        "first run with Zotero makes no item for it",
        lambda: PaperView(pid=PID, state=state(zotero_key=None), vault_gone=True),
        retire_zotero=True,
        retire_vault=True,
        cfg=DecideConfig(zotero=False),
    ),
    Row(
        "retired before it had an item, then an item a cut-short run made turns up: it goes "
        "to the trash (the note's deletion answers for it), the note is not written again",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_key=None, note_path=None, vault_retired=True, zotero_retired=True),
            zrecord=dict(BASE),
            zitem=dict(ITEM),
        ),
        zotero="trash",
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "the same item edited in Zotero since: the note comes back (modify beats delete)",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_key=None, note_path=None, vault_retired=True, zotero_retired=True),
            zrecord={**BASE, "tags": ("read-in-zotero",)},
            zitem=dict(ITEM),
        ),
        zotero="update",  # as for any item back from the trash (rule 3)
        vault="restore",
    ),
    Row(
        "the same unedited item under on_vault_delete: ignore: kept, the note comes back",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_key=None, note_path=None, vault_retired=True, zotero_retired=True),
            zrecord=dict(BASE),
            zitem=dict(ITEM),
        ),
        vault="restore",
        cfg=DecideConfig(on_vault_delete="ignore"),
    ),
    Row(
        "the same item holding the user's PDF: the note comes back (modify beats delete)",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_key=None, note_path=None, vault_retired=True, zotero_retired=True),
            zrecord=dict(BASE),
            zitem=dict(ITEM),
            z_user_children=True,
        ),
        vault="restore",
    ),
    Row(
        "the same with Zotero on (the item's creation had failed): no item is made",
        lambda: PaperView(pid=PID, state=state(zotero_key=None), vault_gone=True),
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "the same under on_vault_delete: ignore: the item is made, the note stays deleted",
        lambda: PaperView(pid=PID, state=state(zotero_key=None), vault_gone=True),
        zotero="create",
        retire_vault=True,
        cfg=DecideConfig(on_vault_delete="ignore"),
    ),
    Row(
        "under ignore with Zotero off: the vault side alone is retired",
        lambda: PaperView(pid=PID, state=state(zotero_key=None), vault_gone=True),
        retire_vault=True,
        cfg=DecideConfig(zotero=False, on_vault_delete="ignore"),
    ),
    Row(
        "a note deleted while the item changed: modify beats delete",
        lambda: PaperView(
            pid=PID,
            state=state(),
            zrecord=edited(BASE, tags=frozenset({"alpha", "zotero-added"})),
            zitem=dict(ITEM),
            vault_gone=True,
        ),
        vault="create",
        warns="modify beats delete",
    ),
    Row(
        "a note deleted, its item at the version the last sync saw: trashed",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_version=5),
            zrecord=dict(BASE),
            zitem=dict(ITEM),
            vault_gone=True,
        ),
        zotero="trash",
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "a note deleted, its unchanged item written since (restored from the trash after a "
        "run died): modify beats delete",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_version=4),
            zrecord=dict(BASE),
            zitem=dict(ITEM),
            vault_gone=True,
        ),
        vault="create",
        warns="written since the last sync",
    ),
    Row(
        "a note deleted after the user added a PDF to the item: modify beats delete",
        lambda: PaperView(
            pid=PID,
            state=state(),
            zrecord=dict(BASE),
            vault_gone=True,
            z_user_children=True,
        ),
        vault="create",
        warns="attachments or child notes",
    ),
    Row(
        "a note deleted under on_vault_delete: ignore retires the vault side only",
        lambda: PaperView(pid=PID, state=state(), zrecord=dict(BASE), vault_gone=True),
        retire_vault=True,
        cfg=DecideConfig(on_vault_delete="ignore"),
    ),
    Row(
        "an item trashed in Zotero trashes the unchanged note",
        lambda: replace(synced(), zitem=dict(ITEM), zotero_gone="trashed", zrecord=None),
        vault="trash",
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "an item trashed while the note changed: the item is restored",
        lambda: replace(
            synced(),
            zitem=dict(ITEM),
            zotero_gone="trashed",
            zrecord=None,
            note=note(edited(BASE, status="read")),
        ),
        zotero="restore",
        warns="modify beats delete",
    ),
    Row(
        "an item trashed under on_zotero_trash: ignore retires the Zotero side only",
        lambda: replace(synced(), zitem=dict(ITEM), zotero_gone="trashed", zrecord=None),
        retire_zotero=True,
        cfg=DecideConfig(on_zotero_trash="ignore"),
    ),
    Row(
        "deleted on both sides stays deleted",
        lambda: PaperView(pid=PID, state=state(), zotero_gone="deleted", vault_gone=True),
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "an item found only in Zotero's trash with no state stays there",
        lambda: PaperView(pid=PID, catalog=dict(BASE), zitem=dict(ITEM), zotero_gone="trashed"),
        retire_zotero=True,
        retire_vault=True,
        warns="left there",
    ),
    Row(
        "restoring a trashed item merges what it holds (its Zotero-only tag survives)",
        lambda: replace(
            synced(),
            zitem=dict(ITEM),
            zotero_gone="trashed",
            zrecord=None,
            zrecord_trashed=edited(BASE, tags=frozenset({"alpha", "zotero-only"})),
            note=note(edited(BASE, status="read")),
        ),
        zotero="restore",
        vault="update",
        warns="modify beats delete",
    ),
    Row(
        "a note that comes back restores the item trashed for it",
        lambda: PaperView(
            pid=PID, state=state(zotero_retired=True, vault_retired=True), note=note()
        ),
        zotero="restore",
    ),
    Row(
        "... but not in a run without Zotero: the return waits for one (nothing planned)",
        lambda: PaperView(
            pid=PID, state=state(zotero_retired=True, vault_retired=True), note=note()
        ),
        cfg=DecideConfig(zotero=False),
        warns="next run with Zotero restores its item",
        kinds=frozenset(),
    ),
    Row(
        "an item restored from Zotero's trash restores its note",
        lambda: PaperView(
            pid=PID,
            state=state(zotero_retired=True, vault_retired=True),
            zitem=dict(ITEM),
            zrecord=dict(BASE),
        ),
        vault="restore",
    ),
    Row(
        "a Zotero side retired on purpose is not recreated",
        lambda: PaperView(pid=PID, state=state(zotero_retired=True), note=note()),
    ),
    Row(
        "a vault side retired on purpose is not recreated",
        lambda: PaperView(pid=PID, state=state(vault_retired=True), zrecord=dict(BASE)),
    ),
    Row(
        "with Zotero off only the vault is written",
        lambda: replace(synced(), catalog=edited(BASE, title="Renamed Upstream")),
        vault="update",
        cfg=DecideConfig(zotero=False),
    ),
    Row(
        "a new paper is created on both sides",
        lambda: PaperView(pid=PID, catalog=dict(BASE)),
        zotero="create",
        vault="create",
    ),
    Row(
        "notes bound for a rich Zotero note are withheld and listed",
        lambda: replace(
            synced(), note=note(edited(BASE, notes="my first line\nmore")), z_note_rich=True
        ),
        open_conflicts=frozenset({"notes"}),
        vault="update",  # the sync-conflict flag
        warns="markdown cannot carry",
    ),
    Row(
        "a rich Zotero note does not stop other fields",
        lambda: replace(
            synced(),
            note=note(edited(BASE, notes="my first line\nmore", status="read")),
            z_note_rich=True,
        ),
        zotero="update",
        vault="update",
        open_conflicts=frozenset({"notes"}),
    ),
    Row(
        "copies of a note are warned about",
        lambda: replace(synced(), copies=("Papers/Synthetic Paper One 1.md",)),
        warns="copies are left alone",
    ),
    Row(
        "a stale copy taking over after the known note vanished removes nothing",
        lambda: replace(
            synced(),
            catalog=dict(BASE),
            note=note(edited(BASE, tags=frozenset(), notes=""), path="Papers/T 1.md"),
            note_from_copy=True,
        ),
        vault="update",  # the copy gets the tag and the notes back; Zotero keeps them
        warns="without deleting anything",
    ),
    Row(
        "a notes edit in the vault goes to an ordinary Zotero note",
        lambda: replace(synced(), note=note(edited(BASE, notes="my first line\nmore"))),
        zotero="update",
    ),
    Row(
        "a vanished Zotero notes child is written again",
        lambda: replace(synced(), z_note_missing=True),
        zotero="update",
    ),
    Row(
        "a note deleted while the Zotero side is retired: gone on both sides",
        lambda: PaperView(pid=PID, state=state(zotero_retired=True), vault_gone=True),
        retire_zotero=True,
        retire_vault=True,
    ),
    Row(
        "an item keeps syncing while its note is retired (on_vault_delete: ignore)",
        lambda: PaperView(
            pid=PID,
            state=state(vault_retired=True),
            zrecord=dict(BASE),
            catalog=edited(BASE, title="Renamed Upstream"),
        ),
        zotero="update",
    ),
    Row(
        "with Zotero off a stale Zotero record changes nothing",
        lambda: replace(synced(), zrecord=edited(BASE, status="read"), zitem=dict(ITEM)),
        cfg=DecideConfig(zotero=False),
    ),
    Row(
        "a paper that left the catalog is tombstoned on both sides",
        lambda: replace(synced(), catalog=edited(BASE, catalog="removed")),
        zotero="update",
        vault="update",
        kinds=frozenset({("zotero", "tombstone"), ("vault", "tombstone")}),
    ),
    Row(
        "note sections naming no known section change no collection",
        lambda: replace(
            synced(),
            note=note({k: v for k, v in BASE.items() if k != "sections"}),
            vault_sections_unknown=("Alignment-Sub",),
        ),
        warns="left as they are",
    ),
    Row(
        "... nor one naming two sections by their shared name: the warning names both",
        lambda: replace(
            synced(),
            note=note({k: v for k, v in BASE.items() if k != "sections"}),
            vault_sections_ambiguous=(("Data", ("L / A / Data", "L / B / Data")),),
        ),
        warns="matches 2 sections (L / A / Data; L / B / Data)",
    ),
    Row(
        "a paper whose catalog id changed rewrites the id on both sides",
        lambda: replace(synced(), renamed_from="title:abc"),
        zotero="update",
        vault="update",
        warns="changed this paper's id",
    ),
    Row(
        "rule 9: a duplicate item holding nothing new is trashed, nothing else written",
        lambda: with_dup(dict(BASE)),
        trashes=("DUPL0001",),
        warns="goes to Zotero's trash",
    ),
    Row(
        "rule 9: a duplicate's tag reaches the paper's item and note before it is trashed",
        lambda: with_dup(edited(BASE, tags=frozenset({"alpha", "from-dup"}))),
        zotero="update",
        vault="update",
        trashes=("DUPL0001",),
    ),
    Row(
        "rule 9: a duplicate's notes line reaches both sides before it is trashed",
        lambda: with_dup(edited(BASE, notes="my first line\n\na line in the duplicate")),
        zotero="update",
        vault="update",
        trashes=("DUPL0001",),
    ),
    Row(
        "rule 9: a differing status stays the paper's; the duplicate's is named",
        lambda: with_dup(edited(BASE, status="read")),
        trashes=("DUPL0001",),
        warns="status='read'",
    ),
    Row(
        "rule 9: a duplicate holding a user's attachment is merged from but not trashed",
        lambda: with_dup(edited(BASE, tags=frozenset({"alpha", "pdf"})), user_children=True),
        zotero="update",
        vault="update",
        warns="left in place",
    ),
    Row(
        "rule 9: with Zotero left out of the run a duplicate is left alone",
        lambda: with_dup(edited(BASE, tags=frozenset({"alpha", "from-dup"}))),
        cfg=DecideConfig(zotero=False),
    ),
    Row(
        "rule 9: a duplicate of an item being restored from the trash is folded into it",
        lambda: replace(
            with_dup(edited(BASE, tags=frozenset({"alpha", "from-dup"}))),
            zotero_gone="trashed",
            zrecord=None,
            zrecord_trashed=dict(BASE),
            note=note(edited(BASE, status="read")),
        ),
        zotero="restore",
        vault="update",
        trashes=("DUPL0001",),
        warns="restoring the item",
    ),
    Row(
        "rule 9: a duplicate not read yet (not in the change feed) is never trashed",
        lambda: replace(
            with_dup(dict(BASE)),
            duplicate_items=(DuplicateItem("arxiv:old", {"key": "DUPL0001"}, {}, unread=True),),
        ),
        warns="could not be read",
    ),
    Row(
        "an empty twin note the paper's note took over from goes to the vault's trash",
        lambda: replace(
            synced(), renamed_from="title:abc", discard_notes=(note(path="Papers/Twin.md"),)
        ),
        zotero="update",
        vault="update",
    ),
    Row(
        "rule 9: a copy the user turned into another item (its own title) is not folded in "
        "nor trashed: it is left as the user's own",
        lambda: with_dup(edited(BASE, title="A Journal Version", tags=frozenset({"mine"}))),
        warns="describes another item ('A Journal Version')",
        kinds=frozenset(),
    ),
    Row(
        "rule 9: ... also a copy with the same title and another DOI",
        lambda: replace(
            with_dup(edited(BASE, doi="10.1162/tacl_a_00999")),
            zrecord=edited(BASE, doi="10.48550/arxiv.2401.00001"),
        ),
        vault="update",  # (the paper's item got its DOI: that reaches the note)
        warns="describes another item",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_rule(row: Row) -> None:
    decided = decide([row.view()], row.cfg)
    (d,) = decided.decisions
    assert (d.zotero, d.vault) == (row.zotero, row.vault)
    assert (d.retire_zotero, d.retire_vault) == (row.retire_zotero, row.retire_vault)
    assert d.trash_duplicates == row.trashes
    assert d.trash_notes == d.view.discard_notes
    released = tuple(str(x.zitem["key"]) for x in d.release_duplicates)
    assert released == (("DUPL0001",) if "another item" in (row.warns or "") else ())
    opened = listed_fields(d.result) if d.result is not None else set()
    assert opened == set(row.open_conflicts)
    assert {c.field for c in decided.plan.conflicts} == set(row.open_conflicts)
    if row.warns:
        assert any(row.warns in w for w in decided.plan.warnings), decided.plan.warnings
    kinds = {(a.side, a.kind) for a in decided.plan.actions}
    if row.kinds is not None:
        assert kinds == row.kinds
    rich = any("markdown cannot carry" in w for w in decided.plan.warnings)
    assert d.rich_note_kept == rich
    for side, kind in (("zotero", d.zotero), ("vault", d.vault)):
        if kind is not None:
            assert any(s == side for s, _ in kinds), (side, kinds)
        else:
            assert not any(s == side for s, _ in kinds), (side, kinds)


def test_rich_note_conflict_keeps_both_texts() -> None:
    view = replace(
        synced(), note=note(edited(BASE, notes="my first line\nvault")), z_note_rich=True
    )
    (d,) = decide([view], DecideConfig()).decisions
    assert d.rich_note_kept and d.result is not None
    assert "notes" not in d.result.to_zotero and "notes" not in d.result.to_vault
    (c,) = d.result.conflicts
    assert (c.zotero, c.vault) == ("my first line", "my first line\nvault")


def test_decide_is_pure_and_deterministic() -> None:
    """The same views give the same plan twice, and deciding changes no view."""
    views = [row.view() for row in ROWS]
    snapshot = [repr(v) for v in views]
    a = decide(views, DecideConfig())
    b = decide(views, DecideConfig())
    assert a.plan.to_json() == b.plan.to_json()
    assert [repr(v) for v in views] == snapshot


def test_decisions_follow_input_order() -> None:
    views = [replace(synced(), pid=f"p{i}") for i in range(5)]
    assert [d.view.pid for d in decide(views, DecideConfig()).decisions] == [
        f"p{i}" for i in range(5)
    ]


@pytest.mark.parametrize(
    ("paths", "known", "keeps"),
    [
        (["P/Title 1.md", "P/Title.md"], "P/Title.md", "P/Title.md"),
        (["P/Title 1.md", "P/Title.md"], "P/Title 1.md", "P/Title 1.md"),
        (["P/Title 1.md", "P/Title.md"], None, "P/Title.md"),
        (["P/Title 2.md", "P/Title.md"], "P/Gone.md", "P/Title.md"),
        (["P/Title (2).md", "P/Title.md"], None, "P/Title.md"),
        (["P/Title copy.md", "P/Title.md"], None, "P/Title.md"),
        (["P/A/Title.md", "P/B/Title.md"], None, "P/A/Title.md"),
        (["P/Title 3.md", "P/Title 2.md"], None, "P/Title 2.md"),
    ],
)
def test_choose_identity_note(paths: list[str], known: str | None, keeps: str) -> None:
    assert choose_identity_note(paths, known) == keeps
    assert choose_identity_note(list(reversed(paths)), known) == keeps


def test_differs() -> None:
    assert not differs(BASE, dict(BASE))
    assert differs(BASE, edited(BASE, status="read"))
    assert differs(None, BASE) and not differs(None, None)


def test_a_rich_note_edited_on_both_sides_is_one_open_conflict() -> None:
    view = replace(
        synced(),
        zitem=dict(ITEM),
        zrecord=edited(BASE, notes="my first line\nzotero", status="read"),
        note=note(edited(BASE, notes="my first line\nvault")),
        z_note_rich=True,
    )
    decided = decide([view], DecideConfig())
    (d,) = decided.decisions
    assert d.result is not None
    assert [(c.field, c.resolution) for c in d.result.conflicts] == [("notes", None)]
    assert "notes" not in d.result.to_zotero and "notes" not in d.result.to_vault
    changes = [c.field for a in decided.plan.actions if a.side == "zotero" for c in a.changes]
    assert "notes" not in changes


def test_a_rich_note_keeps_other_fields_in_the_zotero_action() -> None:
    view = replace(
        synced(),
        note=note(edited(BASE, notes="my first line\nmore", status="read")),
        z_note_rich=True,
    )
    decided = decide([view], DecideConfig())
    (act,) = [a for a in decided.plan.actions if a.side == "zotero"]
    assert [c.field for c in act.changes] == ["status"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"title": "T"}, {"title": "T", "status": "read"}),
        ({"title": "T", "status": "read"}, {"title": "T"}),
    ],
)
def test_a_field_on_one_side_only_differs(a: Record, b: Record) -> None:
    assert differs(a, b)


def test_a_rich_note_touches_only_its_own_papers_actions() -> None:
    rich = replace(synced(), note=note(edited(BASE, notes="my first line\nmore")), z_note_rich=True)
    other = replace(
        synced(), pid="arxiv:2401.00002", note=note(edited(BASE, notes="my first line\nmore"))
    )
    decided = decide([other, rich], DecideConfig())
    acts = [(a.pid, a.side, [c.field for c in a.changes]) for a in decided.plan.actions]
    assert ("arxiv:2401.00002", "zotero", ["notes"]) in acts
    assert not any(pid == PID and side == "zotero" for pid, side, _ in acts)


def test_a_restore_keeps_what_the_trashed_item_held() -> None:
    view = replace(
        synced(),
        zitem=dict(ITEM),
        zotero_gone="trashed",
        zrecord=None,
        zrecord_trashed=edited(BASE, tags=frozenset({"alpha", "zotero-only"})),
        note=note(edited(BASE, status="read")),
    )
    (d,) = decide([view], DecideConfig()).decisions
    assert d.zotero == "restore" and d.result is not None
    assert d.result.merged["tags"] == frozenset({"alpha", "zotero-only"})
    assert d.result.merged["status"] == "read"


def test_a_restore_with_a_conflict_open_keeps_the_items_own_value() -> None:
    """An open conflict writes neither side, a restore included: the item comes back holding
    its own value of the open field, not the base's."""
    view = replace(
        synced(),
        zitem=dict(ITEM),
        zotero_gone="trashed",
        zrecord=None,
        zrecord_trashed=edited(BASE, status="read"),
        note=note(edited(BASE, status="skimmed")),
    )
    decided = decide([view], DecideConfig(conflict="ask"))
    (d,) = decided.decisions
    assert d.zotero == "restore" and d.result is not None
    assert d.result.open_fields == {"status"}
    assert d.restore_fields is not None and d.restore_fields["status"] == "read"
    (act,) = [a for a in decided.plan.actions if a.side == "zotero"]
    assert {c.field: c.new for c in act.changes}["status"] == "read"


def test_a_duplicate_items_user_data_is_merged_into_both_sides() -> None:
    """Rule 9: what the user wrote in the duplicate (a tag, a notes line, a status the
    paper's item leaves empty) is in what the run writes to the item and the note."""
    base = edited(BASE, status=None)
    dup = edited(
        base,
        tags=frozenset({"alpha", "from-dup"}),
        notes="my first line\n\nin the dup",
        status="read",
    )
    v = replace(
        with_dup(dup),
        state=state(base=dict(base), zotero_record=dict(base)),
        zrecord=dict(base),
        note=note(base),
    )
    (d,) = decide([v], DecideConfig()).decisions
    assert d.result is not None
    for side in (d.result.to_zotero, d.result.to_vault):
        assert side["tags"] == frozenset({"alpha", "from-dup"})
        assert "in the dup" in side["notes"] and "my first line" in side["notes"]
        assert side["status"] == "read"
    assert d.trash_duplicates == ("DUPL0001",)


def test_duplicates_fold_in_key_order_whatever_the_input_order() -> None:
    """Rule 9 is deterministic: two duplicates with differing statuses give one result."""
    base = edited(BASE, status=None)
    a = DuplicateItem("x:1", {"key": "DUPA"}, edited(base, status="read"))
    b = DuplicateItem("x:2", {"key": "DUPB"}, edited(base, status="reading"))
    results = []
    for dups in ((a, b), (b, a)):
        v = replace(
            synced(zitem=dict(ITEM), duplicate_items=dups),
            state=state(base=dict(base), zotero_record=dict(base)),
            zrecord=dict(base),
            note=note(base),
        )
        (d,) = decide([v], DecideConfig()).decisions
        assert d.result is not None
        results.append((d.result.merged["status"], sorted(d.trash_duplicates)))
    assert results[0] == results[1] == ("read", ["DUPA", "DUPB"])


EMPTY: Record = complete_record({"title": "Synthetic Paper One", "arxiv": "2401.00001"})


@pytest.mark.parametrize(
    ("rec", "base", "want"),
    [
        (None, EMPTY, False),
        (EMPTY, EMPTY, False),
        (edited(EMPTY, notes="  \n"), EMPTY, False),  # blank lines are no text
        (edited(EMPTY, notes="mine"), EMPTY, True),
        (edited(EMPTY, status="read"), EMPTY, True),
        (edited(EMPTY, rating=3), EMPTY, True),
        (edited(EMPTY, tags=frozenset({"x"})), EMPTY, True),
        (edited(EMPTY, title="My Own Title"), EMPTY, True),  # an edit of a list field
        (edited(EMPTY, title="My Own Title"), None, False),  # (no base: no edit told)
        (edited(EMPTY, authors=()), edited(EMPTY, authors=None), False),
    ],
)
def test_holds_user_data(rec: Record | None, base: Record | None, want: bool) -> None:
    """Which note or item a same-title twin's rename may take over from (its user data
    kept), or discard (none: ``identity.hand_over_to_an_empty_twin``)."""
    assert holds_user_data(rec, base) is want


@pytest.mark.parametrize(
    ("rec", "edited"),
    [
        ({"title": "T", "venue": "ICLR 2024"}, False),  # the list's venue, waiting for Zotero
        ({"title": "T", "venue": "My Venue"}, True),  # the user's own venue
        ({"title": "T", "venue": None, "status": "read"}, True),  # a field only users write
        ({"title": "T", "venue": None}, False),  # as agreed
    ],
)
def test_a_field_holding_the_lists_value_is_no_edit(rec: Record, edited: bool) -> None:
    base: Record = {"title": "T", "venue": None}
    catalog: Record = {"title": "T", "venue": "ICLR 2024"}
    assert edited_past_the_list(rec, base, catalog) is edited
