"""Scan-cache rows decode to exactly what was stored, by the one-pass path or the walk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pllm_sync.sync.state import ScanEntry, StateDB

NOTE = {
    "title": "A $dict title",
    "authors": ("Ada", "$set"),
    "tags": frozenset({"$tuple", "llm"}),
    "sections": ("[[Sections/A|A]]",),
    "year": 2024,
    "abstract": None,
}


@pytest.mark.parametrize(
    "record",
    [
        NOTE,
        {**NOTE, "title": "$dict"},  # a value spelling the tag
        {**NOTE, "venue": {"$set": ["x"]}},  # a mapping below, its one key a tag
        {**NOTE, "venue": {"$dict": {"a": 1}}},
        {**NOTE, "venue": {"a": {"$tuple": [1]}, "b": 2}},
        {"$set": ["x"]},  # the record itself one key that is a tag
        {"$tuple": ["x"], "other": 1},
        {},
    ],
)
def test_a_reading_comes_back_as_stored(tmp_path: Path, record: dict[str, Any]) -> None:
    reading = {"kind": "paper", "pllm_id": "doi:10.1/x", "record": record, "trusted": True}
    with StateDB.open(tmp_path / "state.sqlite3") as db:
        db.put_scan_cache(ScanEntry("Papers/a.md", 1, 2, "h", "doi:10.1/x", reading))
        db.put_scan_cache(ScanEntry("Papers/b.md", 1, 2, "h", None, None))
        cache = db.get_scan_cache()
        assert cache["Papers/a.md"].record == reading
        assert cache["Papers/b.md"].record is None
        entry = db.get_scan_entry("Papers/a.md")
        assert entry is not None and entry.record == reading
