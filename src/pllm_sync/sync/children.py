"""What an item's children tell a run, judged purely from the children read and the state.

An item's children hold two things the decisions need: pllm-sync's own notes child (whose
text is the paper's ``notes`` field in Zotero) and whatever a user attached (a PDF, a child
note), which makes a deletion on the other side yield (modify beats delete). These functions
take plain child data (as the Zotero API returns it) and the stored ``PaperState``; the engine
fills the ``PaperView`` fields with their answers. Table tests: ``tests/sync/test_children.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..zotero import mapping as zmap
from ..zotero.notes_html import has_rich_content, is_pllm_note, keep_spelling
from .state import PaperState


def is_user_child(child: Mapping[str, Any], st: PaperState) -> bool:
    """A child of an item that a user made (a PDF, a child note), not pllm-sync's notes
    child or code link."""
    if child.get("deleted") or child.get("key") == st.zotero_note_key:
        return False
    if child.get("itemType") == "note":
        return not is_pllm_note(str(child.get("note") or ""))
    return not (child.get("linkMode") == "linked_url" and child.get("title") == "Code")


def has_user_children(children: Iterable[Mapping[str, Any]], st: PaperState) -> bool:
    """Whether any of ``children`` is one a user made (see :func:`is_user_child`)."""
    return any(is_user_child(c, st) for c in children)


def other_pllm_notes(children: Iterable[Mapping[str, Any]], st: PaperState | None) -> list[str]:
    """Keys of the live notes children marked as pllm-sync's besides the one that syncs
    with the vault: Zotero's Merge Items keeps both items' notes, and the other paper's
    text sat in a note nothing read, unsaid."""
    kids = list(children)
    syncing = zmap.find_pllm_note(kids, st.zotero_note_key if st else None)
    return sorted(
        str(c.get("key"))
        for c in kids
        if c is not syncing
        and not c.get("deleted")
        and c.get("itemType") == "note"
        and is_pllm_note(str(c.get("note") or ""))
    )


def notes_rich(children: Iterable[Mapping[str, Any]], st: PaperState | None) -> bool:
    """Whether pllm-sync's notes child holds what markdown cannot carry (images,
    annotations, citations, colours): such a note is never overwritten."""
    note = zmap.find_pllm_note(children, st.zotero_note_key if st else None)
    return note is not None and has_rich_content(str(note.get("note") or ""))


def settled_notes(
    st: PaperState | None, read: str, children: Iterable[Mapping[str, Any]]
) -> tuple[str, bool] | None:
    """The notes text the Zotero side holds this run, and whether our notes child is missing
    (None: take the text as read, nothing is known to compare it with).

    Read the Zotero notes only when the notes child itself changed. Converting an unchanged
    note's HTML back to markdown would hand the vault the converter's spelling of the user's
    text; a notes child that vanished (trashed, moved to another item) is not the user
    emptying their notes: the text is kept (and the child written again)."""
    stored = (st.zotero_record or st.base) if st else None
    if st is None or stored is None or not st.zotero_note_key:
        return None
    live = zmap.find_pllm_note(children, st.zotero_note_key)
    if live is None:
        return stored.get("notes", ""), True
    if live.get("key") == st.zotero_note_key and live.get("version") == st.zotero_note_version:
        return stored.get("notes", ""), False
    # changed in Zotero: only the blocks Zotero changed take its spelling
    base_notes = str((st.base or stored).get("notes") or "")
    return keep_spelling(base_notes, read), False
