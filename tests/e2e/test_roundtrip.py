"""End to end through the CLI against the emulator (real pyzotero, real HTTP) and a real vault.

Covers the sync issue's acceptance: pull both lists; edits on each side reach the other; a
field edited on both sides is a listed conflict with neither side overwritten; a second sync
writes nothing; deletions follow the configured policy; guards stop mass deletes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import NEWEST, Env, edit_frontmatter, frontmatter, pids_in_extra

LAMP = "arxiv:2304.11406"


@pytest.fixture
def env(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Env]:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    e = Env(root=tmp_path, emu=zotero_emulator, capsys=capsys)
    for name, src in NEWEST.items():
        e.lists[name] = tmp_path / f"{name}.md"
        e.set_list(name, src)
    e.write_config()
    yield e


@pytest.fixture
def pulled(env: Env) -> Env:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    return env


def catalog_ids(env: Env) -> list[str]:
    code, out, _ = env.run("catalog", "--format", "json")
    assert code == 0
    return [p["id"] for p in json.loads(out)]


def test_pull_imports_every_paper_once_and_second_run_is_free(pulled: Env) -> None:
    env = pulled
    ids = catalog_ids(env)
    items = env.items()
    assert sorted(pids_in_extra(items)) == sorted(ids), "one Zotero item per unique paper"
    notes = list(env.papers.glob("*.md"))
    assert len(notes) == len(ids), "one note per unique paper"
    # one collection per section node, plus the root
    code, out, _ = env.run("catalog", "--format", "json")
    sections = {
        tuple(p[: i + 1])
        for paper in json.loads(out)
        for p in paper["sections"]
        for i in range(len(p))
    }
    assert len(env.emu.get_collections()) >= len(sections) + 1

    before = env.snapshot()
    env.emu.clear_log()
    code, out, _ = env.run("sync", "--no-progress")
    assert code == 0
    assert env.writes() == [], "a no-op sync writes nothing to Zotero"
    assert len(env.emu.request_log) <= 3, [(r.method, r.path) for r in env.emu.request_log]
    assert env.snapshot() == before, "a no-op sync keeps every file's bytes and mtime"

    env.emu.clear_log()
    code, _, _ = env.run("pull", "--no-progress")
    assert code == 0
    assert env.writes() == [], "a second pull writes nothing to Zotero"
    assert env.snapshot() == before


def test_note_edit_reaches_zotero(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    edit_frontmatter(note, tags=["favourite", "to-discuss"], status="read")
    with note.open("a", encoding="utf-8") as fh:
        fh.write("\n## My notes\n\nGreat benchmark; compare with **LaMP-QA**.\n")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    item = env.item_by_pid(LAMP)
    tags = {t["tag"] for t in item["tags"]}
    assert {"favourite", "to-discuss", "status/read"} <= tags
    notes = [c for c in env.children(item["key"]) if c["itemType"] == "note"]
    assert len(notes) == 1
    assert "Great benchmark" in notes[0]["note"] and "<strong>LaMP-QA</strong>" in notes[0]["note"]
    # and nothing more to do afterwards
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0
    assert env.writes() == []


def test_zotero_edit_reaches_note_and_keeps_user_text(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    user_text = "\n## Reading log\n\n- 2026-11-01: read sections 1-3\n"
    with note.open("a", encoding="utf-8") as fh:
        fh.write(user_text)
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    new_title = "LaMP: When Large Language Models Meet Personalization (v2)"
    env.emu.edit_item(
        item["key"], {"title": new_title, "tags": [*item["tags"], {"tag": "machine learning"}]}
    )
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    fm = frontmatter(note)
    assert fm["title"] == new_title
    assert "LaMP: When Large Language Models Meet Personalization" in fm["aliases"]
    assert "machine-learning" in fm["tags"]
    assert note.read_text(encoding="utf-8").endswith(user_text), "user text untouched"
    assert note.name.startswith("LaMP - When Large"), "a retitle never renames the note"


def test_same_field_edited_on_both_sides_is_a_listed_conflict(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    item = env.item_by_pid(LAMP)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "rating/5"}]})
    edit_frontmatter(note, rating=2)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 7, err
    assert "1 conflict needs a decision; both sides were kept" in err, err
    fm = frontmatter(note)
    assert fm["rating"] == 2, "vault value kept"
    assert fm.get("sync-conflict") is True
    tags = {t["tag"] for t in env.item_by_pid(LAMP)["tags"]}
    assert "rating/5" in tags and "rating/2" not in tags, "Zotero value kept"
    code, out, _ = env.run("conflicts", "--json")
    rows = json.loads(out)
    assert [(r["paper"], r["field"], r["zotero"], r["vault"]) for r in rows] == [
        (LAMP, "rating", 5, 2)
    ]
    # the user picks the vault's value
    code, out, err = env.run("conflicts", "resolve", str(rows[0]["id"]), "--take", "vault")
    assert code == 0, err
    tags = {t["tag"] for t in env.item_by_pid(LAMP)["tags"]}
    assert "rating/2" in tags and "rating/5" not in tags
    assert "sync-conflict" not in frontmatter(note)
    assert json.loads(env.run("conflicts", "--json")[1]) == []


def test_dry_run_changes_nothing_and_shows_field_diffs(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    edit_frontmatter(note, status="reading")
    before = env.snapshot()
    env.emu.clear_log()
    code, out, _ = env.run("sync", "--dry-run")
    assert code == 0
    assert 'status: (empty) -> "reading"' in out
    assert env.writes() == []
    assert env.snapshot() == before
    code, out, _ = env.run("sync", "--dry-run", "--json")
    plan = json.loads(out)["plan"]
    assert plan["counts"]["zotero.update"] == 1


def test_note_deleted_in_vault_goes_to_zotero_trash(pulled: Env) -> None:
    env = pulled
    env.note_for(LAMP).unlink()
    assert env.run("sync", "--no-progress")[0] == 0
    trashed = env.items(trashed=True)
    assert [d for d in trashed.values() if f"pllm-sync-id: {LAMP}" in d["extra"]]
    # the next pull does not bring the note back, nor duplicate the item
    assert env.run("pull", "--no-progress")[0] == 0
    assert not [p for p in env.papers.glob("*.md") if f"{LAMP}\n" in p.read_text()]
    assert sorted(pids_in_extra(env.items())) == sorted(set(pids_in_extra(env.items())))


def test_item_trashed_in_zotero_moves_note_to_vault_trash(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    env.emu.trash_item(env.item_by_pid(LAMP)["key"])
    assert env.run("sync", "--no-progress")[0] == 0
    assert not note.exists()
    trash = list((env.vault / ".pllm-sync-trash").rglob("*.md"))
    assert [p for p in trash if f"pllm-sync-id: {LAMP}" in p.read_text()], "moved, not deleted"


def test_mass_delete_guard_aborts_before_any_change(pulled: Env) -> None:
    env = pulled
    notes = sorted(env.papers.glob("*.md"))[:40]
    for p in notes:
        p.unlink()
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 6 and "max_delete" in err
    assert env.writes() == []


def test_vanished_vault_aborts(pulled: Env) -> None:
    env = pulled
    shutil.rmtree(env.vault)
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 6 and "missing" in err
    assert env.writes() == []
    assert not env.vault.exists(), "nothing recreated"


def test_hand_made_note_becomes_a_zotero_item(pulled: Env) -> None:
    env = pulled
    (env.papers / "My find.md").write_text(
        "---\ntitle: A Paper I Found Myself\narxiv: '2501.00001'\ntags: [inbox]\n---\n\nWhy: "
        "cited by LaMP.\n",
        encoding="utf-8",
    )
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    item = env.item_by_pid("arxiv:2501.00001")
    assert item["title"] == "A Paper I Found Myself"
    assert "inbox" in {t["tag"] for t in item["tags"]}
    assert item["collections"], "filed in a pllm-sync collection"
    fm = frontmatter(env.papers / "My find.md")
    assert fm["pllm-sync-id"] == "arxiv:2501.00001"
    assert (env.papers / "My find.md").read_text().endswith("Why: cited by LaMP.\n")
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0
    assert env.writes() == []


def test_item_filed_by_hand_into_a_section_gets_a_note(pulled: Env) -> None:
    env = pulled
    lamp = env.item_by_pid(LAMP)
    key = env.emu.create_item(
        {
            "itemType": "journalArticle",
            "title": "Hand Filed Paper",
            "DOI": "10.1234/hand.1",
            "collections": lamp["collections"][:1],
        }
    )
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    note = env.note_for("doi:10.1234/hand.1")
    assert frontmatter(note)["title"] == "Hand Filed Paper"
    assert "pllm-sync-id: doi:10.1234/hand.1" in env.emu.get_items()[key]["extra"]


def test_notes_edited_on_both_sides_keep_both_texts(pulled: Env) -> None:
    env = pulled
    note = env.note_for(LAMP)
    with note.open("a", encoding="utf-8") as fh:
        fh.write("\nVerdict: undecided.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    znote = next(c for c in env.children(item["key"]) if c["itemType"] == "note")
    env.emu.edit_item(znote["key"], {"note": znote["note"].replace("undecided", "strong accept")})
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("undecided", "weak reject"), encoding="utf-8")
    code, _, _ = env.run("sync", "--no-progress")
    assert code == 7
    text = note.read_text(encoding="utf-8")
    assert "strong accept" in text and "weak reject" in text, "both texts kept in the note"
    znote = next(c for c in env.children(item["key"]) if c["itemType"] == "note")
    assert "strong accept" in znote["note"] and "weak reject" in znote["note"]
    rows = json.loads(env.run("conflicts", "--json")[1])
    assert [(r["paper"], r["field"]) for r in rows] == [(LAMP, "notes")]
    assert frontmatter(note).get("sync-conflict") is True
    # the user tidies up in the vault: markers gone, one verdict kept
    body = text.split("<!-- pllm-sync:end -->", 1)[1]
    kept = "\nVerdict: strong accept, after discussion.\n"
    note.write_text(text.replace(body, kept), encoding="utf-8")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    znote = next(c for c in env.children(item["key"]) if c["itemType"] == "note")
    assert "after discussion" in znote["note"] and "weak reject" not in znote["note"]
    assert json.loads(env.run("conflicts", "--json")[1]) == []
    assert "sync-conflict" not in frontmatter(note)


def test_users_own_collection_move_in_zotero_survives_the_next_pull(pulled: Env) -> None:
    env = pulled
    item = env.item_by_pid(LAMP)
    cols = env.emu.get_collections()
    by_name = {d["name"]: k for k, d in cols.items()}
    target = by_name["Soft-Fused Prompting"]
    assert target not in item["collections"]
    moved = [*item["collections"][1:], target]  # leave one section, join another
    env.emu.edit_item(item["key"], {"collections": moved})
    assert env.run("sync", "--no-progress")[0] == 0
    sections = " ".join(frontmatter(env.note_for(LAMP))["sections"])
    assert "Soft-Fused Prompting" in sections
    # the catalog did not change: the next pull keeps the user's move on both sides
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert sorted(env.item_by_pid(LAMP)["collections"]) == sorted(moved)
    assert env.writes() == []
