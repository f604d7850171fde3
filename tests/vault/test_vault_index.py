"""Index notes: one per section node, rewritten only when their content changes, and the
user's own text in them kept."""

from __future__ import annotations

from pathlib import Path

from pllm_sync.model import PaperIds, Section
from pllm_sync.record import record_from_paper
from pllm_sync.vault.body import END
from pllm_sync.vault.store import VaultStore

from .vault_helpers import ROOT, lamp, make_paper


def _tree() -> tuple[Section, Section, Section]:
    root = Section(ROOT[0], "awesome", ROOT)
    prompting = root.child("Personalized Prompting")
    pag = prompting.child("Profile-Augmented Prompting (PAG)")
    return root, prompting, pag


def test_index_notes_are_written_once_and_link_both_ways(store: VaultStore) -> None:
    root, prompting, pag = _tree()
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    members = {prompting.path: [info.name]}
    assert store.write_index_notes({"jiahongliu21": root}, members) == 3
    idx = store.index_dir / "Awesome PLLMs" / "Personalized Prompting.md"
    text = idx.read_text()
    assert text.startswith("---\npllm-sync-section: Awesome PLLMs / Personalized Prompting\n---\n")
    assert f"- [[{info.name}]]" in text
    assert "[[Sections/Awesome PLLMs|Awesome PLLMs (list jiahongliu21)]]" in text  # up
    assert (
        "[[Sections/Awesome PLLMs/Personalized Prompting/Profile-Augmented Prompting (PAG)"
        "|Profile-Augmented Prompting (PAG)]]" in text
    )  # down
    mtimes = {p: p.stat().st_mtime_ns for p in store.index_dir.rglob("*.md")}
    # Nothing changed: nothing written, mtimes kept.
    assert store.write_index_notes({"jiahongliu21": root}, members) == 0
    assert {p: p.stat().st_mtime_ns for p in store.index_dir.rglob("*.md")} == mtimes
    # One membership change: exactly one note rewritten.
    other = make_paper("Other", ids=PaperIds(doi="10.3/o"), sections=(pag.path,))
    oinfo = store.create_note(other, record_from_paper(other))
    assert store.write_index_notes({"jiahongliu21": root}, {**members, pag.path: [oinfo.name]}) == 1


def test_user_text_in_an_index_note_is_kept(store: VaultStore) -> None:
    root, prompting, _pag = _tree()
    store.write_index_notes({"jiahongliu21": root}, {})
    idx = store.index_dir / "Awesome PLLMs" / "Personalized Prompting.md"
    text = idx.read_text().replace("---\n<!--", "---\nMy overview of prompting.\n\n<!--")
    text = text.replace("pllm-sync-section:", "cssclasses: wide\npllm-sync-section:")
    idx.write_text(text + "\nMy closing thoughts.\n")
    store.write_index_notes({"jiahongliu21": root}, {prompting.path: ["Some Paper"]})
    new = idx.read_text()
    assert new.startswith("---\ncssclasses: wide\npllm-sync-section:")
    assert "---\nMy overview of prompting.\n\n<!--" in new
    assert new.endswith(END + "\n\nMy closing thoughts.\n")
    assert "- [[Some Paper]]" in new


def test_a_user_note_with_an_index_name_is_not_touched(store: VaultStore) -> None:
    root, _prompting, _pag = _tree()
    mine = store.index_dir / "Awesome PLLMs.md"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("my own note\n")
    store.write_index_notes({"jiahongliu21": root}, {})
    assert mine.read_text() == "my own note\n"


def test_headings_that_sanitise_alike_get_distinct_notes(store: VaultStore) -> None:
    root = Section(ROOT[0], "awesome", ROOT)
    a = root.child("A/B")
    b = root.child("A|B")
    assert store.write_index_notes({"l": root}, {a.path: ["x"], b.path: ["y"]}) == 3
    names = sorted(p.name for p in (store.index_dir / "Awesome PLLMs").glob("*.md"))
    assert len(names) == 2 and "A-B.md" in names
    assert any(n.startswith("A-B (") for n in names)


def test_index_notes_never_leave_the_index_folder(store: VaultStore, tmp_path: Path) -> None:
    root = Section("../../outside", "x", ("../../outside",))
    root.child("..")
    store.write_index_notes({"evil": root}, {})
    written = list(store.root.rglob("*.md"))
    assert written and all(store.index_dir.resolve() in p.resolve().parents for p in written)
    assert not list(tmp_path.glob("outside*"))
