"""Every saved README version parses, and replaying the history loses no entry.

Two independent checks per version:

1. Every line that ``entry_lines`` (a simple finder sharing no code with the parser) calls
   entry-looking is either parsed into an entry or named in a warning, and the parser
   reads no entry from any other line.
2. For each consecutive pair in ``versions.tsv`` order, a paper parsed from version n but
   not from version n+1 must really be gone from n+1's text: neither its normalised title
   nor its arXiv id occurs there any more.

The whole history (240 files) parses in a few seconds, so CI runs all of it.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from pllm_sync.catalog import ParsedDocument
from pllm_sync.model import normalize_title

from .entry_lines import entry_lines
from .helpers import LISTS, branch_versions, parsed, versions


def _all_files(name: str) -> list[Path]:
    return [v.path for v in versions(name)] + [p for _, p in branch_versions(name)]


@pytest.mark.parametrize("name", LISTS)
def test_versions_tsv_covers_every_file(name: str) -> None:
    files = {p.name for p in _all_files(name)}
    on_disk = {
        p.name for p in (Path(__file__).parents[1] / "data" / "catalogs" / name).rglob("*.md")
    }
    assert files == on_disk
    assert len(files) == {"jiahongliu21": 135, "vanillacreamer": 105}[name]


@pytest.mark.parametrize("name", LISTS)
def test_every_version_parses_and_every_entry_line_is_read_or_warned(name: str) -> None:
    problems: list[str] = []
    for path in _all_files(name):
        text = path.read_text(encoding="utf-8")
        doc = parsed(path, name)
        expected = entry_lines(text)
        got = {e.line for e in doc.entries}
        silent = expected - got - doc.warned_lines()
        invented = got - expected
        if silent:
            problems.append(f"{path.name}: lines dropped silently: {sorted(silent)[:10]}")
        if invented:
            problems.append(
                f"{path.name}: entries read from non-entry lines: {sorted(invented)[:10]}"
            )
        for e in doc.entries:
            assert e.title and e.title == e.title.strip(), (path.name, e.line)
    assert not problems, "\n".join(problems)


def _keys(doc: ParsedDocument) -> dict[str, tuple[int, str | None]]:
    """normalised title -> (line, arXiv id) for every entry (aliases included)."""
    out: dict[str, tuple[int, str | None]] = {}
    for e in doc.entries:
        for t in e.titles:
            out.setdefault(normalize_title(t), (e.line, e.ids.arxiv))
    return out


def _gone_but_present(prev: ParsedDocument, nxt: ParsedDocument, nxt_text: str) -> list[str]:
    before, after = _keys(prev), _keys(nxt)
    after_ids = {e.ids.arxiv for e in nxt.entries if e.ids.arxiv}
    text_norm = f" {normalize_title(nxt_text)} "
    bad: list[str] = []
    for key, (line, arxiv) in before.items():
        if key in after:
            continue
        if f" {key} " in text_norm:
            bad.append(f"title still in the text but not parsed: {key!r} (was line {line})")
        if arxiv and arxiv not in after_ids and re.search(rf"{re.escape(arxiv)}(?!\d)", nxt_text):
            bad.append(f"arXiv id {arxiv} still in the text but not parsed (was line {line})")
    return bad


@pytest.mark.parametrize("name", LISTS)
def test_history_replay_loses_no_entry(name: str) -> None:
    vs = versions(name)
    by_sha = {v.sha: v for v in vs}
    pairs = [(a.path, b.path) for a, b in itertools.pairwise(vs)]
    pairs += [(by_sha[parent].path, p) for parent, p in branch_versions(name) if parent in by_sha]
    problems: list[str] = []
    removed_total = 0
    for a, b in pairs:
        prev, nxt = parsed(a, name), parsed(b, name)
        text = b.read_text(encoding="utf-8")
        for msg in _gone_but_present(prev, nxt, text):
            problems.append(f"{a.name} -> {b.name}: {msg}")
        removed_total += len(set(_keys(prev)) - set(_keys(nxt)))
    assert not problems, "\n".join(problems[:30])
    # The replay is not vacuous: the lists really did remove and retitle entries.
    assert removed_total > 0


def test_known_mass_removal_is_seen_as_removal() -> None:
    """2026-04-07: the bullet list flattened its taxonomy and dropped 121 then 16 entries."""
    seq = versions("vanillacreamer")
    idx = next(i for i, v in enumerate(seq) if v.sha == "f0ae2ad")
    before = parsed(seq[idx - 1].path, "vanillacreamer")
    after = parsed(seq[idx].path, "vanillacreamer")
    assert len(before.entries) - len(after.entries) >= 100


@pytest.mark.parametrize("name", LISTS)
def test_section_paths_round_trip_through_the_synced_record(name: str) -> None:
    """Joined section paths (`` / ``) must split back into the same path in every version,
    so no section name may contain the separator (``Survey / Tutorial`` is read as
    ``Survey/Tutorial``)."""
    from pllm_sync.record import section_key, section_path

    for path in _all_files(name):
        for e in parsed(path, name).entries:
            assert section_path(section_key(e.section)) == e.section, (path.name, e.line)
