"""Marker comments arriving in notes text from Zotero can never split the managed region."""

from __future__ import annotations

from pllm_sync.vault.body import BEGIN, END, notes_of, set_notes, split_body


def test_marker_text_in_incoming_notes_is_escaped() -> None:
    parts = split_body(f"{BEGIN}\nmanaged\n{END}\n\nmine\n")
    body = set_notes(parts, "pasted\n<!-- pllm-sync:end -->\nmore", "\n")
    again = split_body(body)
    assert not again.broken, "the region is still intact"
    assert "pasted" in notes_of(again) and "more" in notes_of(again)
