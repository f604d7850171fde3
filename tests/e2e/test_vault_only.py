"""A run that syncs the vault only (``--zotero off``: offline, or a library not reachable
today), then a normal sync. The edits made meanwhile must reach Zotero and stay in the
note: the vault-only run once recorded them as agreed with Zotero, so the next sync either
wrote Zotero's older values over them (a library read in full) or never sent them (a library
read through its change feed, as here)."""

from __future__ import annotations

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
