"""Which paper each collected note and item belongs to: identity joining, decided purely.

The engine collects the catalog, the Zotero items and the vault notes by the
``pllm-sync-id`` they carry. That id is not always the paper's id *now*: the catalog may have
changed it (a list adds or fixes an arXiv link), a run that did so may have been cut short
after writing one side, a copy of a note may still carry an id its paper left. These
functions take the collected ``PaperView`` values and the stored ``PaperState`` (plain data,
no IO, no store object) and return the views joined so that each paper has one view: the new
id takes over the old id's state, item and note, a stale copy is listed as a copy of its
paper instead of becoming a paper of its own, and a note moved back into the vault under an
id its paper has left joins the paper again (whose item ``decide`` then restores), and of
a paper split in two ids of one title, the note and item holding the user's data take the
id that stays when the other, empty, is discarded.
``decide`` then plans each joined view.
The smaller judgements of collect live here too: which of two items carrying one id is the
paper's, whether a copy takes over from a note that vanished, and which id a note or item a
user added by hand gets.

The input views are never changed; a view that changes is a copy (``dataclasses.replace``).
Every rule has a table test in ``tests/sync/test_identity.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from ..model import PaperIds, paper_id_for, title_hash
from ..record import Record, record_from_paper
from ..vault.store import NoteInfo, NoteStat
from ..zotero import mapping as zmap
from .decide import DuplicateItem, PaperView, describes_another, holds_user_data
from .state import PaperState


def join_identities(
    views: Mapping[str, PaperView],
    papers: Mapping[str, PaperState],
    *,
    catalog_read: bool,
) -> dict[str, PaperView]:
    """The views of one run, joined across catalog id changes (see the module docstring).

    A rename left half done is finished, and stale copies are listed, in every run; a new
    rename is only recognised when the catalog was read this run (``catalog_read``):
    without it no id can have appeared."""
    out = follow_renames_made_elsewhere(finish_interrupted_renames(views))
    if catalog_read:
        out = keep_half_renamed_papers_whole(follow_renamed_papers(out, papers), papers)
        out = hand_over_to_an_empty_twin(out, papers)
    return join_duplicate_items(list_stale_copies(join_returning_notes(out)))


def follow_renames_made_elsewhere(views: Mapping[str, PaperView]) -> dict[str, PaperView]:
    """Another device followed a catalog id change first: the item this device's state
    knows under the old id carries the new id now, and so does the note, which a cloud sync
    brought (that device rewrote both). Two writes agree, so the new id takes the old id's
    state, in every run: the first run here after the note arrives is most often a plain
    ``sync`` or a daemon pass, which read no catalog. Left alone, the old id's row warned on
    every run that its note held another paper's, a run gave the new id a second row for the
    same item, and deleting the note there was undone on both devices. A new id that has a
    row already (made by such a run) keeps it, and the old row goes.

    (An item alone carrying another id, its note not arrived, is left to
    :func:`finish_interrupted_renames`: it may as well be this device's own rename cut short
    and undone by the list; the next pull follows the list.)"""
    out = dict(views)
    by_key = {str(v.zitem["key"]): pid for pid, v in views.items() if v.zitem is not None}
    for pid, old in views.items():
        st = old.state
        if pid not in out or st is None or not st.zotero_key or old.zitem is not None:
            continue
        other = by_key.get(st.zotero_key)
        if other is None or other == pid or other not in out:
            continue
        new = out[other]
        if new.state is not None and new.state.zotero_key not in (None, st.zotero_key):
            continue
        if old.note is not None or new.note is None:
            continue
        out[other] = replace(
            new,
            state=new.state if new.state is not None else replace(st, pllm_id=other),
            renamed_from=pid,
            copies=(*new.copies, *old.copies),
        )
        del out[pid]
    return out


def finish_interrupted_renames(views: Mapping[str, PaperView]) -> dict[str, PaperView]:
    """A paper whose catalog id changed in a run where its note was not rewritten (the
    note changed during the run, a crash): the state and the item already carry the new
    id, the note at the path the state knows still carries the old one. That note is
    the paper's (its id is rewritten), never a paper of its own with a second item; copies
    of it made before (the same old id) stay copies."""
    out = dict(views)
    by_path = {v.note.path: pid for pid, v in views.items() if v.note is not None}
    for pid, v in views.items():
        if pid not in out:
            continue
        st = v.state
        if v.note is not None or st is None or not st.note_path:
            continue
        other = by_path.get(st.note_path)
        if other is None or other == pid or other not in out:
            continue
        o = out[other]
        if o.state is not None or o.paper is not None or o.zitem is not None:
            continue
        # copies of that note carry the same old id: they stay copies, now of this paper
        out[pid] = replace(
            out[pid],
            note=o.note,
            renamed_from=other,
            vault_gone=False,
            vault_unreadable=False,
            vault_evicted=False,
            copies=(*out[pid].copies, *o.copies),
        )
        del out[other]
    # The same for the item: the state knows the paper's item by its key, but the item
    # carries another id (a rename written to Zotero, then cut short, and the list changed
    # the id back). With no state, catalog entry or note of its own, that item is the
    # paper's (its id is rewritten), never a paper of its own with a second note.
    by_key = {str(v.zitem.get("key")): pid for pid, v in out.items() if v.zitem is not None}
    for pid in list(out):
        if pid not in out:
            continue
        v = out[pid]
        st = v.state
        if v.zitem is not None or v.zotero_gone or st is None or not st.zotero_key:
            continue
        other = by_key.get(st.zotero_key)
        if other is None or other == pid or other not in out:
            continue
        o = out[other]
        if o.state is not None or o.paper is not None or o.note is not None or o.copies:
            continue
        out[pid] = replace(v, renamed_from=other, **_item_fields(o))
        del out[other]
    return out


def _item_fields(v: PaperView) -> dict[str, Any]:
    """The fields of a view that say what Zotero holds (moved with the item on a join)."""
    return {
        "zitem": v.zitem,
        "zchildren": v.zchildren,
        "zrecord": v.zrecord,
        "zotero_gone": v.zotero_gone,
        "zrecord_trashed": v.zrecord_trashed,
        "z_note_missing": v.z_note_missing,
        "z_note_rich": v.z_note_rich,
        "z_user_children": v.z_user_children,
    }


def follow_renamed_papers(
    views: Mapping[str, PaperView], papers: Mapping[str, PaperState]
) -> dict[str, PaperView]:
    """Identity follows the paper across a catalog id change.

    A list that adds or fixes a paper's arXiv link changes its id (``title:…`` becomes
    ``arxiv:…``). In one run the old id leaves the catalog and the new one appears with
    the same normalised title: the new id takes over the old paper's state, item and note
    (both are rewritten with the new id), instead of a second item and note next to a
    tombstone holding the user's data. The same holds for a tombstone (a paper that left
    the list in an earlier run) coming back under a new id. Only one-to-one matches are
    followed, and never onto an id that already has a copy of its own."""
    out = dict(views)
    vanished: dict[str, list[str]] = {}
    for pid, v in out.items():
        if v.paper is not None:
            continue  # listed now
        st = v.state
        if st is not None and st.catalog_base is not None:
            title = str(st.catalog_base.get("title") or "")
        elif st is not None and st.zotero_retired and st.vault_retired and v.title != pid:
            # deleted by the user, and retired by a run that knew nothing of it (its item
            # found only in Zotero's trash after a lost state): no list record, so known by
            # its title. Not followed, the new id got a second item and note, and the
            # user's restore of the old item then brought back a second note.
            title = v.title
        elif (st is None or _state_of_a_run_without_zotero(st)) and (
            v.zitem is not None or v.note is not None
        ):
            # a copy found without state (after a lost state database), or with only the
            # row a run without Zotero and without the list wrote for its note since
            title = v.title
        else:
            continue
        vanished.setdefault(title_hash(title), []).append(pid)
    appeared: dict[str, list[str]] = {}
    for pid, v in out.items():
        # A new id may already have a note: a copy made while the paper had this id,
        # before the list changed it away and back (no item; with copies of its own, only
        # when its note names the old id's item: see below).
        if (
            v.paper is not None
            and (pid not in papers or _never_reached_zotero(v))
            and (v.note is None or v.zitem is None)
        ):
            appeared.setdefault(title_hash(v.paper.title), []).append(pid)
    for th, olds in vanished.items():
        news = appeared.get(th, [])
        if len(olds) != 1 or len(news) != 1:
            continue
        old, new = out[olds[0]], out[news[0]]
        old_known = old.state is not None and not _state_of_a_run_without_zotero(old.state)
        if new.pid in papers and (old_known or old.zitem is None):
            # a new id the state knows takes over only an item no state knows: the item
            # of a paper whose state was lost before a run without Zotero followed the
            # list's id change (that run gave the new id the note and a state row, but
            # could not see the item)
            continue
        old_key = (old.state.zotero_key if old.state else None) or (old.zitem or {}).get("key")
        if new.zitem is not None and old_key is not None and new.zitem.get("key") != old_key:
            continue  # the new id already has an item of its own
        if new.copies and not (
            new.note is not None and old_key is not None and new.note.zotero_key == old_key
        ):
            # several notes carry the new id: taken over only when its note names the old
            # id's item (a rename the run applied to the item while the user saved the
            # note, then the state lost and the list changing the id back); else left
            # alone, which once made a second item and note for the paper
            continue
        # (with no item of the old id's, the new id's item is the paper's: a rename cut
        # short after Zotero was written, then the state database lost)
        stale_copy: tuple[str, ...] = ()
        if new.note is not None and old.note is None:
            if (
                old.state is not None
                and old.state.vault_retired
                and new.zitem is None
                and not (new.copies or old.copies or old.vault_unreadable)
            ):
                # the paper's note, moved out of the vault (its item trashed for it) while
                # it had the new id, comes back as the list changes the id back: the paper
                # (its state and trashed item) takes the note, and rule 3 restores the item
                out[new.pid] = replace(
                    new,
                    state=replace(old.state, pllm_id=new.pid),
                    renamed_from=old.pid,
                    vault_gone=False,
                    **_item_fields(old),
                )
                del out[old.pid]
                continue
            if old.state is not None or old.zitem is None or new.zitem is not None:
                continue  # nothing to take over: the note the new id has stays its own
            # a rename cut short after Zotero was written, the list changed the id back and
            # the state was lost: the old id's item and the new id's note are one paper
            out[new.pid] = replace(new, renamed_from=old.pid, **_item_fields(old))
            del out[old.pid]
            continue
        if new.note is not None:
            stale_copy = (new.note.path,)  # the paper's note keeps the identity
        joined = replace(
            new,
            state=replace(old.state, pllm_id=new.pid) if old.state else None,
            renamed_from=old.pid,
            note=old.note,
            vault_gone=old.vault_gone,
            vault_unreadable=old.vault_unreadable,
            vault_unreadable_why=old.vault_unreadable_why,
            vault_evicted=old.vault_evicted,
            copies=(*old.copies, *stale_copy),
            vault_sections_unknown=old.vault_sections_unknown,
            vault_sections_ambiguous=old.vault_sections_ambiguous,
            note_from_copy=old.note_from_copy,
        )
        if new.zitem is None:
            joined = replace(
                joined,
                zitem=old.zitem,
                zchildren=old.zchildren,
                zrecord=old.zrecord,
                zotero_gone=old.zotero_gone,
                z_note_missing=old.z_note_missing,
                z_note_rich=old.z_note_rich,
                z_user_children=old.z_user_children,
            )
        out[new.pid] = joined
        del out[old.pid]
    return out


def keep_half_renamed_papers_whole(
    views: Mapping[str, PaperView], papers: Mapping[str, PaperState]
) -> dict[str, PaperView]:
    """A paper listed twice (two lists, or two sections of one) whose id one row changes
    before the other (one list fixes its arXiv link a week before the other): the catalog
    keeps two papers of one title (and warns), one under the id the state knows, the other
    under an id new to it, listed only in sections the known id has just left. That is one
    paper half renamed, not a new one: the new id is folded into the known paper (its
    sections and listings join it; the paper keeps its id, note and item) and gets no note
    or item of its own. Split, it made a second, empty note and item, and once the rows
    agreed again the rename rule found two papers of the title, so the user's note and item
    were retired (``catalog: removed``) and the empty ones stayed live. When the rows
    agree, the known id leaves the catalog and :func:`follow_renamed_papers` renames it.

    Only one-to-one title matches, and only when the new id's sections are all ones the
    known id was listed in at the last run and is not now: a second paper of the same
    title that a list adds (the default list has two "MC-LLaVA" papers) takes no section
    from the one already listed, and stays a paper of its own."""
    out = dict(views)
    appeared: dict[str, list[str]] = {}
    for pid, v in views.items():
        if (
            v.paper is not None
            and pid not in papers
            and v.state is None
            and v.note is None
            and v.zitem is None
            and not (v.copies or v.user_added or v.renamed_from)
        ):
            appeared.setdefault(title_hash(v.paper.title), []).append(pid)
    if not appeared:  # the usual run: no title to hash
        return out
    known: dict[str, list[str]] = {}
    for pid, v in views.items():
        st = v.state
        if (
            v.paper is not None
            and pid in papers
            and st is not None
            and st.catalog_base is not None
            and st.catalog_base.get("catalog") == "listed"
        ):
            known.setdefault(title_hash(v.paper.title), []).append(pid)
    for th, news in appeared.items():
        olds = known.get(th, [])
        if len(news) != 1 or len(olds) != 1:
            continue
        new, old = views[news[0]], views[olds[0]]
        assert new.paper is not None and old.paper is not None and old.state is not None
        was = set((old.state.catalog_base or {}).get("sections") or ())
        now = set((old.catalog or {}).get("sections") or ())
        moved = set((new.catalog or {}).get("sections") or ())
        if not moved or not moved <= was - now:
            continue
        paper = replace(
            old.paper,
            sections=(*old.paper.sections, *new.paper.sections),
            sources=(*old.paper.sources, *new.paper.sources),
        )
        out[old.pid] = replace(old, paper=paper, catalog=record_from_paper(paper))
        del out[new.pid]
    return out


def hand_over_to_an_empty_twin(
    views: Mapping[str, PaperView], papers: Mapping[str, PaperState]
) -> dict[str, PaperView]:
    """A paper split in two by rows that disagreed on its arXiv link before the first pull
    (or by a version without :func:`keep_half_renamed_papers_whole`): two ids of one title,
    each with a note and an item, and the user wrote in one. When the rows agree, one id
    leaves the catalog. If it is the one holding the user's data (text, status, rating,
    tags or edits, in its note or its item) and the id that stays holds none, the user's
    note and item take the staying id (a rename, ``renamed_from``; the item keeps its key)
    and the staying id's empty note and item are discarded: the note goes to the vault's
    trash folder (``discard_notes``), the item to Zotero's trash as a duplicate (rule 9:
    never one with a user's attachments or child notes). Left alone, the user's note and
    item were retired (``catalog: removed``) and the empty ones stayed live. When both hold
    the user's data nothing is moved; both notes are named in a warning.

    Only a one-to-one title match of ids the state knows, and never two papers whose DOIs
    differ. A paper the list dropped in an earlier run (a tombstone, its note still in the
    vault) counts as leaving too: a split an older version retired is mended.

    A run cut short after writing a part of this is finished by the next: the user's item
    or note found carrying the staying id (by the key and path the state knows for the
    leaving one) are still the user's, and the empty ones found already in Zotero's trash
    or the vault's trash folder stay there."""
    out = dict(views)
    leaving: dict[str, list[str]] = {}
    for pid, v in views.items():
        st = v.state
        if (
            v.paper is None
            and pid in papers
            and st is not None
            and st.catalog_base is not None
            and not st.vault_retired
            and st.note_path
            and not v.user_added
        ):
            leaving.setdefault(title_hash(str(st.catalog_base.get("title") or "")), []).append(pid)
    if not leaving:  # the usual run: no title to hash
        return out
    staying: dict[str, list[str]] = {}
    for pid, v in views.items():
        st = v.state
        if (
            v.paper is not None
            and pid in papers
            and st is not None
            and st.catalog_base is not None
            and not (v.renamed_from or v.user_added)
        ):
            staying.setdefault(title_hash(v.paper.title), []).append(pid)
    for th, olds in leaving.items():
        news = staying.get(th, [])
        if len(olds) != 1 or len(news) != 1 or olds[0] == news[0]:
            continue
        old, new = out[olds[0]], out[news[0]]
        ost, nst = old.state, new.state
        assert ost is not None and nst is not None and ost.catalog_base is not None
        if describes_another(ost.catalog_base, new.catalog or {}):
            continue
        # the leaving paper's note: its own, or found carrying the new id (a cut-short run)
        from_new = old.note is None and new.note is not None and new.note.path == ost.note_path
        note = new.note if from_new else old.note
        if note is None or new.vault_unreadable:
            continue
        twin_note = None if from_new else new.note
        # the leaving paper's item: its own, or found carrying the new id (a cut-short run)
        ka, kb = ost.zotero_key, nst.zotero_key
        item = _item_fields(old)
        dups = tuple(x for x in new.duplicate_items if x.zitem.get("key") != ka)
        twin_item: dict[str, Any] | None = None  # the staying id's own live item
        twin_rec: Record | None = None
        twin_kids = False
        taken_over = new.zitem is not None and ka is not None and new.zitem.get("key") == ka
        if taken_over:
            assert new.zitem is not None
            item = _item_fields(new)
            item["zotero_gone"] = None if not new.zitem.get("deleted") else new.zotero_gone
        else:
            for x in new.duplicate_items:
                if ka is not None and x.zitem.get("key") == ka and old.zitem is None:
                    # read this run, but without its children: the engine reads it again
                    item = {**_item_fields(old), "zrecord": x.zrecord}
            if new.zitem is not None and not new.zitem.get("deleted"):
                twin_item, twin_rec, twin_kids = new.zitem, new.zrecord, new.z_user_children
            elif new.zitem is not None:
                twin_rec = new.zrecord_trashed  # in Zotero's trash already
            elif kb and not nst.zotero_retired and new.zotero_gone is None:
                twin_rec = nst.zotero_record or nst.base
                dups = (
                    DuplicateItem(
                        new.pid,
                        {"key": kb, "version": nst.zotero_version},
                        dict(twin_rec or {}),
                        unread=True,
                    ),
                    *dups,
                )
        if twin_item is not None:
            dups = (
                DuplicateItem.of(new.pid, twin_item, new.zchildren, twin_rec or {}),
                *dups,
            )
        if item["zotero_gone"] or ost.zotero_retired:
            continue  # the user removed the item: its paper leaves as usual (the note follows)
        old_data = (
            holds_user_data(note.record, ost.base)
            or holds_user_data(item["zrecord"] or item["zrecord_trashed"], ost.base)
            or bool(item["z_user_children"])
        )
        new_data = (
            holds_user_data(twin_note.record if twin_note else None, nst.base)
            or holds_user_data(twin_rec, nst.base)
            or twin_kids
            or bool(new.copies)
            or any(holds_user_data(x.zrecord, nst.base) or x.user_children for x in dups)
        )
        if not old_data:
            continue  # nothing of the user's to keep: the leaving id is retired as usual
        keep_twin = twin_note is not None and holds_user_data(twin_note.record, nst.base)
        if new_data and not taken_over:
            where = twin_note.path if twin_note else new.pid
            msg = (
                f"{old.pid} left the lists and {new.pid} of the same title stays; both "
                f"hold your data ({note.path}, {where}), so neither is moved -- copy what "
                f"you need from {note.path} into {where}, then delete {note.path}"
            )
            out[old.pid] = replace(old, notices=(*old.notices, msg))
            continue
        msg = (
            f"{new.pid}: {old.pid} of the same title left the lists; its note {note.path} "
            "holds your data and takes this id"
            + (
                f"; this id's empty note {twin_note.path} goes to the vault's trash folder"
                if twin_note and not keep_twin
                else ""
            )
            + (
                f"; this id's note {twin_note.path} holds your text too and stays as a copy: "
                f"copy what you need into {note.path}, then delete it"
                if twin_note and keep_twin
                else ""
            )
        )
        out[new.pid] = replace(
            new,
            state=replace(ost, pllm_id=new.pid),
            renamed_from=old.pid,
            note=note,
            vault_gone=False,
            vault_unreadable=False,
            vault_unreadable_why="",
            copies=(
                *old.copies,
                *new.copies,
                *((twin_note.path,) if keep_twin and twin_note else ()),
            ),
            vault_sections_unknown=new.vault_sections_unknown
            if from_new
            else old.vault_sections_unknown,
            vault_sections_ambiguous=new.vault_sections_ambiguous
            if from_new
            else old.vault_sections_ambiguous,
            note_from_copy=False if from_new else old.note_from_copy,
            duplicate_items=dups,
            discard_notes=(twin_note,) if twin_note and not keep_twin else (),
            notices=(*new.notices, msg),
            **item,
        )
        del out[old.pid]
    return out


def _state_of_a_run_without_zotero(st: PaperState) -> bool:
    """A state row that knows neither the list's record nor a Zotero item: what a run
    without Zotero (``--zotero off``, offline) writes for a note after the state database
    was lost, when it did not read the list either."""
    return st.catalog_base is None and st.zotero_key is None and not st.tombstone


def _never_reached_zotero(v: PaperView) -> bool:
    """A listed id the state knows but Zotero never heard of under it: no item key in its
    state and no item carrying it (a run without Zotero made its state row)."""
    return v.state is not None and v.state.zotero_key is None and v.zitem is None


def join_returning_notes(views: Mapping[str, PaperView]) -> dict[str, PaperView]:
    """A note the user moved out of the vault and brings back after the catalog changed its
    paper's id still carries the old id. Meanwhile a run followed the paper to its new id
    and retired its vault side (the item went to Zotero's trash for the deleted note), so
    nothing ties the old id to the paper: no state, no item, no catalog entry. Such a note
    (not one a user wrote by hand) is the paper's note coming back when exactly one paper
    of its title has a retired vault side and no note: it joins that paper (its id is
    rewritten), so ``decide`` restores the item as for any note moved back (rule 3),
    instead of the note living on as a paper of its own with no item."""
    out = dict(views)
    orphans = [
        (pid, v)
        for pid, v in views.items()
        if v.note is not None and not (v.state or v.zitem or v.paper or v.user_added)
    ]
    if not orphans:  # the usual run: no title to hash
        return out
    retired: dict[str, list[str]] = {}
    for pid, v in views.items():
        st = v.state
        if st is None or not st.vault_retired or v.note is not None or v.copies:
            continue
        if v.vault_unreadable:
            continue
        retired.setdefault(title_hash(v.title), []).append(pid)
    returning: dict[str, list[str]] = {}
    for pid, v in orphans:
        returning.setdefault(title_hash(v.title), []).append(pid)
    for pid, v in orphans:
        th = title_hash(v.title)
        twins = retired.get(th, [])
        if len(twins) != 1 or len(returning[th]) != 1 or twins[0] == pid:
            continue  # only a one-to-one match: two notes or two papers of one title stay
        twin = out[twins[0]]
        out[twins[0]] = replace(
            twin,
            note=v.note,
            renamed_from=pid,
            vault_gone=False,
            copies=(*twin.copies, *v.copies),
            vault_sections_unknown=v.vault_sections_unknown,
            vault_sections_ambiguous=v.vault_sections_ambiguous,
            note_from_copy=False,
        )
        del out[pid]
    return out


def list_stale_copies(views: Mapping[str, PaperView]) -> dict[str, PaperView]:
    """A copy of a note made before its paper's id changed still carries the old id: with
    no state, no item and no catalog entry of its own, it is a copy of the paper of the
    same title that has a note and is listed or has a live item; the copy is listed and
    left alone (never a new item).

    The paper is known as listed from the catalog when a run reads it, else from the
    catalog record its state keeps, and by its item when the state was lost: a plain
    ``sync`` (the daemon, ``conflicts resolve``) judges such a copy as a ``pull`` does."""
    out = dict(views)
    orphans = [
        (pid, v, v.note)
        for pid, v in views.items()
        if v.note is not None
        and not (v.zitem or v.paper or v.user_added)
        # a run without Zotero and without the list, after a lost state, gave the copy a
        # row of its own; taken for a paper, the next pull made it a second item
        and (v.state is None or _state_of_a_run_without_zotero(v.state))
    ]
    if not orphans:  # the usual run: no title to hash (thousands of them, every pass)
        return out
    listed: dict[str, str] = {}
    for pid, v in out.items():
        if v.note is None:
            continue
        if v.catalog is not None and v.catalog.get("catalog") == "listed":
            listed[title_hash(str(v.catalog.get("title") or ""))] = pid
        elif not v.zotero_gone and (
            v.zitem is not None
            # an item that did not change is not in the change feed: the state knows it.
            # Without this, the list dropping the paper made its copy a paper of its own,
            # and the next pull gave that copy a second item.
            or (v.state is not None and v.state.zotero_key and not v.state.zotero_retired)
        ):
            listed.setdefault(title_hash(v.title), pid)
    for pid, v, note in orphans:
        twin = listed.get(title_hash(v.title))
        if twin is not None and twin != pid:
            # several copies may carry the old id (each made before the change): all of them
            stale = (note.path, *v.copies)
            out[twin] = replace(out[twin], copies=(*out[twin].copies, *stale))
            del out[pid]
    return out


def join_duplicate_items(views: Mapping[str, PaperView]) -> dict[str, PaperView]:
    """A live Zotero item carrying an id that nothing else knows (no catalog entry, no note,
    not added by hand; no state, or the state of a paper gone on both sides) is a second
    item of the paper of the same title that has an item of its own and is listed or has a
    note: it joins that paper as a duplicate item (``decide`` folds its data into the
    paper's item and trashes it), never becoming a paper of its own with a second note.

    How it happens: the user trashed the item, the catalog changed the paper's id, the state
    database was lost (so nothing ties the trashed item to the paper: a run then retires the
    old id on both sides), the paper got a new item under its new id, and then the user
    restored the old item from Zotero's trash: two live items for one paper, each possibly
    holding the user's edits. Only a one-to-one title match is joined (two papers of one
    title are left as they are). A retired paper the list still has is no such orphan: its
    item restored from the trash brings its note back (rule 3); taken for a duplicate of
    another listed paper of the same title (the default list has two "MC-LLaVA" papers),
    a plain sync merged it into that paper and trashed it again."""
    out = dict(views)
    orphans = [
        pid
        for pid, v in views.items()
        if v.zitem is not None
        and not v.zotero_gone
        and v.note is None
        and (
            v.state is None
            or (
                v.state.zotero_retired
                and v.state.vault_retired
                and (v.state.tombstone or v.state.catalog_base is None)
            )
        )
        and not (v.paper or v.copies or v.user_added)
    ]
    if not orphans:  # the usual run: no title to hash
        return out
    papers: dict[str, list[str]] = {}
    for pid, v in views.items():
        # an unchanged item is not in the change feed: the state knows it
        has_item = v.zitem is not None or bool(
            v.state and v.state.zotero_key and not v.state.zotero_retired
        )
        if pid in orphans or not has_item or v.zotero_gone:
            continue
        if v.paper is not None or v.note is not None:
            papers.setdefault(title_hash(v.title), []).append(pid)
    for pid in orphans:
        v = views[pid]
        twins = papers.get(title_hash(v.title), [])
        if len(twins) != 1 or v.zitem is None:
            continue
        dup = DuplicateItem.of(pid, v.zitem, v.zchildren, v.zrecord or {})
        twin = out[twins[0]]
        out[twins[0]] = replace(twin, duplicate_items=(*twin.duplicate_items, dup))
        del out[pid]
    return out


def second_item_wins(
    st: PaperState | None, held: Mapping[str, Any], other: Mapping[str, Any]
) -> bool:
    """Of two Zotero items carrying one ``pllm-sync-id`` (a duplicate made by hand, a sync
    of another tool), whether ``other`` replaces the ``held`` one as the paper's item: the
    item the state knows wins, and a live item beats a trashed one."""
    return bool(st and st.zotero_key == other.get("key")) or (
        bool(held.get("deleted")) and not other.get("deleted")
    )


def copy_takes_over(
    pid: str,
    path: str,
    known: str | None,
    present: Collection[str],
    previous: Mapping[str, NoteStat],
) -> bool:
    """Whether the note at ``path`` carrying ``pid`` is a copy taking over from the note the
    last sync used (``known``), which is gone: both carried ``pid`` at the last scan (the
    copy sat beside it). ``decide`` merges such a copy without a base (it may add, never
    remove: a stale copy cannot delete what was added since it was made)."""
    if not known or known == path or known in present:
        return False
    prev, known_prev = previous.get(path), previous.get(known)
    return (
        prev is not None
        and prev.pllm_id == pid
        and known_prev is not None
        and known_prev.pllm_id == pid
    )


def _ids_from_record(rec: Record) -> PaperIds:
    return PaperIds(arxiv=rec.get("arxiv"), doi=rec.get("doi"))


def user_added_note_id(note: NoteInfo) -> str | None:
    """The id of a note a user wrote by hand (no ``pllm-sync-id``): it becomes a paper when
    it names the paper (an arXiv id, a DOI or a URL); its title (else its file name) gives
    the id when no external id does. None: not a paper note."""
    rec = note.record
    title = rec.get("title") or note.path.rsplit("/", 1)[-1].removesuffix(".md")
    if not (rec.get("arxiv") or rec.get("doi") or rec.get("url")):
        return None
    return paper_id_for(_ids_from_record(rec), str(title))


def user_added_item_id(
    data: Mapping[str, Any], collection_paths: Mapping[str, tuple[str, ...]]
) -> str | None:
    """The id of an item a user filed into one of our collections by hand (it becomes a
    paper); None for anything else (a note, an attachment, a trashed item, an item outside
    our collections)."""
    if data.get("itemType") in ("note", "attachment", None) or data.get("deleted"):
        return None
    if not any(c in collection_paths for c in data.get("collections", [])):
        return None
    rec = zmap.item_to_record(dict(data), [], dict(collection_paths))
    return paper_id_for(_ids_from_record(rec), str(rec.get("title") or data["key"]))
