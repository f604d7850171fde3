"""Every decision of a sync run, made in one pure pass before anything is written.

The engine *collects* the catalog, the Zotero snapshot, the vault scan and the state into
plain ``PaperView`` values; :func:`decide` turns them into a :class:`Decided` plan (per paper:
what to write, create, trash, restore or retire on each side, which conflicts stay open, and
what to warn about); the engine then only *applies* that plan. No IO happens here and no store
object is touched, so a dry run and a real run take exactly the same decisions, and every rule
below is table-tested in ``tests/sync/test_decide.py`` without an emulator.

The rules, in the order they are checked for one paper:

1. **Copies.** Of several notes carrying one id, the path the state knows keeps the identity
   (else :func:`choose_identity_note`); the copies are listed and left alone, and a copy that
   vanishes deletes nothing. When the known note vanishes and a copy that sat beside it
   remains, the copy is merged without a base: it may add, never remove.
   A note that exists but cannot be read is left alone (never taken for a deleted note).
2. A paper gone (or retired) on every side stays gone (so does one found only in Zotero's
   trash when nothing is known about it: no state, no note); a retired side stays retired until its
   copy comes back.
3. **Restore both ways.** A paper retired on both sides (trashed on one side because the user
   deleted it on the other) whose note comes back gets its item restored from Zotero's trash;
   one whose item comes back from Zotero's trash gets its note restored (from the vault's
   trash folder when it is there, else written again).
4. **Note deleted in the vault.** With ``on_vault_delete: zotero-trash`` the item goes to
   Zotero's trash, unless the item changed since the last sync or holds children a user made
   (a PDF, a child note): modify beats delete, the note is written again (trash such an item
   in Zotero to remove the paper). ``ignore`` retires the vault side. A note deleted
   before its paper ever had an item retires both sides: no item is made for it.
5. **Item trashed or deleted in Zotero.** With ``on_zotero_trash: vault-trash`` the note goes
   to the vault's trash folder unless it changed since the last sync (then the item is
   restored). ``ignore`` retires the Zotero side.
6. **Collections never follow vanished files.** A note's ``sections`` naming a section no index
   note, collection or catalog knows (a link to a deleted index note, read as a path) say
   nothing this run (``vault_sections_unknown``): the agreed membership stays.
7. Otherwise the paper is merged field by field (``merge.merge_paper``) and every side that
   differs from the merged record is written.
8. **Rich Zotero notes.** A notes change bound for a Zotero note that holds what markdown
   cannot carry (images, annotations, citations, colours) is not written: it becomes an open
   notes conflict and both sides keep their text.
9. **Duplicate items.** A paper with a second live Zotero item (one restored from the trash
   after the paper got a new item under a new id, a duplicate carrying its id) keeps one
   item: what the user wrote in the duplicate is folded into the paper's item first (tags
   joined, notes joined as text, an empty status or rating filled; a differing value stays in
   the duplicate and is named in a warning), then the duplicate goes to Zotero's trash. One
   holding a user's attachments or child notes is merged from but left in place. One whose
   title or DOI differ from the paper's item describes another item (a copy the user turned
   into, say, the journal version): it is not merged, and is left as the user's own item with
   pllm-sync's lines taken out of its Extra. One the change feed did not return is read
   first (with its children); until then it is kept, never trashed nor released.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import Paper, normalize_title
from ..record import SYNCED_FIELDS, USER_FIELDS, Record
from ..vault.store import NoteInfo
from .children import has_user_children, other_pllm_notes
from .merge import MISSING, SET_MERGED, FieldConflict, MergeResult, Policy, merge_paper
from .plan import ConflictNote, Plan
from .state import PaperState
from .textmerge import merge_union


@dataclass(frozen=True)
class DecideConfig:
    """The configuration values the rules depend on (and nothing else)."""

    zotero: bool = True
    """Zotero takes part in this run (``--zotero off`` leaves it out)."""
    conflict: Policy = "ask"
    on_vault_delete: str = "zotero-trash"
    on_zotero_trash: str = "vault-trash"


@dataclass(frozen=True)
class DuplicateItem:
    """A second live Zotero item of one paper (an item restored from the trash after the
    paper got a new item under a new id, two items carrying one id): its user data is
    folded into the paper's item, then it goes to Zotero's trash (recoverable)."""

    pid: str  # the id it carries (the paper's, or an id the paper had before)
    zitem: dict[str, Any]
    zrecord: Record
    user_children: bool = False  # a PDF or child note a user made: it is never trashed
    unread: bool = False
    """Not in the change feed: known only by its key and the record the state keeps. Never
    trashed before the engine has read it and its children (``Engine._decide_all``)."""

    @classmethod
    def of(
        cls, pid: str, zitem: dict[str, Any], children: Iterable[Mapping[str, Any]], zrecord: Record
    ) -> DuplicateItem:
        """The duplicate ``zitem`` (with its ``children``) carrying ``pid``: the one place
        that asks whether a user made any of its children, so every way a duplicate is
        found (the change feed, an unchanged item, a note joined by title) counts them
        alike."""
        return cls(pid, zitem, zrecord, has_user_children(children, PaperState(pllm_id=pid)))


@dataclass
class PaperView:
    """Everything known about one paper before deciding, as plain values."""

    pid: str
    paper: Paper | None = None
    catalog: Record | None = None
    state: PaperState | None = None
    zitem: dict[str, Any] | None = None
    zchildren: list[dict[str, Any]] = field(default_factory=list)
    zrecord: Record | None = None
    zotero_gone: str | None = None  # "trashed" | "deleted"
    zrecord_trashed: Record | None = None  # what a trashed item holds (merged on restore)
    note: NoteInfo | None = None
    vault_gone: bool = False
    vault_unreadable: bool = False  # the note exists but could not be read this run
    vault_unreadable_why: str = ""  # what is at its path instead (for the warning)
    vault_evicted: bool = False  # unreadable: only the cloud's placeholder stands for it
    z_note_missing: bool = False  # our notes child vanished in Zotero: write it again
    z_note_rich: bool = False  # our Zotero notes child holds what markdown cannot carry
    z_user_children: bool = False  # the item holds a child a user made (PDF, child note)
    user_added: str | None = None  # "vault" | "zotero" when a user created it by hand
    copies: tuple[str, ...] = ()  # other notes carrying the same pllm-sync-id
    vault_sections_unknown: tuple[str, ...] = ()  # note sections naming no known section
    # note sections naming several known sections (by name alone), with their candidates
    vault_sections_ambiguous: tuple[tuple[str, tuple[str, ...]], ...] = ()
    note_from_copy: bool = False  # the known note vanished; a copy that sat beside it remains
    renamed_from: str | None = None  # the paper's previous catalog id (identity followed)
    duplicate_items: tuple[DuplicateItem, ...] = ()  # other live items of this paper
    # notes of a same-title twin that this paper's note took over from (empty, moved to the
    # vault's trash folder: ``identity.hand_over_to_an_empty_twin``)
    discard_notes: tuple[NoteInfo, ...] = ()
    notices: tuple[str, ...] = ()  # warnings the identity join has for this paper

    @property
    def title(self) -> str:
        for rec in (
            self.catalog,
            self.zrecord,
            self.note.record if self.note else None,
            self.state.base if self.state else None,
            # an item found only in Zotero's trash: its title is what joins it to its paper
            # when the list has changed the paper's id since (the state lost meanwhile)
            self.zrecord_trashed,
        ):
            if rec and rec.get("title"):
                return str(rec["title"])
        return self.pid


@dataclass
class Decision:
    """What the run does for one paper; ``apply`` executes exactly this."""

    view: PaperView
    result: MergeResult | None
    zotero: str | None = None  # create | update | trash | restore
    vault: str | None = None  # create | update | trash | restore
    retire_zotero: bool = False  # the Zotero copy is gone on purpose: do not recreate it
    retire_vault: bool = False  # the note is gone on purpose: do not recreate it
    rich_note_kept: bool = False  # a notes change was withheld from a rich Zotero note
    trash_duplicates: tuple[str, ...] = ()
    """Keys of the paper's duplicate items to move to Zotero's trash (their data folded in)."""
    release_duplicates: tuple[DuplicateItem, ...] = ()
    """Second items carrying the paper's id that describe another item (the user made a
    copy of the item in Zotero and turned it into another paper or version): left as the
    user's own, with pllm-sync's lines taken out of their Extra."""
    trash_notes: tuple[NoteInfo, ...] = ()
    """Empty twin notes to move to the vault's trash folder (``PaperView.discard_notes``),
    before the paper's own note is written."""
    restore_fields: Record | None = None
    """What a restore writes to the item when a conflict stays open: the merge, with each
    open field at the value the trashed item held (an open conflict writes neither side)."""


@dataclass
class Decided:
    plan: Plan
    decisions: list[Decision]


_COPY_SUFFIX = re.compile(r"(?:[ _-]+(?:\d+|copy|conflict.*)|\s*\(\d+\))$", re.IGNORECASE)


def choose_identity_note(paths: Iterable[str], known: str | None) -> str:
    """Of several notes carrying one ``pllm-sync-id``, the one that keeps the identity.

    The path the state knows wins (the copy a user or a cloud client made is not the note we
    synced). Without one: a name without a copy suffix (``Title 1``, ``Title (2)``,
    ``Title copy``, ``Title conflict ...``) beats one with, then the shorter name, then path
    order: a deterministic choice that does not depend on how file names sort."""
    options = sorted(dict.fromkeys(paths))
    if not options:
        raise ValueError("no paths to choose from")
    if known in options:
        return str(known)

    def rank(path: str) -> tuple[bool, int, str]:
        stem = path.rsplit("/", 1)[-1].removesuffix(".md")
        return (bool(_COPY_SUFFIX.search(stem)), len(stem), path)

    return min(options, key=rank)


def listed_fields(res: MergeResult) -> set[str]:
    """Fields the user must look at: open conflicts, and notes kept both (until the markers
    are gone)."""
    return set(res.open_fields) | ({"notes"} if res.has_marked_notes else set())


def item_mtime(item: dict[str, Any] | None) -> float | None:
    """Seconds since the epoch of an item's ``dateModified`` (for the ``newest`` policy)."""
    if not item or not item.get("dateModified"):
        return None
    try:
        return dt.datetime.fromisoformat(
            str(item["dateModified"]).replace("Z", "+00:00")
        ).timestamp()
    except ValueError:
        return None


def item_written_since(v: PaperView) -> bool:
    """The item was written after the last sync recorded its version: by the user (a restore
    from Zotero's trash, an edit to a field we do not sync) or by a run that died before it
    saved its state. Either way it is not the untouched item a deleted note may take along
    (modify beats delete); at worst the note is written again, never is an item lost."""
    st, item = v.state, v.zitem
    if st is None or st.zotero_version is None or item is None:
        return False
    version = item.get("version")
    return isinstance(version, int) and version > st.zotero_version


def differs(a: Record | None, b: Record | None) -> bool:
    """Whether two records differ on any synced field (None differs from any record)."""
    if a is None or b is None:
        return a is not b
    return any(a.get(k) != b.get(k) for k in SYNCED_FIELDS if k in a or k in b)


def edited_past_the_list(rec: Record | None, base: Record | None, catalog: Record | None) -> bool:
    """:func:`differs`, except that a field holding the list's own current value is no
    edit: no user's work is lost by following a deletion of the other side there. A note
    written for an adopted item holds the list's venue while the base (the item's empty
    venue) waits for it to reach Zotero; a user who trashed the item at once found it
    restored, "modify beats delete", for an edit nobody made."""
    if rec is None or base is None or catalog is None:
        return differs(rec, base)
    return any(
        rec.get(k) != base.get(k) and (k not in catalog or rec.get(k) != catalog.get(k))
        for k in SYNCED_FIELDS
        if k in rec or k in base
    )


def _edited(item: Record | None, base: Record | None) -> bool:
    """Whether an item holds other values than ``base`` on a synced field, an empty value
    and a missing one alike (an item of a paper without authors reads ``()`` where the
    base holds None): a user's edit, not the item as a run made it. (With no base nothing
    tells an edit: the caller does not ask.)"""
    if item is None or base is None:
        return item is not base
    return not all(same_or_empty(item.get(k), base.get(k)) for k in SYNCED_FIELDS)


def holds_user_data(rec: Record | None, base: Record | None) -> bool:
    """Whether a note's or an item's record holds something a user put there: a value in
    a field only users write (tags, status, rating, the notes text), or a synced field
    edited away from ``base`` (the record the last sync agreed on; None: not asked)."""
    if rec is None:
        return False
    if isinstance(rec.get("notes"), str) and not rec["notes"].strip():
        rec = {**rec, "notes": None}  # blank lines are no text
    for k in USER_FIELDS:
        val = rec.get(k)
        if isinstance(val, str) and not val.strip():
            continue
        if val:
            return True
    return base is not None and _edited(rec, base)


def same_or_empty(a: Any, b: Any) -> bool:
    """Equal values, an empty one and a missing one alike (``()``, ``""`` and None)."""
    return (a or None) == (b or None)


def decide(views: Iterable[PaperView], cfg: DecideConfig) -> Decided:
    """The plan for one run: pure, deterministic, one decision per view (in input order)."""
    plan = Plan()
    decisions = [decide_paper(v, cfg, plan) for v in views]
    return Decided(plan, decisions)


def decide_paper(v: PaperView, cfg: DecideConfig, plan: Plan) -> Decision:
    """Decide one paper (the rules of the module docstring), adding its actions to ``plan``."""
    st = v.state
    base = st.base if st else None
    vrec = v.note.record if v.note else None
    d = Decision(v, None)
    if v.note_from_copy and v.note is not None:
        # rule 1: a copy may be stale (made before later edits); merged without a base it can
        # add but never remove: its differences become additions or listed conflicts
        base = None
        plan.warnings.append(
            f"{v.pid}: the note the last sync used is gone; its copy {v.note.path} takes "
            "over and is merged without deleting anything"
        )
    if v.copies:
        where = v.note.path if v.note else "?"
        plan.warnings.append(
            f"{v.pid}: {len(v.copies) + 1} notes carry this paper's id; {where} keeps it, "
            f"the copies are left alone: {', '.join(v.copies)}"
        )
    plan.warnings.extend(v.notices)
    if v.vault_sections_unknown:
        plan.warnings.append(
            f"{v.pid}: its note links to sections no index note or collection knows "
            f"({', '.join(v.vault_sections_unknown)}); its collections are left as they are "
            "-- next step: `pllm-sync pull` reads the lists' sections (and their collections) "
            "again, e.g. after a lost state or a copied vault"
        )
    if v.zchildren and v.zitem is not None:
        others = other_pllm_notes(v.zchildren, st)
        if others:
            plan.warnings.append(
                f"{v.pid}: its Zotero item {v.zitem.get('key')} has {len(others) + 1} notes "
                f"marked as pllm-sync's (Merge Items keeps both items' notes); only one syncs "
                f"with the vault, not {', '.join(others)}: copy what you need from "
                f"{'it' if len(others) == 1 else 'them'} into the note, then delete "
                f"{'it' if len(others) == 1 else 'them'} in Zotero"
            )
    for entry, cands in v.vault_sections_ambiguous:
        plan.warnings.append(
            f"{v.pid}: its note's section link {entry!r} matches {len(cands)} sections "
            f"({'; '.join(cands)}); its collections are left as they are -- next step: "
            "link the one you mean by its index note's path, as pllm-sync writes it"
        )
    if v.vault_unreadable:
        plan.warnings.append(
            f"{v.pid}: its note {st.note_path if st else ''} "
            f"{v.vault_unreadable_why or 'cannot be read'}; left alone this run"
        )
        if v.vault_evicted:
            plan.evicted.append(plan.warnings[-1])
        return d
    # Which sides take part. A side the user removed on purpose stays removed until its
    # copy comes back (an item restored from the trash, a note moved back).
    zside = cfg.zotero
    z_back = v.zitem is not None and not v.zotero_gone
    both_retired = bool(st and st.zotero_retired and st.vault_retired)
    z_retired = zside and bool(st and st.zotero_retired) and not z_back
    v_retired = bool(st and st.vault_retired) and v.note is None
    restore_item = restore_note = False
    if zside and both_retired and v.note is not None and not z_back:
        # rule 3: the note came back (moved out and back, a cloud stub filled in): the item
        # we trashed for it comes back too
        z_retired, restore_item = False, True
    elif (
        zside
        and both_retired
        and z_back
        and v.note is None
        and st is not None
        and not st.zotero_key
        and not v.z_user_children
        and cfg.on_vault_delete != "ignore"
        and not (st.base is not None and _edited(v.zrecord, st.base))
    ):
        # retired before it had an item (its note deleted), yet an item carries its id: one
        # a cut-short run made and never recorded, not one that came back from the trash.
        # The deletion answers for it as for any item of a deleted note; an item the user
        # edited, or gave a PDF or a note, meanwhile brings the note back instead (rule 3:
        # modify beats delete), and so does ``on_vault_delete: ignore``
        plan.add("zotero", "trash", v.pid, v.title, reason="note deleted in the vault")
        d.zotero, d.retire_zotero, d.retire_vault = "trash", True, True
        return d
    elif zside and both_retired and z_back and v.note is None:
        v_retired, restore_note = False, True  # rule 3: the item came back from the trash
    z_gone_now = zside and v.zotero_gone is not None and not z_retired and not restore_item
    v_gone_now = v.vault_gone and not v_retired and not restore_note
    z_active = zside and not z_retired
    v_active = not v_retired

    if st is None and v.zotero_gone and v.note is None:
        # no state (a first run, a lost database): an item found only in Zotero's trash,
        # with no note, is the user's deletion, not a paper to bring back
        plan.warnings.append(
            f"{v.pid}: its item is in Zotero's trash and nothing is known about it; left "
            "there (restore it in Zotero to sync it again)"
        )
        d.retire_zotero, d.retire_vault = zside, True
        return d
    if not zside and both_retired and v.note is not None:
        # rule 3 needs Zotero: taken back on the vault side alone, the note looked known
        # and unchanged to the next run with Zotero, and its item stayed in the trash
        plan.warnings.append(
            f"{v.pid}: its note {v.note.path} is back; the next run with Zotero restores "
            "its item from Zotero's trash"
        )
        return d  # (the engine keeps a paper retired while its item is still trashed)
    if not zside and v_gone_now and st is not None and st.zotero_key and not st.zotero_retired:
        # a note deleted while Zotero is out of the run, its item live there: the deletion
        # waits for a run with Zotero, which applies ``on_vault_delete`` to it. Retiring the
        # vault side now once left the item live for good, whatever the policy said.
        plan.warnings.append(
            f"{v.pid}: its note was deleted; the next run with Zotero applies "
            f"on_vault_delete ({cfg.on_vault_delete}) to its item"
        )
        return d
    if (
        v_gone_now
        and st is not None
        and not st.zotero_key
        and v.zitem is None
        and v.zotero_gone is None
        and not z_retired
        and cfg.on_vault_delete != "ignore"
    ):
        # the note was deleted before its paper ever had an item (a vault made without
        # Zotero, an item whose creation failed): the deletion answers for both sides, as
        # ``on_vault_delete`` would for an item; making one now (live, or only to trash it)
        # went against the user's word
        d.retire_zotero, d.retire_vault = True, True
        return d
    if (z_gone_now or z_retired or not zside) and (v_gone_now or v_retired):
        # gone (or given up) on every side: nothing to bring back
        d.retire_zotero, d.retire_vault = zside, True
        return d
    if v_gone_now:
        if cfg.on_vault_delete == "ignore":
            d.retire_vault, v_active = True, False
        elif (
            v.zrecord is not None
            and not differs(v.zrecord, base)
            and not v.z_user_children
            and not item_written_since(v)
        ):
            plan.add("zotero", "trash", v.pid, v.title, reason="note deleted in the vault")
            d.zotero, d.retire_zotero, d.retire_vault = "trash", True, True
            return d
        else:
            if v.z_user_children and not differs(v.zrecord, base):
                why = "the item holds the user's attachments or child notes"
            elif not differs(v.zrecord, base):
                why = "the Zotero item was written since the last sync (restored from the trash?)"
            else:
                why = "the Zotero item changed since"
            plan.warnings.append(
                f"{v.pid}: note deleted in the vault but {why}; writing the note again "
                "(modify beats delete)"
            )
    if z_gone_now:
        if cfg.on_zotero_trash == "ignore":
            d.retire_zotero, z_active = True, False
        elif v.note is not None and not edited_past_the_list(vrec, base, v.catalog):
            plan.add("vault", "trash", v.pid, v.title, reason=f"item {v.zotero_gone} in Zotero")
            d.vault, d.retire_zotero, d.retire_vault = "trash", True, True
            return d
        elif v.note is not None:
            plan.warnings.append(
                f"{v.pid}: item {v.zotero_gone} in Zotero but the note "
                "changed since; restoring the item (modify beats delete)"
            )
    if not z_active and not v_active:
        return d

    zrec = v.zrecord if z_active and not v.zotero_gone and not restore_item else None
    restoring = z_active and (v.zotero_gone == "trashed" or restore_item)
    if restoring:
        zrec = v.zrecord_trashed  # merged, so the restore loses nothing Zotero held
    item_rec = zrec  # what the paper's item holds, before its duplicates are folded in
    if v.duplicate_items and zrec is not None:
        # rule 9: the paper's other live items hand over what the user wrote in them
        same = tuple(
            x
            for x in v.duplicate_items
            # (one not read yet is judged once read: until then it is only kept)
            if x.unread or not describes_another(x.zrecord, zrec)
        )
        other = tuple(x for x in v.duplicate_items if x not in same)
        zrec = fold_duplicates(zrec, same, plan, v.pid)
        d.trash_duplicates = tuple(
            str(x.zitem["key"]) for x in same if not (x.user_children or x.unread)
        )
        d.release_duplicates = other
        for x in other:
            plan.warnings.append(
                f"{v.pid}: Zotero item {x.zitem.get('key')} carries this paper's id but "
                f"describes another item ({x.zrecord.get('title')!r}); it is left as your "
                "own item, and pllm-sync's lines are taken out of its Extra"
            )
    vr = vrec if v_active else None
    result = merge_paper(
        base=base,
        catalog=v.catalog,
        catalog_base=st.catalog_base if st else None,
        zotero=zrec,
        vault=vr,
        policy=cfg.conflict,
        zotero_mtime=item_mtime(v.zitem),
        vault_mtime=v.note.mtime_ns / 1e9 if v.note else None,
    )
    d.result = result
    if item_rec is not zrec and item_rec is not None:
        # what a duplicate added must reach the paper's item, which does not hold it yet
        for k, val in result.merged.items():
            if k not in result.open_fields and item_rec.get(k, MISSING) != val:
                result.to_zotero.setdefault(k, val)
    if (v.vault_sections_unknown or v.vault_sections_ambiguous) and vr is not None:
        result.to_vault.pop("sections", None)  # links stay as the user left them
    if v.z_note_missing and result.merged.get("notes") and zrec is not None:
        result.to_zotero["notes"] = result.merged["notes"]
    if z_active:
        if zrec is None or restoring:
            kind = "restore" if restoring else "create"
            d.zotero = kind
            why = "its note came back" if restore_item else ""
            fields = result.merged
            if restoring and zrec is not None and result.open_fields:
                held = {k: zrec[k] for k in result.open_fields if k in zrec}
                fields = d.restore_fields = {**result.merged, **held}
            plan.add("zotero", kind, v.pid, v.title, fields, reason=why)
        elif result.to_zotero or v.user_added == "zotero" or v.renamed_from:
            d.zotero = "update"
            kind = "tombstone" if result.to_zotero.get("catalog") == "removed" else "update"
            plan.add("zotero", kind, v.pid, v.title, result.to_zotero, zrec)
    if d.zotero == "update" and "notes" in result.to_zotero and v.z_note_rich:
        _keep_rich_note(d, plan)
    if v_active and v.discard_notes:
        d.trash_notes = v.discard_notes
    if v_active:
        if vr is None:
            d.vault = "restore" if restore_note else "create"
            why = "its item came back from Zotero's trash" if restore_note else ""
            plan.add("vault", d.vault, v.pid, v.title, result.merged, reason=why)
        elif (
            result.to_vault
            or v.user_added == "vault"
            or v.renamed_from
            or conflict_flag_changes(v, result)
        ):
            d.vault = "update"
            kind = "tombstone" if result.to_vault.get("catalog") == "removed" else "update"
            plan.add("vault", kind, v.pid, v.title, result.to_vault, vr)
    if v.renamed_from:
        plan.warnings.append(
            f"{v.pid}: the catalog changed this paper's id from {v.renamed_from}; its item "
            "and note keep their data and take the new id"
        )
    for c in result.conflicts:
        plan.conflicts.append(ConflictNote(v.pid, v.title, c.field, c.base, c.zotero, c.vault))
    plan.warnings.extend(upstream_notices(v.pid, result))
    return d


def upstream_notices(pid: str, result: MergeResult) -> list[str]:
    """What the list's changes did to values the user set: kept theirs (their edit beats
    the change), or replaced one they had set at an earlier sync (title, venue and the other
    list fields follow the list; the enriched ones never do). Said once, in the run that
    applies the change: the next run's catalog base is the list's new value."""
    out: list[str] = []
    for f, theirs in sorted(result.overridden_upstream.items()):
        out.append(
            f"{pid}: the list changed {f} to {_shown(theirs)}; your {f} "
            f"{_shown(result.merged.get(f))} stays"
        )
    for f, mine in sorted(result.replaced_by_upstream.items()):
        out.append(
            f"{pid}: the list changed {f} to {_shown(result.merged.get(f))}, replacing your "
            f"{_shown(mine)}; set it again in the note or in Zotero to keep yours"
        )
    return out


def _shown(value: Any, limit: int = 80) -> str:
    """A value as a warning quotes it: one line, cut at ``limit`` characters."""
    if isinstance(value, frozenset | set):
        value = ", ".join(sorted(map(str, value)))
    elif isinstance(value, tuple | list):
        value = ", ".join(map(str, value))
    text = " ".join(str(value if value is not None else "").split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def describes_another(dup: Record, item: Record) -> bool:
    """Whether a second item carrying a paper's id describes another item than the
    paper's: its title or DOI differ. Zotero's Duplicate Item copies Extra, id line
    included; a copy the user then turned into, say, the journal version (its own title,
    DOI, abstract) was folded into the paper and moved to Zotero's trash, which empties
    itself after 30 days."""
    if normalize_title(str(dup.get("title") or "")) != normalize_title(
        str(item.get("title") or "")
    ):
        return True
    a, b = str(dup.get("doi") or "").lower(), str(item.get("doi") or "").lower()
    return bool(a and b and a != b)


def fold_duplicates(zrec: Record, dups: Iterable[DuplicateItem], plan: Plan, pid: str) -> Record:
    """Rule 9: the record of the paper's item with what its duplicate items hold folded in,
    so that trashing a duplicate loses nothing a user wrote (the user's fields only: the
    catalog's come from the catalog): tags are joined, notes are joined as text (lines only
    one holds are kept; different passages at one place are kept both between markers), and
    a status or rating the item leaves empty takes the duplicate's value. A field both hold differently keeps the paper's item's value; the duplicate's is
    named in a warning (and stays in the trashed duplicate, which can be restored).
    Deterministic: duplicates are folded in key order."""
    out = dict(zrec)
    for dup in sorted(dups, key=lambda x: str(x.zitem.get("key"))):
        key = str(dup.zitem.get("key"))
        kept: list[str] = []
        for k in USER_FIELDS:  # the catalog's fields come from the catalog, not a duplicate
            if k not in dup.zrecord:
                continue
            val, have = dup.zrecord[k], out.get(k, MISSING)
            if k in SET_MERGED:
                out[k] = frozenset(have or ()) | frozenset(val or ())
            elif k == "notes":
                out[k] = merge_union(
                    str(have or ""), str(val or ""), theirs_label="zotero duplicate"
                ).text
            elif have is MISSING or have in (None, "", [], ()):
                out[k] = val
            elif have != val and val not in (None, "", [], ()):
                kept.append(f"{k}={val!r}")
        if dup.unread:
            plan.warnings.append(
                f"{pid}: a second live Zotero item {key} (id {dup.pid}) could not be read; "
                "it is left in place (the next run reads it again)"
            )
        elif dup.user_children:
            plan.warnings.append(
                f"{pid}: a second live Zotero item {key} (id {dup.pid}) holds this paper's "
                "data and attachments or child notes a user made; its tags and notes are "
                "merged in and it is left in place (move its attachments over, then trash it)"
            )
        else:
            plan.warnings.append(
                f"{pid}: a second live Zotero item {key} (id {dup.pid}) holds this paper's "
                "data; its tags and notes are merged in and it goes to Zotero's trash"
                + (f" (differing values kept only there: {', '.join(kept)})" if kept else "")
            )
    return out


def conflict_flag_changes(v: PaperView, result: MergeResult) -> bool:
    """The note's ``sync-conflict`` flag must be set or cleared."""
    if v.note is None:
        return False
    return bool(v.note.conflict_flag) != bool(listed_fields(result))


def _keep_rich_note(d: Decision, plan: Plan) -> None:
    """Rule 7: refuse to overwrite a Zotero note holding what markdown cannot carry; the
    difference becomes an open notes conflict, both sides keep their text, and the base stays
    so it is found again next run."""
    v, res = d.view, d.result
    assert res is not None
    st = v.state
    base_notes = (st.base if st and st.base else {}).get("notes", "")
    zotero_notes = (v.zrecord or {}).get("notes", "")
    vault_notes = (v.note.record if v.note else {}).get("notes", "")
    res.to_zotero.pop("notes", None)
    res.to_vault.pop("notes", None)
    res.merged["notes"] = base_notes
    res.conflicts = [c for c in res.conflicts if c.field != "notes"]
    res.conflicts.append(FieldConflict("notes", base_notes, zotero_notes, vault_notes))
    d.rich_note_kept = True
    if not res.to_zotero and not v.user_added and not v.renamed_from:
        d.zotero = None
        plan.actions = [a for a in plan.actions if not (a.pid == v.pid and a.side == "zotero")]
    else:
        for a in plan.actions:
            if a.pid == v.pid and a.side == "zotero":
                a.changes = [c for c in a.changes if c.field != "notes"]
    plan.warnings.append(
        f"{v.pid}: the Zotero notes hold images, annotations or formatting that markdown "
        "cannot carry; not overwritten (edit them in Zotero, or remove that content there)"
    )
