"""The daemon's incremental pass: which papers a pass for a few saved notes or one Zotero
update has to decide.

A pass of ``watch`` knows what may have changed: the notes its watcher named (read by the
scan; every other known note is only stat'ed) and the items in Zotero's change feed. A paper
none of that touched, whose state says both sides agree and nothing is pending, decides to
"no change" by construction, so deciding, committing and re-encoding it is wasted work that
grows with the library. Anything unusual keeps a paper in scope, and a full pass still runs
on a timer, after a failed pass and after a watcher error (the daemon's safety net).
"""

from __future__ import annotations

from collections.abc import Collection

from .decide import PaperView, differs


def touched(v: PaperView, *, zotero: bool, conflicted: Collection[str]) -> bool:
    """Whether ``v`` may decide to anything but "no change" in an incremental pass."""
    st = v.state
    if st is None or st.base is None or v.user_added or v.pid in conflicted:
        return True  # new, never agreed, hand-added, or with an open conflict
    if v.zitem is not None or v.zotero_gone or v.z_note_missing:
        return True  # in Zotero's change feed
    if v.vault_gone or v.vault_unreadable or v.note_from_copy or v.copies:
        return True
    if v.note is None:
        return not st.vault_retired  # a note that should exist but does not
    if v.note.path != st.note_path or v.note.sha256 != st.note_sha256:
        return True  # saved, moved or renamed since the last pass
    if zotero and not st.zotero_retired:
        if not st.zotero_key:
            return True  # its item was never created (an earlier write failed)
        if st.zotero_record != st.base and differs(st.zotero_record, st.base):
            return True  # Zotero does not hold the agreed value yet (a pending write)
    return False


def scope(
    views: dict[str, PaperView], *, zotero: bool, conflicted: Collection[str]
) -> dict[str, PaperView]:
    return {pid: v for pid, v in views.items() if touched(v, zotero=zotero, conflicted=conflicted)}
