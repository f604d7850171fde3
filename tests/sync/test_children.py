"""Table tests for what an item's children tell a run (``sync/children.py``): plain child data
and the stored state in, the judgement out (which notes text Zotero holds, whether the user
added a child, whether our notes child is too rich to overwrite)."""

from __future__ import annotations

from typing import Any

import pytest

from pllm_sync.sync.children import has_user_children, notes_rich, settled_notes
from pllm_sync.sync.state import PaperState

BASE = "theta _very_ here"  # the vault's spelling (the converter writes *very*)
OURS = '<div data-pllm-sync="notes"><p>my first line</p></div>'


def state(**kw: Any) -> PaperState:
    values: dict[str, Any] = {
        "base": {"notes": BASE},
        "zotero_record": {"notes": BASE},
        "zotero_key": "ITEM0001",
        "zotero_note_key": "NOTE0001",
        "zotero_note_version": 7,
    }
    return PaperState(pllm_id="arxiv:2401.00001", **{**values, **kw})


def child(key: str = "NOTE0001", version: int = 7, **kw: Any) -> dict[str, Any]:
    return {
        "key": key,
        "version": version,
        "itemType": "note",
        "parentItem": "ITEM0001",
        "note": OURS,
        **kw,
    }


@pytest.mark.parametrize(
    ("st", "read", "children", "want"),
    [
        pytest.param(state(), "theta *very* here", [child()], (BASE, False), id="unchanged"),
        pytest.param(
            state(),
            "theta *very* here\n\nadded in Zotero",
            [child(version=8)],
            (BASE + "\n\nadded in Zotero", False),
            id="changed: only the changed blocks take Zotero's spelling",
        ),
        pytest.param(state(), "", [], (BASE, True), id="vanished: text kept, child missing"),
        pytest.param(
            state(),
            "",
            [child(deleted=1)],
            (BASE, True),
            id="trashed child: text kept, child missing",
        ),
        pytest.param(
            state(zotero_record=None, base=None), "as read", [child()], None, id="no base"
        ),
        pytest.param(state(zotero_note_key=None), "as read", [child()], None, id="no notes key"),
        pytest.param(None, "as read", [child()], None, id="no state"),
    ],
)
def test_settled_notes(
    st: PaperState | None,
    read: str,
    children: list[dict[str, Any]],
    want: tuple[str, bool] | None,
) -> None:
    assert settled_notes(st, read, children) == want


@pytest.mark.parametrize(
    ("children", "want"),
    [
        pytest.param([child()], False, id="our notes child"),
        pytest.param(
            [
                {
                    "key": "CODE0001",
                    "itemType": "attachment",
                    "linkMode": "linked_url",
                    "title": "Code",
                }
            ],
            False,
            id="our code link",
        ),
        pytest.param(
            [child("OTHER001", note="<p>a note the user wrote</p>")], True, id="a user's note"
        ),
        pytest.param(
            [{"key": "PDF00001", "itemType": "attachment", "linkMode": "imported_file"}],
            True,
            id="a user's PDF",
        ),
        pytest.param(
            [{"key": "PDF00001", "itemType": "attachment", "deleted": 1}],
            False,
            id="a trashed PDF",
        ),
        pytest.param([], False, id="no children"),
    ],
)
def test_has_user_children(children: list[dict[str, Any]], want: bool) -> None:
    assert has_user_children(children, state()) is want


@pytest.mark.parametrize(
    ("html", "want"),
    [
        (OURS, False),
        ('<div data-pllm-sync="notes"><p><img data-attachment-key="ABCD2345"></p></div>', True),
    ],
)
def test_notes_rich(html: str, want: bool) -> None:
    assert notes_rich([child(note=html)], state()) is want
    assert notes_rich([], state()) is False


@pytest.mark.parametrize(
    ("kids", "others"),
    [
        ([child()], []),
        # Zotero's Merge Items kept both papers' notes children on one item
        ([child(), child("NOTE0002", 3)], ["NOTE0002"]),
        ([child(), child("NOTE0002", 3, deleted=1)], []),  # the other one is in the trash
        ([child(), child("NOTE0002", 3, note="<p>a user's own note</p>")], []),
        ([child("NOTE0003", 1), child("NOTE0002", 3)], ["NOTE0003"]),  # ours gone: the first
    ],
)
def test_notes_children_marked_ours_besides_the_one_that_syncs(
    kids: list[dict[str, Any]], others: list[str]
) -> None:
    from pllm_sync.sync.children import other_pllm_notes

    assert other_pllm_notes(kids, state()) == others
