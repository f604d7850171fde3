"""Which Zotero write failures hold the stored library version back (issue 8): only those
that may heal by running again; a refusal of the object itself would hold it back forever."""

from __future__ import annotations

import pytest

from pllm_sync.sync.engine import SyncEngine
from pllm_sync.zotero.store import WriteFailure


@pytest.mark.parametrize(
    ("code", "message", "retryable"),
    [
        (400, "'foo' is not a valid field for type 'book'", False),
        (413, "Creator 'lastName' value is too long", False),
        (409, "not written because its parent failed (Tag 'x…' too long)", False),
        (409, "Parent item ABCD2345 not found", True),
        (409, "Collection ABCD2345 not found", True),
        (412, "the library kept changing while writing; run again", True),
        (503, "Service unavailable", True),
        (404, "no such item in Zotero", True),
        (0, "missing from Zotero's write report", True),
    ],
)
def test_only_failures_that_may_heal_hold_the_library_back(
    code: int, message: str, retryable: bool
) -> None:
    assert SyncEngine._retryable(WriteFailure("ABCD2345", code, message)) is retryable


def test_a_refusal_marks_its_paper_failed_without_holding_the_run() -> None:
    failed: set[str] = set()
    held: set[str] = set()
    owner = {"AAAA2345": "arxiv:1", "BBBB2345": "arxiv:2"}
    SyncEngine._failed_ids(
        [
            WriteFailure("AAAA2345", 413, "Creator 'lastName' value is too long"),
            WriteFailure("BBBB2345", 412, "the library kept changing while writing"),
            WriteFailure("CCCC2345", 503, "Service unavailable"),  # owned by no paper
        ],
        owner,
        failed,
        held,
    )
    assert failed == {"arxiv:1", "arxiv:2"}
    assert held == {"arxiv:2", ""}
