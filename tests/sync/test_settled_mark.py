"""The settled row's text (``settled.Mark``): a bare fingerprint as before, or with the
placeholders and notices of a vault settled with evicted notes."""

from __future__ import annotations

from pllm_sync.sync.settled import Mark


def test_a_mark_without_placeholders_is_the_bare_fingerprint() -> None:
    assert Mark("fp").encode() == "fp"
    assert Mark.decode("fp") == Mark("fp")
    assert Mark.decode(None) is None


def test_a_mark_with_placeholders_round_trips() -> None:
    mark = Mark("fp", ("Papers/.A b.md.icloud", "Papers/.Ü.md.icloud"), ("x: not downloaded",))
    assert Mark.decode(mark.encode()) == mark
    assert Mark.decode("fp\n{not json") is None
    assert Mark.decode('fp\n{"placeholders": []}') is None
