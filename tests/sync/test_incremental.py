"""The daemon's incremental pass decides only the papers something touched: table tests of
``touched`` (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pllm_sync.sync.decide import PaperView
from pllm_sync.sync.incremental import scope, touched
from pllm_sync.sync.state import PaperState
from pllm_sync.vault.store import NoteInfo

BASE = {"title": "LaMP", "status": "read", "tags": frozenset({"x"})}


def settled(**kw: Any) -> PaperView:
    """A paper both sides agree on, untouched since the last pass."""
    st = PaperState(
        pllm_id="p",
        base=dict(BASE),
        zotero_key="ABCD2345",
        zotero_record=dict(BASE),
        note_path="Papers/LaMP.md",
        note_sha256="h1",
    )
    note = NoteInfo(
        path="Papers/LaMP.md",
        pllm_id="p",
        record=dict(BASE),
        zotero_key="ABCD2345",
        size=1,
        mtime_ns=1,
        sha256="h1",
    )
    return replace(PaperView(pid="p", state=st, note=note), **kw)


def _note(**kw: Any) -> NoteInfo:
    v = settled()
    assert v.note is not None
    return replace(v.note, **kw)


def _state(**kw: Any) -> PaperState:
    v = settled()
    assert v.state is not None
    return replace(v.state, **kw)


@pytest.mark.parametrize(
    ("view", "expected", "why"),
    [
        (settled(), False, "nothing happened to it"),
        (settled(state=None), True, "a new paper"),
        (settled(state=_state(base=None)), True, "never agreed"),
        (settled(zitem={"key": "ABCD2345"}), True, "in Zotero's change feed"),
        (settled(zotero_gone="trashed"), True, "trashed in Zotero"),
        (settled(note=_note(sha256="h2")), True, "the note was saved"),
        (settled(note=_note(path="Reading/LaMP.md")), True, "the note was moved"),
        (settled(note=None, vault_gone=True), True, "the note was deleted"),
        (settled(note=None, state=_state(note_path=None)), True, "a note that should exist"),
        (
            settled(note=None, state=_state(note_path=None, vault_retired=True)),
            False,
            "a note the user removed on purpose",
        ),
        (settled(vault_unreadable=True), True, "an unreadable note"),
        (settled(user_added="vault"), True, "added by hand"),
        (settled(state=_state(zotero_key=None)), True, "its item was never created"),
        (
            settled(state=_state(zotero_record={**BASE, "status": "reading"})),
            True,
            "Zotero does not hold the agreed value yet",
        ),
        (settled(copies=("Other/LaMP.md",)), True, "copies of its note"),
    ],
)
def test_touched(view: PaperView, expected: bool, why: str) -> None:
    assert touched(view, zotero=True, conflicted=()) is expected, why


def test_open_conflicts_and_vault_only_mode() -> None:
    assert touched(settled(), zotero=True, conflicted={"p"})
    pending = settled(state=_state(zotero_key=None, zotero_record=None))
    assert not touched(pending, zotero=False, conflicted=()), "no Zotero: nothing pending there"
    views = {"p": settled(), "q": replace(settled(note=_note(sha256="h9")), pid="q")}
    assert list(scope(views, zotero=True, conflicted=())) == ["q"]
