"""Per-object refusals in one batch: the server saves nothing of a refused object, so a child
sent with it fails with 409 "Parent item … not found". The writer must report that child as
failed *because of its parent* (the user fixes the parent, not the note) and keep every
other object of the batch."""

from __future__ import annotations

from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.batch import BatchWriter, WriteOp
from pllm_sync.zotero.mapping import new_key

from .support import make_store


def test_child_of_a_refused_parent_is_reported_with_the_parents_reason(
    emu: ZoteroEmulator,
) -> None:
    store = make_store(emu)
    parent, child, other = new_key(), new_key(), new_key()
    ops = [
        WriteOp(
            {"key": parent, "version": 0, "itemType": "book", "tags": [{"tag": "x" * 300}]},
            label="Too Long",
        ),
        WriteOp(
            {"key": child, "version": 0, "itemType": "note", "parentItem": parent, "note": "n"},
            label="notes",
        ),
        WriteOp({"key": other, "version": 0, "itemType": "book", "title": "Fine"}, label="Fine"),
    ]
    outcomes = BatchWriter(store.http, "items").write(ops)
    assert outcomes[parent].code == 413 and not outcomes[parent].ok
    assert outcomes[parent].message == f"Tag '{'x' * 50}…' too long"
    assert not outcomes[child].ok and outcomes[child].code == 409
    assert outcomes[child].message == (
        f"not written because its parent failed (Tag '{'x' * 50}…' too long)"
    )
    assert outcomes[other].ok
    assert set(emu.get_items()) == {other}
    # One request: nothing was retried in vain.
    assert [r.method for r in emu.request_log if r.method == "POST"] == ["POST"]
