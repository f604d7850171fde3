"""Paper notes: safe names, frontmatter every reader agrees on, and user bytes that survive."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import frontmatter
import pytest
import yaml
from ruamel.yaml import YAML

from pllm_sync.config import VaultConfig
from pllm_sync.errors import VaultError
from pllm_sync.model import PaperIds, normalize_whitespace
from pllm_sync.record import record_from_paper
from pllm_sync.vault.body import BEGIN, END, ManagedContent, render_region
from pllm_sync.vault.store import VaultStore

from .conftest import Age
from .vault_helpers import lamp, make_paper

# title -> expected file name (golden). Every one must stay inside Papers/.
TRICKY_TITLES = {
    "Colon: a Subtitle": "Colon - a Subtitle.md",
    "Quotes \"double\" and 'single'": "Quotes 'double' and 'single'.md",
    "#hashtag and # inside": "hashtag and inside.md",
    "[[Wiki]] links | pipes ^block": "((Wiki)) links - pipes block.md",
    "Ünïcödé — 漢字 🙂": "Ünïcödé — 漢字 🙂.md",
    "x" * 300: "x" * 120 + ".md",
    "../../etc/passwd": "etc-passwd.md",
    "....": None,  # only dots: falls back to "Untitled <hash>"
    "CON": "CON_.md",
    "NUL\x00and\x07controls\x1b": "NUL and controls.md",
    "yes": "yes.md",
    "10:00": "10 - 00.md",
    "2024-01-01": "2024-01-01.md",
    "- item": "item.md",
    "&a": "&a.md",
    "!!python/object": "!!python-object.md",
}


def _readers(text: str) -> list[dict[str, object]]:
    block = text.split("---\n", 2)[1]
    return [
        yaml.safe_load(block),
        YAML(typ="safe", pure=True).load(io.StringIO(block)),
        dict(frontmatter.loads(text).metadata),
    ]


@pytest.mark.parametrize("title", list(TRICKY_TITLES))
def test_tricky_title_golden(store: VaultStore, title: str) -> None:
    paper = make_paper(title, ids=PaperIds(doi=f"10.1/{len(title)}"))
    info = store.create_note(paper, record_from_paper(paper))
    path = (store.root / info.path).resolve()
    assert path.parent == store.papers_dir.resolve()
    expected = TRICKY_TITLES[title]
    if expected is None:
        assert path.name.startswith("Untitled ")
    else:
        assert path.name == expected
    text = path.read_text(encoding="utf-8")
    for data in _readers(text):
        assert data["title"] == normalize_whitespace(title)
        assert data["pllm-sync-id"] == paper.id
        assert data["sections"] == [
            "[[Sections/Awesome PLLMs/Personalized Prompting|Personalized Prompting]]"
        ]
    scanned = store.scan().notes[paper.id]
    assert scanned.record == info.record
    assert scanned.record["title"] == normalize_whitespace(title)


def test_same_name_twice_gets_a_stable_suffix(store: VaultStore) -> None:
    a = make_paper("Same Title", ids=PaperIds(arxiv="2401.00001"))
    b = make_paper("same title", ids=PaperIds(arxiv="2401.00002"))
    ia = store.create_note(a, record_from_paper(a))
    ib = store.create_note(b, record_from_paper(b))
    assert ia.path == "Papers/Same Title.md"
    assert ib.path.startswith("Papers/same title (") and ib.path != ia.path


def test_new_note_layout(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper), zotero_key="ABCD2345")
    text = (store.root / info.path).read_text(encoding="utf-8")
    head, region_and_rest = text.split(BEGIN)
    assert head.startswith("---\npllm-sync-id: arxiv:2304.11406\n")
    assert 'title: "LaMP: When Large Language Models Meet Personalization"\n' in head
    assert "authors:\n  - Alireza Salemi\n  - Sheshera Mysore\n" in head
    assert 'arxiv: "2304.11406"\n' in head  # would be a number otherwise
    assert "zotero: zotero://select/library/items/ABCD2345\n" in head
    assert "catalog: listed\n" in head
    assert "> Personalization matters." in region_and_rest
    assert "[code](<https://github.com/LaMP-Benchmark/LaMP>)" in region_and_rest
    assert info.record["notes"] == "" and info.zotero_key == "ABCD2345"


def test_group_library_zotero_link(tmp_path: Path) -> None:
    s = VaultStore(VaultConfig(path=tmp_path / "v"), library_type="group", library_id="4711")
    paper = lamp()
    info = s.create_note(paper, record_from_paper(paper), zotero_key="ABCD2345")
    text = (s.root / info.path).read_text(encoding="utf-8")
    assert "zotero: zotero://select/groups/4711/items/ABCD2345\n" in text


# --- a note a user has worked on ---------------------------------------------------------

USER_NOTE = (
    "---\r\n"
    "# my comment above everything\r\n"
    "pllm-sync-id: arxiv:2304.11406\r\n"
    "status: reading\r\n"
    'title: "LaMP: When Large Language Models Meet Personalization"\r\n'
    "my-key:   keep   me   \r\n"
    "content: a key named content\r\n"
    "meeting: 10:00\r\n"
    "due: 2024-01-01\r\n"
    "flag: yes\r\n"
    "venue: ACL 2024   # where it appeared\r\n"
    "tags:\r\n"
    "- nlp\r\n"
    '- "#to-read"\r\n'
    "sections:\r\n"
    '  - "[[Sections/Awesome PLLMs/Personalized Prompting|Personalized Prompting]]"\r\n'
    "\r\n"
    "# a comment between keys\r\n"
    "year: 2024\r\n"
    "added: 2024-03-01\r\n"
    "catalog: listed\r\n"
    "---\r\n"
    f"{BEGIN}\r\n"
    "**Links:** [paper](<https://old.example>)\r\n"
    f"{END}\r\n"
    "\r\n"
    "My notes\r\n"
    "---\r\n"
    "more after a rule, no trailing newline"
)


def _user_note(store: VaultStore, age: Callable[[Path], None]) -> Path:
    path = store.papers_dir / "my renamed LaMP.md"
    path.write_bytes(USER_NOTE.encode("utf-8"))
    age(path)
    return path


def test_user_note_reads_as_the_user_wrote_it(store: VaultStore, age: Age) -> None:
    _user_note(store, age)
    rec = store.scan().notes["arxiv:2304.11406"].record
    assert rec["status"] == "reading"
    assert rec["tags"] == frozenset({"nlp", "to-read"})
    assert rec["venue"] == "ACL 2024"
    assert rec["sections"] == frozenset({"Awesome PLLMs / Personalized Prompting"})
    assert rec["notes"] == "My notes\n---\nmore after a rule, no trailing newline"


def test_refresh_preserves_every_user_byte(store: VaultStore, age: Age) -> None:
    path = _user_note(store, age)
    note = store.scan().notes["arxiv:2304.11406"]
    managed = ManagedContent(abstract="New abstract.", links=[("paper", "https://x.org/p")])
    new = store.update_note(
        note, {"title": "LaMP 2", "venue": "EMNLP 2024", "status": "reading"}, managed=managed
    )
    assert new is not None
    region = render_region(
        managed, ["[[Sections/Awesome PLLMs/Personalized Prompting|Personalized Prompting]]"]
    ).replace("\n", "\r\n")
    expected = (
        USER_NOTE.replace(
            'title: "LaMP: When Large Language Models Meet Personalization"\r\n',
            "title: LaMP 2\r\n",
        )
        .replace("venue: ACL 2024   # where it appeared\r\n", "venue: EMNLP 2024\r\n")
        .replace(
            "catalog: listed\r\n---\r\n",
            "catalog: listed\r\n"
            'aliases:\r\n  - "LaMP: When Large Language Models Meet Personalization"\r\n'
            "---\r\n",
        )
        .replace(f"{BEGIN}\r\n**Links:** [paper](<https://old.example>)\r\n{END}\r\n", region)
    )
    assert path.read_bytes() == expected.encode("utf-8")
    assert new.path == "Papers/my renamed LaMP.md"  # a retitle never renames the file
    assert new.record["title"] == "LaMP 2"

    # The same refresh again writes nothing: bytes and mtime stay.
    age(path)
    before = path.stat().st_mtime_ns
    again = store.scan().notes["arxiv:2304.11406"]
    assert (
        store.update_note(again, {"title": "LaMP 2", "venue": "EMNLP 2024"}, managed=managed)
        is None
    )
    assert store.update_note(again, dict(again.record)) is None
    assert path.read_bytes() == expected.encode("utf-8")
    assert path.stat().st_mtime_ns == before


def test_setting_notes_rewrites_only_the_text_after_the_region(store: VaultStore, age: Age) -> None:
    path = _user_note(store, age)
    note = store.scan().notes["arxiv:2304.11406"]
    new = store.update_note(note, {"notes": "From Zotero\n\nsecond paragraph"})
    assert new is not None and new.record["notes"] == "From Zotero\n\nsecond paragraph"
    text = path.read_bytes().decode("utf-8")
    head = USER_NOTE[: USER_NOTE.index(END) + len(END) + 2]
    assert text == head + "\r\nFrom Zotero\r\n\r\nsecond paragraph\r\n"


def test_text_before_the_region_is_kept_when_notes_are_set(store: VaultStore, age: Age) -> None:
    path = _user_note(store, age)
    path.write_bytes(USER_NOTE.replace(BEGIN, "Top remark\r\n\r\n" + BEGIN).encode())
    age(path)
    note = store.scan().notes["arxiv:2304.11406"]
    assert note.record["notes"].startswith("Top remark\n\nMy notes")
    new = store.update_note(note, {"notes": "Top remark\n\nMy notes changed"})
    assert new is not None and new.record["notes"] == "Top remark\n\nMy notes changed"
    text = path.read_bytes().decode()
    assert "Top remark\r\n\r\n" + BEGIN in text  # kept byte for byte, in place
    assert text.endswith(END + "\r\n\r\nMy notes changed\r\n")


def test_tags_and_sections_keep_the_users_order_and_spelling(store: VaultStore, age: Age) -> None:
    path = _user_note(store, age)
    note = store.scan().notes["arxiv:2304.11406"]
    new = store.update_note(note, {"tags": {"nlp", "to-read", "agents"}})
    assert new is not None and new.record["tags"] == frozenset({"nlp", "to-read", "agents"})
    assert 'tags:\r\n  - nlp\r\n  - "#to-read"\r\n  - agents\r\n' in path.read_bytes().decode()


def test_conflict_flag_is_set_and_removed(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    flagged = store.update_note(info, {}, conflict_flag=True)
    assert flagged is not None and flagged.conflict_flag
    assert "sync-conflict: true\n" in (store.root / info.path).read_text()
    assert store.update_note(flagged, {}, conflict_flag=True) is None
    cleared = store.update_note(flagged, {}, conflict_flag=False)
    assert cleared is not None and not cleared.conflict_flag
    assert "sync-conflict" not in (store.root / info.path).read_text()


def test_a_concurrent_user_edit_is_never_overwritten(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    path = store.root / info.path
    path.write_text(path.read_text() + "\nwritten while the sync ran\n")
    mine = path.read_bytes()
    with pytest.raises(VaultError, match="changed on disk"):
        store.update_note(info, {"title": "Upstream retitle"})
    assert path.read_bytes() == mine


def test_invalid_yaml_note_is_refused_for_update(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    path = store.root / info.path
    path.write_text(path.read_text().replace("year: 2024", "year: [2024"))
    bad = path.read_bytes()
    current = replace(info, sha256=hashlib.sha256(bad).hexdigest())
    with pytest.raises(VaultError, match=r"Papers/.*\.md:\d+: invalid YAML"):
        store.update_note(current, {"title": "Upstream retitle"})
    assert path.read_bytes() == bad


def test_adopting_a_hand_added_note(store: VaultStore, age: Age) -> None:
    path = store.papers_dir / "my paper.md"
    path.write_text("---\ntitle: Mine\narxiv: 2401.12345\nstatus: unread\n---\nnotes\n")
    age(path)
    scan = store.scan()
    assert [n.path for n in scan.new_notes] == ["Papers/my paper.md"]
    cand = scan.new_notes[0]
    assert cand.pllm_id is None and cand.record["arxiv"] == "2401.12345"
    adopted = store.update_note(cand, {"title": "Mine (full title)"}, pllm_id="arxiv:2401.12345")
    assert adopted is not None and adopted.pllm_id == "arxiv:2401.12345"
    assert store.scan().notes["arxiv:2401.12345"].record["notes"] == "notes"


def test_trash_moves_never_deletes(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    data = (store.root / info.path).read_bytes()
    rel = store.trash_note(info)
    assert rel.startswith(".pllm-sync-trash/Papers/")
    assert (store.root / rel).read_bytes() == data
    assert not (store.root / info.path).exists()
    assert store.scan().notes == {}
    again = store.create_note(paper, record_from_paper(paper))
    assert store.trash_note(again) != rel  # a second trashing never overwrites the first


def test_note_paths_outside_the_vault_are_refused(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    with pytest.raises(VaultError, match="outside the vault"):
        store.update_note(replace(info, path="../escape.md"), {"title": "x"})


def test_a_note_that_is_only_frontmatter_gets_a_region_and_notes(
    store: VaultStore, age: Age
) -> None:
    path = store.papers_dir / "bare.md"
    path.write_bytes(b"---\npllm-sync-id: doi:10.5/bare\ntitle: Bare\n---")  # no final newline
    age(path)
    note = store.scan().notes["doi:10.5/bare"]
    new = store.update_note(note, {"notes": "first thought"}, managed=ManagedContent())
    assert new is not None and new.record["notes"] == "first thought"
    text = path.read_text()
    assert text.startswith("---\npllm-sync-id: doi:10.5/bare\ntitle: Bare\n---\n" + BEGIN)
    assert text.endswith(END + "\n\nfirst thought\n")


def test_section_changes_update_property_and_region(store: VaultStore) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    key = "Awesome PLLMs / Personalized Adaptation"
    new = store.update_note(info, {"sections": {key}})
    assert new is not None and new.record["sections"] == {key}
    text = (store.root / info.path).read_text()
    link = "[[Sections/Awesome PLLMs/Personalized Adaptation|Personalized Adaptation]]"
    assert f'sections:\n  - "{link}"\n' in text
    assert f"**Sections:** {link}\n" in text
    assert "Personalized Prompting" not in text


def test_refreshing_a_fresh_note_with_the_same_inputs_writes_nothing(store: VaultStore) -> None:
    paper = lamp()
    managed = ManagedContent(
        abstract="Abstract.", links=[("paper", paper.url or "")], provenance=["list:1"]
    )
    info = store.create_note(
        paper, record_from_paper(paper), zotero_key="ABCD2345", managed=managed
    )
    path = store.root / info.path
    data, mtime = path.read_bytes(), path.stat().st_mtime_ns
    note = store.scan().notes[paper.id]
    assert (
        store.update_note(
            note,
            record_from_paper(paper),
            zotero_key="ABCD2345",
            managed=managed,
            conflict_flag=False,
        )
        is None
    )
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    ("written", "want"),
    [
        ('["[[John Roe]]"]', ["John Roe"]),  # a link to a person's note: the name it shows
        ('["[[People/John Roe|J. Roe]]", Ann Lee]', ["J. Roe", "Ann Lee"]),
        ('"Jane Doe, John Roe"', ["Jane Doe", "John Roe"]),  # one line of whole names
        ('"Doe, Jane"', ["Doe, Jane"]),  # one name, last name first (Zotero splits it)
        ('"Ann Lee; Bo Ma"', ["Ann Lee", "Bo Ma"]),
        ('"Ann Lee and Bo Ma"', ["Ann Lee", "Bo Ma"]),
    ],
)
def test_authors_as_obsidian_users_write_them(written: str, want: list[str]) -> None:
    from pllm_sync.vault.note import parse_note

    parsed = parse_note(f"---\npllm-sync-id: arxiv:1\ntitle: T\nauthors: {written}\n---\n")
    assert list(parsed.raw["authors"]) == want


@pytest.mark.parametrize("year", ["circa 2020", "2020?", "true"])
def test_a_year_that_is_no_number_says_nothing_about_the_year(year: str) -> None:
    """It once read as "no year", and the sync cleared Zotero's date."""
    from pllm_sync.vault.note import parse_note, unreadable_numbers

    parsed = parse_note(f"---\npllm-sync-id: arxiv:1\ntitle: T\nyear: {year}\n---\n")
    assert "year" not in parsed.raw
    assert [f for f, _ in unreadable_numbers(parsed.values)] == ["year"]
    clean = parse_note("---\npllm-sync-id: arxiv:1\ntitle: T\nyear:\n---\n")
    assert clean.raw["year"] is None  # an empty year is the user clearing it
