"""A run that syncs the vault only (``--zotero off``: offline, or a library not reachable
today), then a normal sync. The edits made meanwhile must reach Zotero and stay in the
note: the vault-only run once recorded them as agreed with Zotero, so the next sync either
wrote Zotero's older values over them (a library read in full) or never sent them (a library
read through its change feed, as here)."""

from __future__ import annotations

import json

import pytest

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter

LIST = """# Offline List

## Alignment

+ **\\[2024 EMNLP\\]** Offline Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Offline Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""
ONE = "arxiv:2401.00001"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    e = new_env({"offline": LIST})
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    return e


@pytest.mark.parametrize("command", ["pull", "sync"])
def test_edits_made_before_a_vault_only_run_reach_zotero_after_it(env: Env, command: str) -> None:
    note = env.note_for(ONE)
    edit_frontmatter(note, tags=["mytag"], status="reading", rating=4)
    note.write_text(
        note.read_text(encoding="utf-8") + "\n## My notes\n\nAn insight written offline.\n",
        encoding="utf-8",
    )
    env.emu.clear_log()
    code, out, err = env.run(command, "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert env.writes() == [], "a vault-only run writes nothing to Zotero"
    assert "1 paper with changes waiting for Zotero" in out + err, out + err
    again = env.run(command, "--zotero", "off", "--no-progress")
    assert "1 paper with changes waiting for Zotero" in again[1] + again[2], "still pending"

    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    fm = frontmatter(note)
    assert fm["tags"] == ["mytag"] and fm["status"] == "reading" and fm["rating"] == 4
    assert "An insight written offline." in note.read_text(encoding="utf-8")
    item = env.item_by_pid(ONE)
    assert {"mytag", "status/reading", "rating/4"} <= {t["tag"] for t in item["tags"]}, item
    znotes = [c for c in env.children(item["key"]) if c["itemType"] == "note"]
    assert any("An insight written offline." in c["note"] for c in znotes), znotes
    env.emu.clear_log()
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0 and env.writes() == [], "then in step: nothing more to write"
    assert "An insight written offline." in note.read_text(encoding="utf-8")


def test_a_vault_only_run_with_nothing_new_says_nothing_waits(env: Env) -> None:
    code, out, err = env.run("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert "waiting for Zotero" not in out + err


def test_a_list_fix_during_a_vault_only_run_does_not_undo_the_users_title_later(
    env: Env,
) -> None:
    """The user retitles a note while the list fixes the same title, in a vault-only pull:
    the user's title wins, reaches Zotero at the next sync, and stays at the pull after.
    The list's change was once kept back as new, and that later pull wrote it over both
    sides."""
    note = env.note_for(ONE)
    edit_frontmatter(note, title="Offline Paper One: My Own Title")
    lst = env.lists["offline"]
    lst.write_text(
        lst.read_text(encoding="utf-8").replace(
            "Offline Paper One: A Study", "Offline Paper One: The List Fix"
        ),
        encoding="utf-8",
    )
    assert env.run("pull", "--zotero", "off", "--no-progress")[0] == 0
    assert env.run("sync", "--no-progress")[0] == 0
    assert env.item_by_pid(ONE)["title"] == "Offline Paper One: My Own Title"
    for _ in range(2):
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        assert frontmatter(note)["title"] == "Offline Paper One: My Own Title"
        assert env.item_by_pid(ONE)["title"] == "Offline Paper One: My Own Title"


def test_a_vault_without_a_library_settles(new_env: NewEnv) -> None:
    """A vault synced without any Zotero library: every later run has nothing to do, says
    nothing waits for Zotero, and warns of nothing (each paper's base follows the vault)."""
    env = new_env({"offline": LIST})
    assert env.run("pull", "--zotero", "off", "--no-progress")[0] == 0
    for _ in range(2):
        code, out, err = env.run("sync", "--zotero", "off", "--no-progress")
        assert code == 0, err
        assert "nothing to change" in out + err, out + err
        assert "waiting for Zotero" not in out + err and "WARNING" not in err, err


def test_a_note_deleted_before_a_vault_only_run_trashes_its_item_at_the_next_sync(
    env: Env,
) -> None:
    """``on_vault_delete: zotero-trash`` holds across a vault-only run: the deletion waits
    for Zotero (said in a warning) instead of being settled on the vault side alone, which
    once left the item live for good."""
    env.write_config(max_delete_percent=100)  # one of two papers: over the default guard
    item = env.item_by_pid(ONE)
    env.note_for(ONE).unlink()
    code, _, err = env.run("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    assert "next run with Zotero applies on_vault_delete" in err, err
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert item["key"] in env.items(trashed=True), "moved to Zotero's trash"


@pytest.mark.parametrize("command", ["pull", "sync"])
def test_a_note_moved_back_before_a_vault_only_run_brings_its_item_back_next(
    env: Env, command: str
) -> None:
    """Found by the long state-machine run: a note moved out of the vault (its item goes to
    Zotero's trash), moved back, then a run without Zotero. That run took the note back on
    the vault side alone, so the next sync saw nothing to do: the item stayed in Zotero's
    trash for good. The return now waits for a run with Zotero, which restores the item."""
    env.write_config(max_delete_percent=100)  # one of two papers: over the default guard
    note = env.note_for(ONE)
    key = env.item_by_pid(ONE)["key"]
    away = env.vault.parent / "away.md"
    note.rename(away)
    assert env.run("sync", "--no-progress")[0] == 0
    assert key in env.items(trashed=True), "moved out: its item went to Zotero's trash"
    away.rename(note)
    for _ in range(2):
        code, _, err = env.run(command, "--zotero", "off", "--no-progress")
        assert code == 0, err
        assert "next run with Zotero restores its item" in err, err
    assert note.exists(), "the note is left as it is"
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert key in env.items(trashed=False), "the item came back from Zotero's trash"
    assert frontmatter(note)["pllm-sync-id"] == ONE
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0 and env.writes() == [], "then in step"


def test_a_conflict_resolved_for_zotero_in_a_vault_only_run_reaches_the_vault_next(
    env: Env,
) -> None:
    """Taking Zotero's value while Zotero is out of the run: the vault gets it at the next
    run with Zotero, and nothing is said to wait for Zotero (it once counted the paper as
    waiting, as if the vault's losing value were on its way there)."""
    note = env.note_for(ONE)
    item = env.item_by_pid(ONE)
    env.emu.edit_item(item["key"], {"title": "Offline Paper One: Zotero's Title"})
    edit_frontmatter(note, title="Offline Paper One: Vault's Title")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 7, err
    code, out, err = env.run("conflicts", "--json")
    [conflict] = [c for c in json.loads(out) if c["field"] == "title"]
    code, out, err = env.run(
        "conflicts", "resolve", str(conflict["id"]), "--take", "zotero", "--zotero", "off"
    )
    assert code == 0, err
    assert "reaches the vault at the next run with Zotero" in out, out
    assert "waiting for Zotero" not in out + err, out + err
    env.emu.clear_log()
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert frontmatter(note)["title"] == "Offline Paper One: Zotero's Title"
    assert env.item_by_pid(ONE)["title"] == "Offline Paper One: Zotero's Title"
    assert env.run("sync", "--no-progress")[0] == 0


@pytest.mark.parametrize("policy", ["zotero-trash", "ignore"])
def test_a_note_deleted_before_zotero_was_ever_connected_gets_no_item(
    new_env: NewEnv, policy: str
) -> None:
    """A vault made without Zotero, one note deleted, then the library connected: with
    ``on_vault_delete: zotero-trash`` the deletion is the user's word for both sides, so the
    paper gets no item (one made only to sit in the trash, or live against the user's
    deletion, is what the policy exists to prevent); with ``ignore`` the item is made. The
    note is not written again either way."""
    env = new_env({"offline": LIST})
    env.write_config(max_delete_percent=100, on_vault_delete=policy)
    assert env.run("pull", "--zotero", "off", "--no-progress")[0] == 0
    note = env.note_for(ONE)
    kept = note.read_bytes()
    note.unlink()
    code, _, err = env.run("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    for _ in range(2):  # the first run with Zotero, and one after it (nothing changes)
        code, _, err = env.run("pull", "--no-progress")
        assert code == 0, err
        pids = {
            line.split(":", 1)[1].strip()
            for d in env.items().values()
            for line in str(d.get("extra") or "").splitlines()
            if line.startswith("pllm-sync-id:")
        }
        assert "arxiv:2401.00002" in pids
        assert (ONE in pids) == (policy == "ignore"), pids
        assert not env.items(trashed=True)
        assert not list(env.vault.rglob("Offline Paper One*.md")), "the deleted note came back"
    # the note moved back (from the system's trash): the paper takes part again, item and all
    note.write_bytes(kept)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert env.item_by_pid(ONE)["title"].startswith("Offline Paper One")
    assert note.read_bytes().startswith(b"---")


def test_a_note_deleted_offline_after_a_lost_state_trashes_its_item_and_stays_deleted(
    env: Env,
) -> None:
    """The state database lost, the next runs offline (their state rows know no item), a
    note deleted meanwhile: the first run with Zotero finds the paper's item, which the
    state never knew. It goes to Zotero's trash as the deletion asks; taken for an item
    back from the trash, it once brought the deleted note back."""
    from pllm_sync.paths import app_dirs

    env.write_config(max_delete_percent=100)
    item = env.item_by_pid(ONE)
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    assert env.run("sync", "--zotero", "off", "--no-progress")[0] == 0
    note = env.note_for(ONE)
    note.unlink()
    code, _, err = env.run("sync", "--zotero", "off", "--no-progress")
    assert code == 0, err
    for _ in range(2):
        code, _, err = env.run("sync", "--no-progress")
        assert code == 0, err
        assert item["key"] in env.items(trashed=True), "the deletion reached the item"
        assert not note.exists() and not list(env.vault.rglob("Offline Paper One*.md"))
    assert len(env.items()) == 1  # the other paper's item, live; no duplicate made


def test_a_line_written_before_a_lost_state_and_an_offline_run_survives_the_next_pull(
    env: Env,
) -> None:
    """Found by the long state-machine run: a line added to a note, the state database lost,
    a run without Zotero (it agreed the note's text as the base: the state knew no item, so
    "nothing to protect"), the note renamed; the next pull took the item's older notes for
    an edit that removed the line. The note names its item: nothing is agreed with it."""
    from pllm_sync.paths import app_dirs

    note = env.note_for(ONE)
    with note.open("a", encoding="utf-8") as fh:
        fh.write("\nA line written before the state was lost.\n")
    for p in app_dirs().data.glob("state-*"):
        p.unlink()
    assert env.run("sync", "--zotero", "off", "--no-progress")[0] == 0
    renamed = note.with_name("renamed by me.md")
    note.rename(renamed)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    text = env.note_for(ONE).read_text(encoding="utf-8")
    assert "A line written before the state was lost." in text
    key = env.item_by_pid(ONE)["key"]
    zn = [c for c in env.children(key) if c.get("itemType") == "note"]
    assert any("A line written before the state was lost." in c["note"] for c in zn)


def test_an_id_change_followed_in_a_vault_only_pull_reaches_the_item_next(env: Env) -> None:
    """The list changes a paper's arXiv link; a `pull --zotero off` follows it in the vault.
    The item's Extra line kept the old id for good (the item had no other change, so no
    run wrote it), and another device then took the item for the old paper."""
    key = env.item_by_pid(ONE)["key"]
    text = env.lists["offline"].read_text(encoding="utf-8")
    env.lists["offline"].write_text(text.replace("2401.00001", "2401.09999"), encoding="utf-8")
    new = "arxiv:2401.09999"
    code, out, err = env.run("pull", "--zotero", "off", "--no-progress")
    assert code == 0, (out, err)
    assert frontmatter(env.note_for(new))["pllm-sync-id"] == new
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    item = env.items()[key]
    assert f"pllm-sync-id: {new}" in item["extra"], item["extra"]
    assert f"pllm-sync-id: {ONE}" not in item["extra"], item["extra"]
    before, version = env.snapshot(), env.emu.library_version()
    assert env.run("pull", "--no-progress")[0] == 0
    assert env.snapshot() == before and env.emu.library_version() == version


def test_an_id_changed_away_and_back_offline_owes_the_item_nothing(env: Env) -> None:
    """A -> B -> A, each followed by `pull --zotero off`: the item still carries A, so the
    next runs with Zotero have nothing to send and settle (a rename of A to itself was
    kept owed, said every run, and kept sync off its settled path)."""
    path = env.lists["offline"]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("2401.00001", "2401.09999"), encoding="utf-8")
    assert env.run("pull", "--zotero", "off", "--no-progress")[0] == 0
    path.write_text(text, encoding="utf-8")
    assert env.run("pull", "--zotero", "off", "--no-progress")[0] == 0
    assert env.run("pull", "--no-progress")[0] == 0
    assert f"pllm-sync-id: {ONE}" in env.item_by_pid(ONE)["extra"]
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0 and "changed this paper's id" not in out + err, (out, err)
