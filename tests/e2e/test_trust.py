"""Issue 8 ("Trust"), the engine's half: each scenario once lost, duplicated or hid a user's
data. Every test drives the CLI against the emulator and a real vault.

- a dry run takes the decisions the real run takes (rich Zotero notes included);
- copies of a note never take the identity from the note the state knows, and a copy that
  vanishes deletes nothing;
- a note absent for one sync and back restores its item; an item restored from Zotero's
  trash restores its note;
- collection membership never follows index notes that vanished;
- the tool's own Zotero write is not taken for a Zotero edit when the note changed mid-run;
- a deleted note does not trash an item the user has since given a PDF or child note;
- ``conflicts resolve`` on a notes conflict writes the chosen text, or refuses;
- a copy left under a renamed paper's old id stays a copy in a plain ``sync`` too (also
  after a lost state).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.mapping import item_to_record

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter, make_env, pids_in_extra

LIST = """# Trust List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))

## Retrieval

### Dense/Sparse Methods

+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
"""
A, B, C = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"
RICH = (
    '<p><img alt="" data-attachment-key="ABCD2345"></p><p><span class="highlight" '
    'data-annotation="%7B%7D">"a quote"</span></p></div>'
)


@pytest.fixture
def env(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Env]:
    e = make_env(
        tmp_path, zotero_emulator, capsys, monkeypatch, {"trust": LIST}, max_delete_percent=100
    )
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    yield e


def sync(env: Env, *args: str) -> tuple[int, str, str]:
    return env.run("sync", "--no-progress", *args)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def user_part(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("<!-- pllm-sync:end -->", 1)[1]


def item_any(env: Env, pid: str) -> dict[str, Any]:
    (found,) = [
        d
        for d in [*env.items(trashed=False).values(), *env.items(trashed=True).values()]
        if f"pllm-sync-id: {pid}" in (d.get("extra") or "")
    ]
    return found


def znote(env: Env, key: str) -> dict[str, Any]:
    return next(c for c in env.children(key) if c["itemType"] == "note")


def zrec(item: dict[str, Any]) -> dict[str, Any]:
    return dict(item_to_record(item, [], {}))


def ztags(item: dict[str, Any]) -> set[str]:
    return {t["tag"] for t in item["tags"]}


def plan_of(out: str) -> dict[str, Any]:
    plan = json.loads(out)["plan"]
    assert isinstance(plan, dict)
    return {k: plan[k] for k in ("counts", "actions", "conflicts")}


# --- the mechanism: one pure decision pass --------------------------------------------------


def test_dry_run_plans_what_the_real_run_does_with_a_rich_zotero_note(env: Env) -> None:
    note = env.note_for(A)
    append(note, "\nFirst thoughts.\n")
    assert sync(env)[0] == 0
    key = env.item_by_pid(A)["key"]
    z = znote(env, key)
    env.emu.edit_item(z["key"], {"note": z["note"].replace("</div>", RICH)})
    assert sync(env)[0] == 0
    append(note, "\nSecond thoughts.\n")
    edit_frontmatter(env.note_for(B), status="read")
    code, dry, _ = sync(env, "--dry-run", "--json")
    assert code == 7, "a dry run that finds a conflict says so in its exit code"
    code, real, _ = sync(env, "--json")
    assert code == 7, "the real run lists the notes conflict"
    planned, done = plan_of(dry), plan_of(real)
    assert [(c["id"], c["field"]) for c in planned["conflicts"]] == [(A, "notes")]
    assert planned == done, "a dry run must take the real run's decisions"
    assert "data-annotation" in znote(env, key)["note"], "the rich note was not overwritten"


def test_an_open_notes_conflict_exits_7_on_every_run_until_resolved(env: Env) -> None:
    """Found trying it in Obsidian: the run that found a notes conflict exited 7, every
    later one 0 with "nothing to change", though the note still showed both texts. A cron
    job checking for exit 7 missed it."""
    note = env.note_for(A)
    append(note, "\nPara one.\n")
    assert sync(env)[0] == 0
    z = znote(env, env.item_by_pid(A)["key"])
    env.emu.edit_item(z["key"], {"note": z["note"].replace("Para one.", "Para one, Zotero.")})
    note.write_text(
        note.read_text(encoding="utf-8").replace("Para one.", "Para one, vault."), "utf-8"
    )
    assert sync(env)[0] == 7, "the run that finds it"
    for _ in range(2):
        code, _, err = sync(env)
        assert code == 7, err
        assert "1 conflict found before is still open" in err
        assert "conflicts` to see and resolve them" in err
    code, out, _ = env.run("conflicts", "--json")
    (c,) = [c for c in json.loads(out) if c["open"]]
    assert env.run("conflicts", "resolve", str(c["id"]), "--take", "vault")[0] == 0
    assert sync(env)[0] == 0, "resolved: a run is clean again"


def test_a_notes_conflict_is_listed_with_each_sides_text_under_its_label(env: Env) -> None:
    """Found by the Zotero helper: only the first line of each side's notes was indented,
    so `vault:` landed in the middle of Zotero's text."""
    note = env.note_for(A)
    append(note, "\nPara one.\n\nPara two.\n")
    assert sync(env)[0] == 0
    z = znote(env, env.item_by_pid(A)["key"])
    env.emu.edit_item(z["key"], {"note": z["note"].replace("Para two.", "Para two, Zotero.")})
    note.write_text(note.read_text(encoding="utf-8").replace("Para two.", "Para two, vault."))
    assert sync(env)[0] == 7
    code, out, _ = env.run("conflicts")
    assert code == 0
    lines = out.splitlines()
    z_at, v_at = lines.index("    zotero:"), lines.index("    vault:")
    assert all(ln.startswith("      | ") for ln in lines[z_at + 1 : v_at]), out
    assert (
        "      | Para two, Zotero." in lines[z_at:v_at]
        and "      | Para two, vault." in lines[v_at:]
    )


def test_merge_items_in_zotero_says_which_notes_child_is_not_synced(env: Env) -> None:
    """Found by the Zotero helper: Zotero's Merge Items on two papers with notes keeps both
    notes children on the kept item; the other paper's text then sat in a note nothing
    read, and nothing said so."""
    append(env.note_for(A), "\nNotes on A.\n")
    append(env.note_for(B), "\nNotes on B.\n")
    assert sync(env)[0] == 0
    ka, kb = env.item_by_pid(A)["key"], env.item_by_pid(B)["key"]
    (nb,) = [c for c in env.children(kb) if c["itemType"] == "note"]
    env.emu.edit_item(nb["key"], {"parentItem": ka})  # what Merge Items does (A kept)
    env.emu.edit_item(ka, {"relations": {"dc:replaces": [f"http://zotero.org/users/1/items/{kb}"]}})
    env.emu.trash_item(kb)
    code, _, err = sync(env)
    assert code == 0, err
    assert "has 2 notes marked as pllm-sync's" in err and nb["key"] in err, err
    assert "Notes on B." in env.emu.get_items()[nb["key"]]["note"], "left where it is"


# --- item 1: copies of a note -------------------------------------------------------------


def test_a_copy_of_a_note_never_takes_its_identity(env: Env) -> None:
    original = env.note_for(A)
    copy = original.with_name(original.stem + " 1.md")
    shutil.copyfile(original, copy)  # "Make a copy" in Obsidian
    code, _, err = sync(env)
    assert code == 0, err
    assert "copies are left alone" in err and copy.name in err, "the copy is listed"
    item = env.item_by_pid(A)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "zotero-added"}]})
    assert sync(env)[0] == 0
    assert "zotero-added" in frontmatter(original)["tags"], "the original keeps the identity"
    copy.unlink()  # the user tidies up the copy
    code, _, err = sync(env)
    assert code == 0, err
    after = env.item_by_pid(A)
    assert "zotero-added" in ztags(after), "deleting a copy removed a tag in Zotero"
    assert not after.get("deleted")


def test_the_copy_that_remains_loses_nothing_when_the_original_goes(env: Env) -> None:
    original = env.note_for(A)
    copy = original.with_name(original.stem + " 1.md")
    shutil.copyfile(original, copy)
    assert sync(env)[0] == 0
    append(original, "\nWritten after the copy was made.\n")
    assert sync(env)[0] == 0
    item = env.item_by_pid(A)
    assert "Written after the copy" in znote(env, item["key"])["note"]
    original.unlink()  # the stale copy is what is left
    sync(env)
    item = env.item_by_pid(A)
    assert not item.get("deleted")
    assert "Written after the copy" in znote(env, item["key"])["note"], "notes text was lost"
    assert "Written after the copy" in copy.read_text(encoding="utf-8")


def test_copies_are_listed_by_status(env: Env) -> None:
    original = env.note_for(A)
    shutil.copyfile(original, original.with_name(original.stem + " 2.md"))
    sync(env)
    out = env.run("status")[1]
    assert original.stem + " 2.md" in out


# --- item 2: absent for one sync, then back -----------------------------------------------


def test_a_note_moved_out_and_back_restores_its_item(env: Env, tmp_path: Path) -> None:
    note = env.note_for(A)
    away = tmp_path / "away.md"
    shutil.move(note, away)
    assert sync(env)[0] == 0
    assert item_any(env, A).get("deleted"), "a deleted note trashes its item (recoverably)"
    shutil.move(away, note)
    code, _, err = sync(env)
    assert code == 0, err
    item = item_any(env, A)
    assert not item.get("deleted"), "the note came back but its item stayed in the trash"
    edit_frontmatter(note, status="read")
    assert sync(env)[0] == 0
    assert zrec(env.item_by_pid(A))["status"] == "read", "later edits sync again"
    assert len([p for p in env.papers.glob("*.md") if A in p.read_text()]) == 1


def test_an_item_restored_from_zotero_trash_restores_its_note(env: Env) -> None:
    note = env.note_for(A)
    append(note, "\nMy own words.\n")
    assert sync(env)[0] == 0
    key = env.item_by_pid(A)["key"]
    env.emu.trash_item(key)
    code, _, err = sync(env)
    assert code == 0, err
    assert not note.exists(), "the note went to the vault's trash"
    rel = note.relative_to(env.vault).as_posix()
    # named, with where it went and the way back (a count alone left a user searching)
    assert f"{A}: its item is in Zotero's trash, so its note {rel} moved to " in err, err
    assert f".pllm-sync-trash/{rel}; move it back" in err, err
    env.emu.edit_item(key, {"deleted": 0})
    code, _, err = sync(env)
    assert code == 0, err
    back = env.note_for(A)
    assert "My own words." in user_part(back), "the note came back with the user's text"
    assert back == note, "restored to where it was"
    edit_frontmatter(back, status="read")
    assert sync(env)[0] == 0
    assert not env.item_by_pid(A).get("deleted")


# --- item 4: collections never follow vanished index notes ---------------------------------


def test_deleting_the_section_index_notes_removes_no_item_from_a_collection(env: Env) -> None:
    before = {k: sorted(d["collections"]) for k, d in env.items().items()}
    shutil.rmtree(env.vault / "Sections")
    code, _, err = sync(env)
    assert code == 0, err
    after = {k: sorted(d["collections"]) for k, d in env.items().items()}
    assert after == before, "a plain sync changed collection membership"
    assert "its collections are left as they are" in err
    code, _, err = sync(env)
    assert {k: sorted(d["collections"]) for k, d in env.items().items()} == before
    code, _, err = env.run("pull", "--no-progress")  # a pull writes the index notes again
    assert code == 0, err
    assert {k: sorted(d["collections"]) for k, d in env.items().items()} == before
    assert "left as they are" not in sync(env)[2]


def test_an_index_note_renamed_in_obsidian_stays_the_sections_one(env: Env) -> None:
    """Found trying it in Obsidian: renaming a section's index note (Obsidian rewrites every
    link to it, the papers' ``sections`` included) made the next pull write a second index
    note at the old path, link that one from the parent, and leave the renamed one stale."""
    folder = env.vault / "Sections" / "Trust List" / "Retrieval"
    old = folder / "Dense-Sparse Methods.md"
    assert old.exists(), sorted(p.name for p in folder.iterdir())
    new = folder / "Dense and Sparse.md"
    old.rename(new)
    old_target = old.relative_to(env.vault).with_suffix("").as_posix()
    new_target = new.relative_to(env.vault).with_suffix("").as_posix()
    for p in env.vault.rglob("*.md"):  # what Obsidian's "update internal links" does
        text = p.read_text(encoding="utf-8")
        if f"[[{old_target}|" in text:
            p.write_text(text.replace(f"[[{old_target}|", f"[[{new_target}|"), "utf-8")
    append(new, "\nMy own words about these methods.\n")
    for command in ("sync", "pull", "pull"):
        code, _, err = env.run(command, "--no-progress")
        assert code == 0, err
        assert not old.exists(), f"{command} wrote the index note again at its old path"
    text = new.read_text(encoding="utf-8")
    assert "My own words about these methods." in text
    assert "[[Synthetic Paper Three - A Study]]" in text, "the renamed note lists its papers"
    parent = (env.vault / "Sections" / "Trust List" / "Retrieval.md").read_text("utf-8")
    assert f"[[{new_target}|" in parent and f"[[{old_target}|" not in parent
    assert f"[[{new_target}|" in env.note_for(C).read_text(encoding="utf-8")
    env.emu.clear_log()
    before = {p: p.read_bytes() for p in env.vault.rglob("*.md")}
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [] and {p: p.read_bytes() for p in env.vault.rglob("*.md")} == before


# --- item 9: an edit while the sync writes the paper ---------------------------------------


@pytest.mark.parametrize("policy", ["ask", "zotero"])
def test_an_edit_during_the_run_is_not_reverted(
    env: Env, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    from pllm_sync.zotero.store import ZoteroStore

    env.write_config(max_delete_percent=100, conflict=policy)
    note = env.note_for(A)
    item = env.item_by_pid(A)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
    edit_frontmatter(note, status="read")
    orig = ZoteroStore.update_items

    def and_user_types(self: ZoteroStore, *a: Any, **k: Any) -> Any:
        rep = orig(self, *a, **k)
        edit_frontmatter(note, status="reading")  # typed while the sync runs
        return rep

    monkeypatch.setattr(ZoteroStore, "update_items", and_user_types)
    sync(env)
    monkeypatch.setattr(ZoteroStore, "update_items", orig)
    code, out, err = sync(env)
    assert code == 0, (out, err)
    assert frontmatter(note)["status"] == "reading", "the user's newest edit was reverted"
    assert "from-zotero" in frontmatter(note)["tags"]
    assert json.loads(env.run("conflicts", "--json")[1]) == [], "a spurious conflict"
    code, out, err = sync(env)
    assert code == 0 and frontmatter(note)["status"] == "reading"


# --- item 11: modify beats delete covers children ------------------------------------------


@pytest.mark.parametrize("child", ["attachment", "note"])
def test_deleting_a_note_keeps_an_item_that_got_a_child(env: Env, child: str) -> None:
    key = env.item_by_pid(A)["key"]
    if child == "attachment":
        env.emu.create_item(
            {
                "itemType": "attachment",
                "parentItem": key,
                "linkMode": "imported_file",
                "title": "Full Text PDF",
                "contentType": "application/pdf",
                "filename": "paper.pdf",
            }
        )
    else:
        env.emu.create_item({"itemType": "note", "parentItem": key, "note": "<p>mine</p>"})
    assert sync(env)[0] == 0
    env.note_for(A).unlink()
    code, _, err = sync(env)
    assert code == 0, err
    assert not item_any(env, A).get("deleted"), "an item with the user's new child was trashed"
    assert "modify beats delete" in err
    assert env.note_for(A).exists(), "the note is written again"


def test_deleting_a_note_still_trashes_an_untouched_item(env: Env) -> None:
    env.note_for(B).unlink()
    assert sync(env)[0] == 0
    assert item_any(env, B).get("deleted")


def test_an_item_restored_after_the_run_that_trashed_it_died_brings_its_note_back(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the --run-slow state machine: the user deletes a note, the run trashes its
    item in Zotero and dies before saving its state, then the user restores the item from
    Zotero's trash. The restore is the user's latest word (an item written since the last
    sync counts as modified): the next run writes the note again, it does not trash the
    item a second time."""

    env.note_for(A).unlink()
    env.lists["trust"].write_text(LIST + FOUR_LINKED, encoding="utf-8")

    pull_dying_at(env, monkeypatch, "create_note")
    key = item_any(env, A)["key"]
    assert item_any(env, A).get("deleted"), "the died run had trashed the item"
    env.emu.edit_item(key, {"deleted": 0})
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert not item_any(env, A).get("deleted"), "the user's restore was undone"
    assert "modify beats delete" in err
    assert env.note_for(A).exists(), "the note is written again"
    assert len(env.items()) == 4
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_an_item_restored_with_a_conflict_open_keeps_its_own_value(env: Env) -> None:
    """Found by the --run-slow state machine: the user sets a status in both places
    (differently) and trashes the item; the note's change restores the item (modify beats
    delete), and the conflict stays open. The restore wrote the base's status over the
    item's, so Zotero's value was lost and resolving the conflict opened a new one."""
    key = env.item_by_pid(A)["key"]
    tags = [t for t in env.items()[key]["tags"] if not t["tag"].startswith("status/")]
    env.emu.edit_item(key, {"tags": [*tags, {"tag": "status/reading"}]})
    env.emu.trash_item(key)
    edit_frontmatter(env.note_for(A), status="unread")
    code, _, err = sync(env)
    assert code == 7, err
    item = item_any(env, A)
    assert not item.get("deleted"), "modify beats delete: the item is restored"
    assert "status/reading" in ztags(item), "the restore overwrote Zotero's side of the conflict"
    conflicts = json.loads(env.run("conflicts", "--json")[1])
    (c,) = [c for c in conflicts if c["open"]]
    assert (c["field"], c["zotero"], c["vault"]) == ("status", "reading", "unread")
    code, _, err = env.run("conflicts", "resolve", str(c["id"]), "--take", "vault")
    assert code == 0, err
    assert "status/unread" in ztags(env.item_by_pid(A))
    assert sync(env)[0] == 0, "resolving left nothing open"


# --- item 13: resolving a notes conflict ---------------------------------------------------


def both_kept_notes_conflict(env: Env) -> tuple[Path, str, int]:
    note = env.note_for(A)
    append(note, "\nShared line.\n")
    assert sync(env)[0] == 0
    key = env.item_by_pid(A)["key"]
    z = znote(env, key)
    env.emu.edit_item(z["key"], {"note": z["note"].replace("Shared line.", "Zotero line.")})
    text = note.read_text(encoding="utf-8").replace("Shared line.", "Vault line.")
    note.write_text(text, encoding="utf-8")
    assert sync(env)[0] == 7
    (row,) = json.loads(env.run("conflicts", "--json")[1])
    return note, key, int(row["id"])


@pytest.mark.parametrize("take", ["zotero", "vault"])
def test_resolving_a_notes_conflict_writes_the_chosen_text(env: Env, take: str) -> None:
    note, key, cid = both_kept_notes_conflict(env)
    code, out, err = env.run("conflicts", "resolve", str(cid), "--take", take)
    assert code == 0, (out, err)
    want, gone = ("Zotero line.", "Vault line.") if take == "zotero" else ("Vault", "Zotero")
    assert want in user_part(note) and gone not in user_part(note), user_part(note)
    assert want in znote(env, key)["note"] and gone not in znote(env, key)["note"]
    assert "<<<<" not in user_part(note)
    assert json.loads(env.run("conflicts", "--json")[1]) == []


def test_resolving_for_the_vault_against_a_rich_zotero_note_refuses(env: Env) -> None:
    note = env.note_for(A)
    append(note, "\nFirst.\n")
    assert sync(env)[0] == 0
    key = env.item_by_pid(A)["key"]
    z = znote(env, key)
    env.emu.edit_item(z["key"], {"note": z["note"].replace("</div>", RICH)})
    assert sync(env)[0] == 0
    append(note, "\nSecond.\n")
    assert sync(env)[0] == 7
    (row,) = json.loads(env.run("conflicts", "--json")[1])
    code, out, err = env.run("conflicts", "resolve", str(row["id"]), "--take", "vault")
    assert code != 0, "must not report success while changing nothing"
    assert "Zotero" in err
    assert [r["id"] for r in json.loads(env.run("conflicts", "--json")[1])] == [row["id"]]
    code, out, err = env.run("conflicts", "resolve", str(row["id"]), "--take", "zotero")
    assert code == 0, (out, err)
    assert "Second." not in user_part(note) and "a quote" in user_part(note)
    assert "data-annotation" in znote(env, key)["note"]


FOUR_PLAIN = "+ **\\[2024 EMNLP\\]** Synthetic Paper Four: Without A Link.\n"
FOUR_LINKED = (
    "+ **\\[2024 EMNLP\\]** Synthetic Paper Four: Without A Link. "
    "([Paper](https://arxiv.org/abs/2401.00004))\n"
)


def drop_link_of_a(env: Env) -> None:
    """The list drops paper A's arXiv link, so its id becomes a title id."""
    linked = "Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))"
    env.lists["trust"].write_text(
        LIST.replace(linked, "Synthetic Paper One: A Study."), encoding="utf-8"
    )


# --- item 5: identity follows the paper across a catalog id change -------------------------


def test_a_paper_whose_catalog_id_changes_keeps_its_item_and_note(env: Env) -> None:
    env.lists["trust"].write_text(LIST + FOUR_PLAIN, encoding="utf-8")
    assert env.run("pull", "--no-progress")[0] == 0
    (old_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    note = env.note_for(old_pid)
    edit_frontmatter(note, status="read")
    append(note, "\nMy notes on paper four.\n")
    item = env.item_by_pid(old_pid)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "zotero-added"}]})
    assert sync(env)[0] == 0
    env.lists["trust"].write_text(LIST + FOUR_LINKED, encoding="utf-8")  # the list adds the link
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    new_pid = "arxiv:2401.00004"
    assert old_pid not in pids_in_extra(env.items(trashed=False)), "the old id stays behind"
    after = env.item_by_pid(new_pid)
    assert after["key"] == item["key"], "the same Zotero item carries the paper on"
    moved = env.note_for(new_pid)
    assert moved == note, "the same note carries the paper on"
    fm = frontmatter(moved)
    assert fm["status"] == "read" and "zotero-added" in fm["tags"]
    assert fm["arxiv"] == "2401.00004" and fm["catalog"] == "listed"
    assert "My notes on paper four." in user_part(moved)
    assert len(env.items()) == 4 and not env.items(trashed=True)
    code, _, err = env.run("pull", "--no-progress")
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


ONE_ROW = (
    "+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. "
    "([Paper](https://arxiv.org/abs/2401.00001))\n"
)


@pytest.mark.parametrize("two_lists", [False, True], ids=["two-sections", "two-lists"])
def test_a_paper_whose_rows_change_id_one_at_a_time_keeps_its_one_note_and_item(
    new_env: NewEnv, two_lists: bool
) -> None:
    """Found by replaying real lists: a paper listed twice (two lists, or two sections of
    one) whose arXiv link one row fixes before the other. The first pull split it: a second
    note and item under the new id, beside the user's. The second pull, the rows agreeing
    again, retired the user's note and item (``catalog: removed``) and kept the empty
    copy live. While the rows disagree the paper stays one (under the id it had); once
    they agree it follows the id change like any rename."""
    if two_lists:
        lists = {"a": f"# A\n\n## S\n\n{ONE_ROW}", "b": f"# B\n\n## T\n\n{ONE_ROW}"}
    else:
        lists = {"a": f"# A\n\n## S\n\n{ONE_ROW}\n## T\n\n{ONE_ROW}"}
    env = new_env(lists, max_delete_percent=100)
    assert env.run("pull", "--no-progress")[0] == 0
    note = env.note_for(A)
    edit_frontmatter(note, status="read")
    append(note, "\nMy reading notes.\n")
    key = env.item_by_pid(A)["key"]
    assert sync(env)[0] == 0
    sections = frontmatter(note)["sections"]
    assert len(sections) == 2

    def one_paper(pid: str) -> None:
        assert env.note_for(pid) == note, "the user's note carries the paper"
        notes = [p for p in env.papers.rglob("*.md") if "Synthetic Paper One" in p.read_text()]
        assert notes == [note], "a second note for the paper"
        assert [d["key"] for d in env.items().values()] == [key], "a second item"
        assert not env.items(trashed=True), "an item went to the trash"
        fm = frontmatter(note)
        assert fm["status"] == "read" and fm["catalog"] == "listed", fm
        assert sorted(fm["sections"]) == sorted(sections), "the paper left a section"
        assert "My reading notes." in user_part(note)
        assert "pllm/removed" not in {t["tag"] for t in env.items()[key]["tags"]}

    first = env.lists["a"].read_text(encoding="utf-8").replace("2401.00001", "2401.00009", 1)
    env.lists["a"].write_text(first, encoding="utf-8")  # one row fixes the link
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert "clashing id" in err, "the rows disagree: the warning stays"
    one_paper(A)
    for path in env.lists.values():  # the other row too: the rows agree again
        path.write_text(path.read_text().replace("2401.00001", "2401.00009"), encoding="utf-8")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    one_paper("arxiv:2401.00009")
    assert frontmatter(note)["arxiv"] == "2401.00009"
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


FIXED = "arxiv:2401.00009"  # the id the rows agree on at last


def _split_then_rows_agree(env: Env) -> tuple[Path, str, str]:
    """The first pull while the paper's rows disagree (two notes, two items), the user
    writes in the old id's note, a sync, then the rows agree on the new id: the user's
    note, its item's key and the empty twin item's key."""
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    note, empty = env.note_for(A), env.note_for(FIXED)
    assert note != empty
    key, empty_key = env.item_by_pid(A)["key"], env.item_by_pid(FIXED)["key"]
    edit_frontmatter(note, status="read")
    append(note, "\nMy reading notes.\n")
    assert sync(env)[0] == 0
    for path in env.lists.values():  # the rows agree again, on the new link
        path.write_text(path.read_text().replace("2401.00001", "2401.00009"), encoding="utf-8")
    return note, key, empty_key


def _users_note_and_item_live_on(env: Env, key: str, empty_key: str) -> None:
    live = env.note_for(FIXED)
    assert "My reading notes." in user_part(live), "the user's text is not in the live note"
    fm = frontmatter(live)
    assert fm["status"] == "read" and fm["catalog"] == "listed", fm
    assert fm["arxiv"] == "2401.00009"
    notes = [
        p
        for p in env.papers.rglob("*.md")
        if "Synthetic Paper One" in p.read_text() and ".pllm-sync-trash" not in p.parts
    ]
    assert notes == [live], "a second live note for the paper"
    retired = [p for p in env.vault.rglob("*.md") if "catalog: removed" in p.read_text()]
    assert retired == [], "a note was retired"
    item = env.item_by_pid(FIXED)
    assert item["key"] == key, "the user's item did not keep its key"
    tags = {t["tag"] for t in item["tags"]}
    assert "status/read" in tags and "pllm/removed" not in tags, tags
    assert list(env.items()) == [key], "a second live item"
    assert empty_key in env.items(trashed=True), "the empty item is not in Zotero's trash"
    env.emu.clear_log()
    for cmd in ("pull", "sync"):
        code, _, err = env.run(cmd, "--no-progress")
        assert code == 0, err
        assert env.writes() == [], f"{cmd} did not converge"
    assert env.note_for(FIXED) == live


def _split_lists(two_lists: bool) -> dict[str, str]:
    new_row = ONE_ROW.replace("2401.00001", "2401.00009")
    if two_lists:
        return {"a": f"# A\n\n## S\n\n{ONE_ROW}", "b": f"# B\n\n## T\n\n{new_row}"}
    return {"a": f"# A\n\n## S\n\n{ONE_ROW}\n## T\n\n{new_row}"}


@pytest.mark.parametrize("two_lists", [False, True], ids=["two-sections", "two-lists"])
def test_a_paper_split_before_the_first_pull_keeps_the_users_note_when_rows_agree(
    new_env: NewEnv, two_lists: bool
) -> None:
    """Found by replaying real lists (jiahongliu21, PersonalLLM): the user's first pull
    came while the paper's two rows disagreed on its arXiv link, so it got two notes and
    two items. The user wrote in one (the old id's); once the rows agreed on the other
    id, the old id left the list and its note and item (the user's) were retired
    (``catalog: removed``) while the empty ones of the new id stayed live. The user's
    note and item take the new id; the empty ones go (the note to the vault's trash
    folder, the item to Zotero's trash)."""
    env = new_env(_split_lists(two_lists), max_delete_percent=100)
    _, key, empty_key = _split_then_rows_agree(env)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert "holds your data and takes this id" in err
    _users_note_and_item_live_on(env, key, empty_key)


def test_a_split_an_older_version_retired_is_mended_by_the_next_pull(
    new_env: NewEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real history (PersonalLLM): a version without the hand-over already retired the
    user's note and item (``catalog: removed``) beside the live empty twin. The next pull
    hands the user's note and item the listed id."""
    from pllm_sync.sync import identity

    env = new_env(_split_lists(True), max_delete_percent=100)
    _, key, empty_key = _split_then_rows_agree(env)
    with monkeypatch.context() as m:  # the older version
        m.setattr(identity, "hand_over_to_an_empty_twin", lambda views, papers: dict(views))
        assert env.run("pull", "--no-progress")[0] == 0
    assert frontmatter(env.note_for(A))["catalog"] == "removed"
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    _users_note_and_item_live_on(env, key, empty_key)


def test_a_split_whose_user_trashed_their_item_is_not_handed_over(new_env: NewEnv) -> None:
    """The user trashed the old id's item in Zotero before the rows agreed: the paper
    leaves as it would have (its note follows the item), and the trashed item stays in
    Zotero's trash. The hand-over once brought it back out of the trash."""
    env = new_env(_split_lists(True), max_delete_percent=100)
    _, key, _empty_key = _split_then_rows_agree(env)
    env.emu.trash_item(key)
    for _ in range(2):
        code, out, err = env.run("pull", "--no-progress")
        assert code == 0, (out, err)
        assert key in env.items(trashed=True), "the user's trashed item came back"
    assert "takes this id" not in err, err
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0
    assert env.writes() == [], "did not settle"


def test_a_split_met_in_a_run_without_zotero_is_handed_over_by_the_next_run_with_it(
    new_env: NewEnv,
) -> None:
    """A `pull --zotero off` cannot put the empty twin item in Zotero's trash, so it hands
    nothing over; the next pull with Zotero does it all (before, the twin item stayed live
    beside the user's, both carrying the new id, and no run noticed)."""
    env = new_env(_split_lists(True), max_delete_percent=100)
    _, key, empty_key = _split_then_rows_agree(env)
    code, out, err = env.run("pull", "--zotero", "off", "--no-progress")
    assert code == 0, (out, err)
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    _users_note_and_item_live_on(env, key, empty_key)


def test_a_second_device_whose_twin_note_holds_text_keeps_the_handed_over_paper_listed(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Device one handed the split over (its user's item now carries the staying id);
    device two had written in its own copy of the twin note meanwhile. Device two's pull
    once took that item for the leaving paper's and marked it removed, listed as it is."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    lists = _split_lists(True)
    one = make_env(tmp_path / "one", zotero_emulator, capsys, monkeypatch, lists)
    two = make_env(tmp_path / "two", zotero_emulator, capsys, monkeypatch, lists)
    assert one.run("pull", "--no-progress")[0] == 0
    assert two.run("pull", "--no-progress")[0] == 0
    key = one.item_by_pid(A)["key"]
    edit_frontmatter(one.note_for(A), status="read")
    append(one.note_for(A), "\nMy reading notes.\n")
    assert sync(one)[0] == 0
    append(two.note_for(FIXED), "\nDevice two's own thoughts.\n")  # not synced yet
    for env in (one, two):  # the rows agree
        env.write_config(max_delete_percent=100)
        for path in env.lists.values():
            path.write_text(path.read_text().replace("2401.00001", "2401.00009"), "utf-8")
    assert one.run("pull", "--no-progress")[0] == 0
    assert f"pllm-sync-id: {FIXED}" in zotero_emulator.get_items()[key]["extra"]
    code, out, err = two.run("pull", "--no-progress")
    assert code in (0, 7), (out, err)
    item = zotero_emulator.get_items()[key]
    assert "pllm/removed" not in {t["tag"] for t in item["tags"]}, "a listed paper retired"
    assert not item.get("deleted")
    texts = [p.read_text(encoding="utf-8") for p in two.papers.rglob("*.md")]
    assert any("Device two's own thoughts." in t for t in texts), "device two's text lost"
    assert all("catalog: removed" not in t for t in texts), "a note retired"


class Killed(BaseException):
    """The run dies here (as a kill would: nothing after it runs)."""


def _die(*_a: Any, **_k: Any) -> Any:
    raise Killed


@pytest.mark.parametrize(
    "where",
    [
        "ZoteroStore.trash",  # the user's item renamed, the twin's item still live
        "VaultStore.trash_note",  # Zotero written (the user's item renamed, the twin's trashed)
        "VaultStore.commit_batch",  # ... and the twin's note in the trash folder
        "StateDB.put_papers",  # ... and the user's note renamed: only the state is old
    ],
)
def test_a_twin_hand_over_cut_short_is_finished_by_the_next_pull(
    new_env: NewEnv, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A pull killed part way through the hand-over of a split paper's id: the next pull
    finishes it (one note, one item, the user's), with nothing of the user's retired."""
    from pllm_sync.sync.state import StateDB
    from pllm_sync.vault.store import VaultStore
    from pllm_sync.zotero.store import ZoteroStore

    env = new_env(_split_lists(False), max_delete_percent=100)
    note, key, empty_key = _split_then_rows_agree(env)
    cls, name = where.split(".")
    with monkeypatch.context() as m:
        m.setattr(
            {"VaultStore": VaultStore, "StateDB": StateDB, "ZoteroStore": ZoteroStore}[cls],
            name,
            _die,
        )
        with pytest.raises(Killed):
            env.run("pull", "--no-progress")
    # killed where meant: the user's item renamed in all, the rest in part
    assert f"pllm-sync-id: {FIXED}" in env.items()[key]["extra"]
    assert (empty_key in env.items(trashed=True)) == (name != "trash")
    trashed = [p for p in env.vault.rglob("*.md") if ".pllm-sync-trash" in p.parts]
    assert len(trashed) == (0 if name in ("trash", "trash_note") else 1)
    assert (f"pllm-sync-id: {FIXED}\n" in note.read_text()) == (name == "put_papers")
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    _users_note_and_item_live_on(env, key, empty_key)


def _copy_then_the_list_links_four(env: Env) -> tuple[Path, Path]:
    """Paper four pulled without a link (a title id), a copy made of its note, then the list
    gives it an arXiv link (its id changes): the note and the copy."""
    env.lists["trust"].write_text(LIST + FOUR_PLAIN, encoding="utf-8")
    assert env.run("pull", "--no-progress")[0] == 0
    (old_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    note = env.note_for(old_pid)
    copy = note.with_name(note.stem + " 1.md")
    shutil.copyfile(note, copy)
    env.lists["trust"].write_text(LIST + FOUR_LINKED, encoding="utf-8")
    return note, copy


def test_a_copy_made_before_an_id_change_never_becomes_a_paper(env: Env) -> None:
    note, copy = _copy_then_the_list_links_four(env)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert len(env.items()) == 4, "the old copy became a second item"
        assert copy.name in err, "the copy is listed"
    assert env.note_for("arxiv:2401.00004") == note


def test_a_stale_copy_stays_a_copy_when_the_list_drops_its_paper(env: Env) -> None:
    """Found by the state machine: a copy made before the list changed the paper's id, then
    the list drops the paper (its item and note stay, marked removed) and the user edits
    the copy. The paper's item had not changed, so no run read it: the copy was taken for
    a paper of its own, and the pull gave it a second item in Zotero."""
    _, copy = _copy_then_the_list_links_four(env)
    assert env.run("pull", "--no-progress")[0] == 0
    env.lists["trust"].write_text(LIST, encoding="utf-8")  # the list drops the paper
    assert env.run("pull", "--no-progress")[0] == 0
    edit_frontmatter(copy, tags=["in-the-copy"])  # the user edits the copy
    copied = copy.read_bytes()
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert len(env.items()) == 4, "the copy became a second item"
        assert copy.name in err, "the copy is listed"
        assert copy.read_bytes() == copied, "a copy was written"
    assert frontmatter(env.note_for("arxiv:2401.00004"))["catalog"] == "removed"


@pytest.mark.parametrize("back", [False, True])
def test_a_copy_an_offline_run_saw_after_a_lost_state_makes_no_second_item(
    env: Env, back: bool
) -> None:
    """Found by the long state-machine run: a copy of a note, the list changes the paper's
    id (a pull follows it: item and note take the new id, the copy keeps the old), the
    state database is lost, a run without Zotero gives the copy a state row of its own,
    and (``back``) the list changes the id back. The next pull took the copy for a paper
    and gave it a second item."""
    from pllm_sync.paths import app_dirs

    note = env.note_for(A)
    copy = note.with_name(note.stem + " 1.md")
    shutil.copyfile(note, copy)
    key = item_any(env, A)["key"]
    drop_link_of_a(env)
    assert env.run("pull", "--no-progress")[0] == 0
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    code, _, err = env.run("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    if back:
        env.lists["trust"].write_text(LIST, encoding="utf-8")
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert len(env.items()) == 3, "the copy became a second item"
        assert item_any(env, A if back else pids_of_a_now(env))["key"] == key
        assert copy.name in err, "the copy is listed"
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_a_deleted_paper_whose_id_changes_after_a_lost_state_comes_back_once(env: Env) -> None:
    """Found by the long state-machine run: the user trashes an item (its note goes to the
    vault's trash), the state database is lost (a pull finds the item only in Zotero's
    trash and leaves it there), the list changes the paper's id, and the user restores
    the item. The new id got an item and note of its own, and the restore brought back a
    second note: two notes, two items for one paper."""
    from pllm_sync.paths import app_dirs

    key = item_any(env, A)["key"]
    env.emu.trash_item(key)
    assert env.run("sync", "--no-progress")[0] == 0
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    assert env.run("pull", "--no-progress")[0] == 0
    drop_link_of_a(env)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert len(env.items()) == 2, "a deleted paper came back under its new id"
    env.emu.edit_item(key, {"deleted": 0})  # the user restores it
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert len(env.items()) == 3 and item_any(env, pids_of_a_now(env))["key"] == key
        notes = [p for p in env.papers.glob("*.md") if "Paper One" in p.name]
        assert len(notes) == 1, notes
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_a_duplicate_the_user_turned_into_another_item_is_left_as_theirs(env: Env) -> None:
    """Found by the Zotero helper: Zotero's Duplicate Item copies Extra (pllm-sync's id line
    too); the user turned the copy into the journal version (own title, type, DOI,
    abstract), and the next sync folded it into the paper and moved it to Zotero's trash,
    which empties itself after 30 days. It is now left as the user's own item."""
    item = env.item_by_pid(A)
    copy = {
        k: v for k, v in item.items() if k not in ("key", "version", "dateAdded", "dateModified")
    }
    key = env.emu.create_item(copy)
    env.emu.edit_item(key, {"itemType": "journalArticle"})
    env.emu.edit_item(
        key,
        {
            "title": "Synthetic Paper One (journal version)",
            "publicationTitle": "TACL",
            "DOI": "10.1162/tacl_a_00999",
            "abstractNote": "Journal abstract I typed.",
        },
    )
    code, _, err = sync(env)
    assert code == 0, err
    assert "describes another item" in err and key in err, err
    mine = env.emu.get_items(include_trashed=True)[key]
    assert not mine.get("deleted"), "the user's item went to Zotero's trash"
    assert mine["title"] == "Synthetic Paper One (journal version)"
    assert mine["abstractNote"] == "Journal abstract I typed."
    assert "pllm-sync-id" not in (mine.get("extra") or ""), "no longer pllm-sync's"
    assert env.item_by_pid(A)["key"] == item["key"], "the paper keeps its own item"
    assert frontmatter(env.note_for(A))["title"] == item["title"]
    env.emu.clear_log()
    code, _, err = sync(env)
    assert code == 0 and env.writes() == [] and "describes another" not in err, err


def test_an_item_made_a_journal_article_in_zotero_keeps_its_arxiv_id(new_env: NewEnv) -> None:
    """Found by the Zotero helper: changing a preprint's type in Zotero drops its archiveID
    (the server does it, as the desktop), and the note's `arxiv` was cleared for good."""
    pre = "arxiv:2401.00009"
    env = new_env(
        {"trust": LIST + "+ Preprint Nine. ([Paper](https://arxiv.org/abs/2401.00009))\n"}
    )
    assert env.run("pull", "--no-progress")[0] == 0
    item = env.item_by_pid(pre)
    assert item["itemType"] == "preprint"
    env.emu.edit_item(item["key"], {"itemType": "journalArticle"})
    for command in ("sync", "pull"):
        code, _, err = env.run(command, "--no-progress")
        assert code == 0, err
        assert frontmatter(env.note_for(pre))["arxiv"] == "2401.00009"
        assert env.item_by_pid(pre)["itemType"] == "journalArticle", "the user's type stays"
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0 and env.writes() == []


def test_an_untitled_item_filed_in_zotero_keeps_its_empty_title(env: Env) -> None:
    """Found by the Zotero helper: an untitled item filed by hand into one of pllm-sync's
    collections got a note titled with its internal id (`title:…`), which the next sync
    wrote into Zotero's title: the first sync had not converged."""
    colls = {c["name"]: k for k, c in env.emu.get_collections().items()}
    key = env.emu.create_item(
        {
            "itemType": "webpage",
            "title": "",
            "url": "https://example.org/untitled",
            "collections": [colls["Alignment"]],
        }
    )
    for _ in range(2):
        code, _, err = sync(env)
        assert code == 0, err
        assert env.emu.get_items()[key]["title"] == ""
    (note,) = [p for p in env.papers.glob("*.md") if "example.org/untitled" in p.read_text()]
    assert not frontmatter(note)["title"], frontmatter(note)["title"]
    env.emu.clear_log()
    assert sync(env)[0] == 0 and env.writes() == [], "converged"


def test_a_code_link_edited_in_zotero_never_goes_back_to_the_lists(new_env: NewEnv) -> None:
    """Found by the Zotero helper: the code URL edited on the "Code" attachment reached the
    note, but the item's `pllm-code` line kept the list's URL; once the attachment was
    deleted, the next edit of the item brought the list's URL back into the note."""
    pid = "arxiv:2401.00011"
    line = (
        "+ **\\[2024 EMNLP\\]** Coded Paper: A Study. ([Paper](https://arxiv.org/abs/2401.00011))"
        " [[Code](https://github.com/lab/original)]\n"
    )
    env = new_env({"trust": LIST + line})
    assert env.run("pull", "--no-progress")[0] == 0
    key = env.item_by_pid(pid)["key"]
    (code,) = [c for c in env.children(key) if c.get("title") == "Code"]
    env.emu.edit_item(code["key"], {"url": "https://github.com/me/fork"})
    assert env.run("sync", "--no-progress")[0] == 0
    assert frontmatter(env.note_for(pid))["code"] == "https://github.com/me/fork"
    env.emu.delete_item(code["key"])  # the user removes the Code link
    assert env.run("sync", "--no-progress")[0] == 0
    env.emu.edit_item(key, {"title": "Coded Paper: A Study (my title)"})  # any later edit
    code_, _, err = env.run("sync", "--no-progress")
    assert code_ == 0, err
    fm = frontmatter(env.note_for(pid))
    assert fm["code"] == "https://github.com/me/fork", "the list's old URL came back"
    assert fm["title"] == "Coded Paper: A Study (my title)"
    env.emu.clear_log()
    assert env.run("sync", "--no-progress")[0] == 0 and env.writes() == [], "converged"


def pids_of_a_now(env: Env) -> str:
    (pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    return pid


def test_a_copy_made_under_an_id_the_paper_gets_back_stays_a_copy(env: Env) -> None:
    """Found by the state machine: a copy of a note, then the list drops the paper's arXiv
    link and adds it back. The copy still carries the first id; when the paper returns to
    that id, the paper's own note and item carry it on (no second item from the copy)."""
    note = env.note_for(A)
    copy = note.with_name(note.stem + " 1.md")
    shutil.copyfile(note, copy)
    copied = copy.read_bytes()
    key = item_any(env, A)["key"]
    drop_link_of_a(env)
    assert env.run("pull", "--no-progress")[0] == 0
    env.lists["trust"].write_text(LIST, encoding="utf-8")
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert len(env.items()) == 3, "the copy became a second item"
        assert item_any(env, A)["key"] == key
        assert copy.read_bytes() == copied, "a copy was written"
    assert frontmatter(note)["pllm-sync-id"] == A
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_an_id_change_whose_note_changed_during_the_run_keeps_one_item(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the state machine: the list drops a paper's arXiv link (its id changes) and
    the user edits its note while that pull writes Zotero, so the note is not rewritten with
    the new id. The next run still knows the note as the paper's: no second item, the
    user's edit kept, the note carries the new id."""
    from pllm_sync.zotero.store import ZoteroStore

    note = env.note_for(A)
    key = item_any(env, A)["key"]
    drop_link_of_a(env)
    edit_frontmatter(note, tags=["during"])  # so the pull writes Zotero
    orig = ZoteroStore.update_items

    def and_user_types(self: ZoteroStore, *a: Any, **k: Any) -> Any:
        rep = orig(self, *a, **k)
        edit_frontmatter(note, status="reading")  # typed while the pull runs
        return rep

    monkeypatch.setattr(ZoteroStore, "update_items", and_user_types)
    env.run("pull", "--no-progress")
    monkeypatch.setattr(ZoteroStore, "update_items", orig)
    for _ in range(2):
        code, out, err = env.run("pull", "--no-progress")
        assert code == 0, (out, err)
        assert len(env.items()) == 3, "the note became a second item"
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    assert item_any(env, new_pid)["key"] == key
    assert env.note_for(new_pid) == note
    fm = frontmatter(note)
    assert fm["pllm-sync-id"] == new_pid and fm["status"] == "reading"
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


class _Crash(BaseException):
    """The process dying mid-run: not an Exception, so nothing in pllm-sync catches it."""


def pull_dying_at(env: Env, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """A pull that dies at its first call of ``VaultStore.<method>`` (after Zotero was
    written); the store is whole again afterwards."""
    from pllm_sync.vault.store import VaultStore

    def crash(*_a: Any, **_k: Any) -> Any:
        raise _Crash

    orig = getattr(VaultStore, method)
    monkeypatch.setattr(VaultStore, method, crash)
    with pytest.raises(_Crash):
        env.run("pull", "--no-progress")
    monkeypatch.setattr(VaultStore, method, orig)


def test_an_id_change_cut_short_then_a_lost_state_keeps_one_item(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the state machine: the list drops a paper's arXiv link, the pull dies after
    writing Zotero (the item carries the new id, the note still the old one), then the state
    database is lost. The next runs join the note and the item again: one item, one note."""
    from pllm_sync.paths import app_dirs

    note = env.note_for(A)
    append(note, "\nMy notes on paper one.\n")
    assert env.run("pull", "--no-progress")[0] == 0
    key = item_any(env, A)["key"]
    drop_link_of_a(env)

    pull_dying_at(env, monkeypatch, "update_note")
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    for _ in range(2):
        code, out, err = env.run("pull", "--no-progress")
        assert code == 0, (out, err)
        assert len(env.items()) == 3, "the note became a second item"
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    assert item_any(env, new_pid)["key"] == key
    assert env.note_for(new_pid) == note
    assert "My notes on paper one." in user_part(note)
    notes = [p for p in env.papers.rglob("*.md") if "Synthetic Paper One" in p.read_text()]
    assert notes == [note], notes
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


@pytest.mark.parametrize("n_copies", [1, 2])
def test_a_copy_left_under_a_renamed_papers_old_id_stays_a_copy_in_a_sync(
    env: Env, n_copies: int
) -> None:
    """Found by the state machine: a copy of a note (or two), then the list drops the
    paper's arXiv link (a pull moves the paper to its new id). The copies still carry the
    old id, which now has no state, item or catalog entry; the next pull, and a plain
    ``sync`` (which reads no catalog, as ``conflicts resolve`` and the daemon run it), must
    still see them as copies: no second item, no copy ever written."""
    note = env.note_for(A)
    copies = [note.with_name(f"{note.stem} {i}.md") for i in range(1, n_copies + 1)]
    for c in copies:
        shutil.copyfile(note, c)
    copied = {c: c.read_bytes() for c in copies}
    key = item_any(env, A)["key"]
    drop_link_of_a(env)
    assert env.run("pull", "--no-progress")[0] == 0
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    for command in ("pull", "sync", "pull", "sync"):
        code, out, err = env.run(command, "--no-progress")
        assert code == 0, (command, out, err)
        assert sorted(pids_in_extra(env.items())) == sorted([new_pid, B, C]), command
        assert item_any(env, new_pid)["key"] == key
        assert {c: c.read_bytes() for c in copies} == copied, "a copy was written"
        assert all(c.name in err for c in copies), "the copies are listed"
    assert env.note_for(new_pid) == note
    env.emu.clear_log()
    assert sync(env)[0] == 0
    assert env.writes() == [], "converged"


def test_a_copy_left_under_an_old_id_stays_a_copy_after_a_lost_state(env: Env) -> None:
    """As above, then the state database is lost and a plain ``sync`` runs: with no catalog
    and no state, the paper's item (found by the id its note carries) tells the copy apart
    from a paper of its own."""
    from pllm_sync.paths import app_dirs

    note = env.note_for(A)
    copy = note.with_name(note.stem + " 1.md")
    shutil.copyfile(note, copy)
    copied = copy.read_bytes()
    drop_link_of_a(env)
    assert env.run("pull", "--no-progress")[0] == 0
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    for command in ("sync", "pull"):
        code, out, err = env.run(command, "--no-progress")
        assert code == 0, (command, out, err)
        assert sorted(pids_in_extra(env.items())) == sorted([new_pid, B, C]), command
        assert copy.read_bytes() == copied, "a copy was written"
    assert env.note_for(new_pid) == note


def test_an_id_change_whose_note_changed_during_the_run_keeps_one_item_beside_a_copy(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename of the test above, with a copy of the note made before: the note at the
    path the state knows is still the paper's (its copy, carrying the same old id, is
    listed and left alone), never a new paper with a second item."""
    from pllm_sync.zotero.store import ZoteroStore

    note = env.note_for(A)
    copy = note.with_name(note.stem + " 1.md")
    shutil.copyfile(note, copy)
    copied = copy.read_bytes()
    key = item_any(env, A)["key"]
    drop_link_of_a(env)
    edit_frontmatter(note, tags=["during"])  # so the pull writes Zotero
    orig = ZoteroStore.update_items

    def and_user_types(self: ZoteroStore, *a: Any, **k: Any) -> Any:
        rep = orig(self, *a, **k)
        edit_frontmatter(note, status="reading")  # typed while the pull runs
        return rep

    monkeypatch.setattr(ZoteroStore, "update_items", and_user_types)
    env.run("pull", "--no-progress")
    monkeypatch.setattr(ZoteroStore, "update_items", orig)
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    for command in ("sync", "pull"):
        code, out, err = env.run(command, "--no-progress")
        assert code == 0, (command, out, err)
        assert sorted(pids_in_extra(env.items())) == sorted([new_pid, B, C]), command
        assert copy.read_bytes() == copied, "a copy was written"
        assert copy.name in err, "the copy is listed"
    assert item_any(env, new_pid)["key"] == key
    assert env.note_for(new_pid) == note
    fm = frontmatter(note)
    assert fm["status"] == "reading" and "during" in fm["tags"]
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


@pytest.mark.parametrize("lost_state", [False, True])
def test_an_id_change_cut_short_then_changed_back_keeps_one_item_and_one_note(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lost_state: bool
) -> None:
    """Found by the state machine: the list drops a paper's arXiv link, the pull dies after
    writing Zotero (the item carries the new id, the note and the state the old one), then
    the list brings the link back (and the user moves the note, or the state is lost). The
    item the state knows, or the item of the same title, is still the paper's: one item,
    one note."""
    from pllm_sync.paths import app_dirs

    note = env.note_for(A)
    key = item_any(env, A)["key"]
    drop_link_of_a(env)

    pull_dying_at(env, monkeypatch, "update_note")
    assert item_any(env, pids_in_extra(env.items())[0])  # Zotero was written
    env.lists["trust"].write_text(LIST, encoding="utf-8")  # the link is back
    if lost_state:
        for p in app_dirs().data.glob("state-*"):
            p.unlink()
    else:
        (env.vault / "Reading").mkdir()
        note = note.rename(env.vault / "Reading" / note.name)
    for _ in range(2):
        code, out, err = env.run("pull", "--no-progress")
        assert code == 0, (out, err)
        assert sorted(pids_in_extra(env.items())) == sorted([A, B, C])
        assert item_any(env, A)["key"] == key
        assert env.note_for(A) == note
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def add_zotero_line(env: Env, key: str, line: str) -> None:
    """The user types a paragraph at the end of an item's notes in Zotero."""
    child = znote(env, key)
    html = str(child["note"])
    cut = html.rfind("</div>")
    html = html[:cut] + f"<p>{line}</p>\n" + html[cut:] if cut >= 0 else html + f"<p>{line}</p>"
    env.emu.edit_item(child["key"], {"note": html})


@pytest.mark.parametrize("lost_again", [False, True], ids=["state kept", "state lost again"])
def test_an_old_item_restored_after_an_id_change_and_a_lost_state_leaves_one_item(
    env: Env, lost_again: bool
) -> None:
    """A library where a paper has two live items: its item under its new title id (the
    list dropped its arXiv link) and an old one carrying its old id, restored from Zotero's
    trash (a version before the fix of ``PaperView.title`` made such a new item after a
    lost state; the state machine found it). The user edited both. The next pull keeps one
    live item (the one the note and state know), folds the old item's tags and notes into
    it, and trashes the old one: no second note, no user text lost, the run after writes
    nothing."""
    from pllm_sync.paths import app_dirs

    append(env.note_for(A), "\nMy notes before the trash.\n")
    assert env.run("pull", "--no-progress")[0] == 0
    before = item_any(env, A)
    old_note = str(znote(env, before["key"])["note"])
    drop_link_of_a(env)
    assert env.run("pull", "--no-progress")[0] == 0
    (new_pid,) = [p for p in pids_in_extra(env.items()) if p.startswith("title:")]
    new_key = item_any(env, new_pid)["key"]
    assert new_key == before["key"], "the id change kept the item"
    note = env.note_for(new_pid)
    edit_frontmatter(note, tags=["on-new"])
    append(note, "\nA line written in the new note.\n")
    assert env.run("pull", "--no-progress")[0] == 0

    # the old item, back from Zotero's trash, with its notes child; the user edits it
    drop = ("key", "version", "dateAdded", "dateModified")
    old_key = env.emu.create_item(
        {
            **{k: v for k, v in before.items() if k not in drop},
            "tags": [*before["tags"], {"tag": "on-old"}],
        }
    )
    env.emu.create_item({"itemType": "note", "parentItem": old_key, "note": old_note})
    add_zotero_line(env, old_key, "A line written in the restored item.")
    if lost_again:
        for p in app_dirs().data.glob("state-*"):
            p.unlink()
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    old = {"key": old_key}

    live = [d for d in env.items().values() if "Synthetic Paper One" in d["title"]]
    assert [d["key"] for d in live] == [new_key], "one live item: the one the note knows"
    assert env.emu.get_items(include_trashed=True)[old["key"]]["deleted"], "old one trashed"
    assert env.note_for(new_pid) == note
    notes = [p for p in env.papers.rglob("*.md") if "Synthetic Paper One" in p.read_text()]
    assert notes == [note], "no second note"
    item = env.items()[new_key]
    assert {"on-new", "on-old"} <= {t["tag"] for t in item["tags"]}
    assert {"on-new", "on-old"} <= set(frontmatter(note)["tags"])
    for line in (
        "My notes before the trash.",
        "A line written in the new note.",
        "A line written in the restored item.",
    ):
        assert line in user_part(note), line
        assert line in znote(env, new_key)["note"], line
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_two_live_items_carrying_one_id_become_one(env: Env) -> None:
    """A second live item carrying a paper's id (duplicated by hand, or made by another
    tool): the item the state knows stays the paper's, the other's tag is folded into it,
    and the other goes to Zotero's trash (it used to be ignored, live, forever)."""
    known = item_any(env, A)
    copy = {
        k: v for k, v in known.items() if k not in ("key", "version", "dateAdded", "dateModified")
    }
    copy["tags"] = [*known["tags"], {"tag": "on-copy"}]
    dup_key = env.emu.create_item(copy)
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    live = [d for d in env.items().values() if f"pllm-sync-id: {A}" in d["extra"]]
    assert [d["key"] for d in live] == [known["key"]]
    assert env.emu.get_items(include_trashed=True)[dup_key]["deleted"]
    note = env.note_for(A)
    assert "on-copy" in {t["tag"] for t in env.items()[known["key"]]["tags"]}
    assert "on-copy" in frontmatter(note)["tags"]
    env.emu.clear_log()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.writes() == [], "converged"


def test_a_note_of_an_item_deleted_for_good_says_so_and_moving_it_back_keeps_the_paper(
    env: Env,
) -> None:
    """An item emptied from Zotero's trash cannot be restored there: the warning does not
    offer that, and the way it does offer (moving the note back) works."""
    note = env.note_for(A)
    append(note, "\nMy own words.\n")
    assert sync(env)[0] == 0
    env.emu.delete_item(env.item_by_pid(A)["key"])
    code, _, err = sync(env)
    assert code == 0, err
    assert f"{A}: its item was deleted from Zotero, so its note " in err, err
    assert "restore the item" not in err
    moved = next((env.vault / ".pllm-sync-trash").rglob(note.name))
    moved.rename(note)  # as the warning says
    code, _, err = sync(env)
    assert code == 0, err
    assert "My own words." in user_part(env.note_for(A))
    assert not env.item_by_pid(A).get("deleted"), "the paper is back in Zotero"


def test_edits_made_to_a_trashed_note_survive_its_items_restore(env: Env) -> None:
    """Found by the daemon helper: text added to a note lying in the vault's trash (and a
    status set there) was written over when the item was restored in Zotero: the note came
    back as last synced, and the edits were gone everywhere."""
    note = env.note_for(A)
    key = env.item_by_pid(A)["key"]
    env.emu.trash_item(key)
    assert sync(env)[0] == 0
    [trashed] = list((env.vault / ".pllm-sync-trash").rglob(note.name))
    append(trashed, "\nWritten while it lay in the trash.\n")
    edit_frontmatter(trashed, status="reading")
    env.emu.edit_item(key, {"deleted": 0})
    code, _, err = sync(env)
    assert code == 0, err
    back = env.note_for(A)
    assert "Written while it lay in the trash." in user_part(back)
    assert frontmatter(back)["status"] == "reading"
    code, _, err = sync(env)  # and on to Zotero
    assert code == 0, err
    item = env.item_by_pid(A)
    assert "status/reading" in {t["tag"] for t in item["tags"]}
    assert "Written while it lay in the trash." in znote(env, key)["note"]


def test_a_note_saved_as_its_item_is_trashed_stays_and_brings_the_item_back(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the daemon helper (2 of 11 tries): the user saves the note in the instant
    the run moves it to the vault's trash for an item trashed in Zotero. The note went to
    the trash with the edit and the item stayed trashed. It stays now, and the next run
    takes the edit as the user's latest word (modify beats delete)."""
    from pllm_sync.vault.store import NoteInfo, VaultStore

    note = env.note_for(A)
    key = env.item_by_pid(A)["key"]
    env.emu.trash_item(key)
    orig = VaultStore.trash_note

    def saved_first(self: VaultStore, info: NoteInfo) -> str:
        append(self.root / info.path, "\nSaved just now.\n")
        return orig(self, info)

    monkeypatch.setattr(VaultStore, "trash_note", saved_first)
    code, _, err = sync(env)
    monkeypatch.setattr(VaultStore, "trash_note", orig)
    assert code == 0, err
    assert note.exists() and "Saved just now." in user_part(note)
    assert "saved while this run was writing it" in err, err
    code, out, err = sync(env)
    assert code == 0, err
    assert [d for d in env.items().values() if d["key"] == key], (out, err)
    assert "Saved just now." in znote(env, key)["note"]
    assert "Saved just now." in user_part(env.note_for(A))


TWINS = """# Twin List

## Vision

+ **\\[2024 arXiv\\]** MC-LLaVA: Multi-Concept Personalized Vision-Language Model. ([Paper](https://arxiv.org/abs/2411.11706))
+ **\\[2025 CVPR\\]** MC-LLaVA: Multi-Concept Personalized Vision-Language Model. ([Paper](https://arxiv.org/abs/2503.18854))
+ **\\[2024 EMNLP\\]** Another Paper: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""


@pytest.mark.parametrize("pid", ["arxiv:2411.11706", "arxiv:2503.18854"])
def test_an_item_restored_for_one_of_two_papers_of_one_title_brings_its_note_back(
    new_env: NewEnv, pid: str
) -> None:
    """The default list has two "MC-LLaVA" papers. Found by the daemon helper: restoring
    one's item from Zotero's trash never brought its note back; a plain sync took the item
    for a duplicate of the other paper, merged it in, and trashed it again."""
    env = new_env({"twins": TWINS}, max_delete_percent=100)
    assert env.run("pull", "--no-progress")[0] == 0
    note = env.note_for(pid)
    key = env.item_by_pid(pid)["key"]
    env.emu.trash_item(key)
    assert sync(env)[0] == 0 and not note.exists()
    env.emu.edit_item(key, {"deleted": 0})
    code, _, err = sync(env)
    assert code == 0, err
    assert "second live Zotero item" not in err, err
    assert note.exists(), "the note came back"
    assert len(env.items()) == 3 and not env.items(trashed=True)
