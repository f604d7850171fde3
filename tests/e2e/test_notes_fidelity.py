"""The user's notes text crossing between the vault (markdown) and Zotero (note HTML).

Found by review: rich Zotero notes must never be overwritten from markdown; an unchanged
Zotero note must not be re-converted into the vault; Obsidian syntax must survive; a trashed
notes child is not the user emptying their notes; custom reading states stay properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import NEWEST, Env, edit_frontmatter, frontmatter

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
    e.lists["jiahongliu21"] = tmp_path / "jiahongliu21.md"
    e.set_list("jiahongliu21", NEWEST["jiahongliu21"])
    e.write_config()
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    yield e


def znote(env: Env, key: str) -> dict[str, Any]:
    return next(c for c in env.children(key) if c["itemType"] == "note")


def user_part(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("<!-- pllm-sync:end -->", 1)[1]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def test_rich_zotero_note_is_never_overwritten(env: Env) -> None:
    note = env.note_for(LAMP)
    append(note, "\nFirst thoughts.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    z = znote(env, item["key"])
    rich = (
        '<p><img alt="" data-attachment-key="ABCD2345"></p><p><span class="highlight" '
        'data-annotation="%7B%7D">"a quote"</span> <u>under</u></p></div>'
    )
    env.emu.edit_item(z["key"], {"note": z["note"].replace("</div>", rich)})
    assert env.run("sync", "--no-progress")[0] == 0
    assert "a quote" in user_part(note), "the text of the Zotero edit reached the vault"
    append(note, "\nSecond thoughts.\n")
    code, _, _ = env.run("sync", "--no-progress")
    assert code == 7, "listed as a conflict rather than overwriting Zotero"
    after = znote(env, item["key"])["note"]
    assert "data-attachment-key" in after and "data-annotation" in after and "<u>" in after
    assert "Second thoughts." in user_part(note), "the vault keeps its text"
    rows = json.loads(env.run("conflicts", "--json")[1])
    assert [(r["paper"], r["field"]) for r in rows] == [(LAMP, "notes")]
    assert frontmatter(note).get("sync-conflict") is True


def test_obsidian_syntax_survives_an_unrelated_zotero_edit(env: Env) -> None:
    note = env.note_for(LAMP)
    append(
        note,
        "\nLoss $L = \\sum_i x_i^2$. See [[my_other_note]] #to_read\n\n"
        "Claim[^1].\n\n[^1]: Smith2020\n\n[TODO]: reread\n",
    )
    assert env.run("sync", "--no-progress")[0] == 0
    before = user_part(note)
    item = env.item_by_pid(LAMP)
    assert "[TODO]: reread" in znote(env, item["key"])["note"], "no line lost on the way"
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "unrelated"}]})
    assert env.run("sync", "--no-progress")[0] == 0
    assert user_part(note) == before


def test_vault_notes_edit_with_unrelated_zotero_edit_is_no_conflict(env: Env) -> None:
    note = env.note_for(LAMP)
    append(note, "\nLoss is $x_1$.\nVerdict: undecided.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "unrelated"}]})
    note.write_text(
        note.read_text(encoding="utf-8").replace("undecided", "accept"), encoding="utf-8"
    )
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert "Verdict: accept." in znote(env, item["key"])["note"]


def test_trashed_notes_child_does_not_wipe_the_vault_notes(env: Env) -> None:
    note = env.note_for(LAMP)
    append(note, "\nYears of reading notes.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    env.emu.edit_item(znote(env, item["key"])["key"], {"deleted": 1})
    assert env.run("sync", "--no-progress")[0] == 0
    assert "Years of reading notes." in user_part(note)
    live = [c for c in env.children(item["key"]) if c["itemType"] == "note"]
    assert len(live) == 1 and "Years of reading notes." in live[0]["note"], "written again"


def test_custom_status_and_rating_stay_properties(env: Env) -> None:
    note = env.note_for(LAMP)
    edit_frontmatter(note, status="to-read", rating=8)
    assert env.run("sync", "--no-progress")[0] == 0
    item = env.item_by_pid(LAMP)
    env.emu.edit_item(item["key"], {"title": item["title"] + "!"})
    assert env.run("sync", "--no-progress")[0] == 0
    fm = frontmatter(note)
    assert (fm.get("status"), fm.get("rating")) == ("to-read", 8)
    assert "status-to-read" not in (fm.get("tags") or [])


def test_notes_saved_by_zotero_desktop_still_take_the_vaults_edits(env: Env) -> None:
    """Found by the Zotero helper: Zotero 7's note editor saves every note wrapped in
    ``<div data-schema-version="N">``. That was taken for rich content, so after one edit
    in Zotero desktop every later edit of the notes in the vault became a conflict, which
    `conflicts resolve --take vault` refused."""
    note = env.note_for(LAMP)
    append(note, "\nLine one.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    key = env.item_by_pid(LAMP)["key"]
    z = znote(env, key)
    saved = '<div data-schema-version="9"><h1>pllm-sync notes</h1>\n<p>Line one, fixed.</p>\n</div>'
    env.emu.edit_item(z["key"], {"note": saved})
    assert env.run("sync", "--no-progress")[0] == 0
    assert "Line one, fixed." in user_part(note)
    append(note, "\nA line added in Obsidian.\n")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    z = znote(env, key)
    assert "A line added in Obsidian." in z["note"] and "Line one, fixed." in z["note"]


def test_notes_deleted_for_good_in_zotero_are_written_again(env: Env) -> None:
    """Found by the Zotero helper: the notes child trashed and the trash emptied in Zotero
    (its item's version does not move): every run said "nothing to change" and Zotero
    stayed without the notes. As for a trashed one, the notes are written again."""
    note = env.note_for(LAMP)
    append(note, "\nMy reading notes.\n")
    assert env.run("sync", "--no-progress")[0] == 0
    key = env.item_by_pid(LAMP)["key"]
    z = znote(env, key)
    env.emu.trash_item(z["key"])
    env.emu.delete_item(z["key"])
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert "My reading notes." in znote(env, key)["note"]
    assert "My reading notes." in user_part(note), "the vault keeps them"
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"
