"""Regressions found by review: each scenario once lost or resurrected something.

Open conflicts must survive an incremental run; a failed write on one side must not move the
base; a note with broken YAML is not a deleted note; a paper deleted on both sides stays
deleted; `ignore` policies do not recreate what the user removed; a dry run writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter

LIST = """# Review List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
A, B = "arxiv:2401.00001", "arxiv:2401.00002"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"review": LIST})


def pull(env: Env, *a: str) -> None:
    code, out, err = env.run("pull", "--no-progress", *a)
    assert code == 0, (out, err)


def item_any(env: Env, pid: str) -> list[dict[str, Any]]:
    """Zotero items carrying ``pid`` in their Extra field, trashed ones included."""
    return [
        d
        for d in env.emu.get_items(include_trashed=True).values()
        if f"pllm-sync-id: {pid}" in (d.get("extra") or "")
    ]


def test_note_with_broken_yaml_does_not_trash_its_item(env: Env) -> None:
    env.write_config(max_delete_percent=100)
    pull(env)
    note = env.note_for(A)
    note.write_text(note.read_text().replace("title:", "title: [unclosed\nx:", 1))
    env.run("sync", "--no-progress")
    assert not item_any(env, A)[0].get("deleted"), "a note with broken YAML trashed its Zotero item"


def test_paper_deleted_on_both_sides_stays_deleted(env: Env) -> None:
    pull(env)
    env.note_for(A).unlink()
    env.emu.trash_item(item_any(env, A)[0]["key"])
    env.run("sync", "--no-progress")
    notes = [p for p in env.papers.glob("*.md") if f"pllm-sync-id: {A}\n" in p.read_text()]
    assert not notes, "note deleted by the user came back"
    assert item_any(env, A)[0].get("deleted"), "item trashed by the user was restored"


def test_vault_delete_survives_a_failed_write_elsewhere(env: Env) -> None:
    env.write_config(max_delete_percent=100)
    pull(env)
    env.note_for(A).unlink()
    edit_frontmatter(env.note_for(B), status="read")
    env.emu.inject(
        500, count=20, method="POST", path="/users/1/items", after=1
    )  # trash ok, update B fails
    env.run("sync", "--no-progress")
    env.emu.clear_faults()
    env.run("sync", "--no-progress")
    notes = [p for p in env.papers.glob("*.md") if f"pllm-sync-id: {A}\n" in p.read_text()]
    assert not notes, "deleted note came back after another paper's Zotero write failed"
    assert item_any(env, A)[0].get("deleted"), "trashed item was restored"


def test_ignore_policy_does_not_recreate_a_deleted_note(env: Env) -> None:
    env.write_config(on_vault_delete="ignore")
    pull(env)
    env.note_for(A).unlink()
    env.run("sync", "--no-progress")
    env.run("sync", "--no-progress")
    notes = [p for p in env.papers.glob("*.md") if f"pllm-sync-id: {A}\n" in p.read_text()]
    assert not notes, "on_vault_delete: ignore, but the deleted note was written again"


def zotero_tag_then_refused_note_write(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tag added in Zotero, then a sync during which A's note write is refused (the user
    was typing in Obsidian); afterwards writes work again."""
    from pllm_sync.errors import VaultError
    from pllm_sync.vault.store import NoteInfo, VaultStore

    pull(env)
    key = item_any(env, A)[0]["key"]
    tags = item_any(env, A)[0]["tags"]
    env.emu.edit_item(key, {"tags": [*tags, {"tag": "zotero-only"}]})
    orig = VaultStore.update_note

    def boom(self: VaultStore, note: NoteInfo, *a: Any, **k: Any) -> NoteInfo | None:
        if A in (note.pllm_id or ""):
            raise VaultError("changed on disk since it was scanned; not overwritten")
        return orig(self, note, *a, **k)

    monkeypatch.setattr(VaultStore, "update_note", boom)
    env.run("sync", "--no-progress")
    monkeypatch.setattr(VaultStore, "update_note", orig)


def test_zotero_edit_reaches_vault_after_a_refused_note_write(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    zotero_tag_then_refused_note_write(env, monkeypatch)
    env.run("sync", "--no-progress")
    fm = frontmatter(env.note_for(A))
    assert "zotero-only" in (fm.get("tags") or []), "Zotero tag never reached the vault"


def test_refused_note_write_then_vault_edit_keeps_zotero_tag(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    zotero_tag_then_refused_note_write(env, monkeypatch)
    edit_frontmatter(env.note_for(A), tags=["vault-tag"])
    env.run("sync", "--no-progress")
    ztags = {t["tag"] for t in item_any(env, A)[0]["tags"]}
    assert "zotero-only" in ztags, "the user's Zotero tag was removed"


def test_resolve_take_zotero_uses_current_values(env: Env) -> None:
    pull(env)
    key = item_any(env, A)[0]["key"]
    tags = item_any(env, A)[0]["tags"]
    env.emu.edit_item(key, {"tags": [*tags, {"tag": "status/read"}]})
    edit_frontmatter(env.note_for(A), status="skimmed")
    env.run("sync", "--no-progress")
    edit_frontmatter(env.note_for(A), status="reading")  # still conflicting
    env.run("sync", "--no-progress")
    out = env.run("conflicts", "--json")[1]
    rows = json.loads(out)
    cid = rows[0]["id"]
    _code, out, _err = env.run("conflicts", "resolve", str(cid), "--take", "zotero")
    assert frontmatter(env.note_for(A)).get("status") == "read"


def test_dry_run_writes_no_state(env: Env) -> None:
    import sqlite3

    from pllm_sync.paths import app_dirs

    env.run("pull", "--dry-run", "--no-progress")
    dbs = list(app_dirs().data.glob("state-*.sqlite3"))
    rows = sqlite3.connect(dbs[0]).execute("select name from sources").fetchall() if dbs else []
    assert not rows, "dry run wrote source meta to the state DB"


def test_fixed_yaml_note_keeps_item_out_of_trash(env: Env) -> None:
    env.write_config(max_delete_percent=100)
    pull(env)
    note = env.note_for(A)
    good = note.read_text()
    note.write_text(good.replace("title:", "title: [unclosed\nx:", 1))
    env.run("sync", "--no-progress")
    note.write_text(good)
    env.run("sync", "--no-progress")
    env.run("sync", "--no-progress")
    assert not item_any(env, A)[0].get("deleted"), (
        "item still in the trash after the note was fixed"
    )


def test_vault_delete_survives_a_412_elsewhere(env: Env) -> None:
    env.write_config(max_delete_percent=100)
    pull(env)
    env.note_for(A).unlink()
    edit_frontmatter(env.note_for(B), status="read")
    bkey = item_any(env, B)[0]["key"]
    fired: list[int] = []

    def hook(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items") and not fired:
            fired.append(1)
            tags = emu.get_items()[bkey]["tags"]
            emu.edit_item(bkey, {"tags": [*tags, {"tag": "status/skimmed"}]})

    env.emu.on_request(hook)
    env.run("sync", "--no-progress")
    env.emu.on_request(None)
    env.run("sync", "--no-progress")
    notes = [p for p in env.papers.glob("*.md") if f"pllm-sync-id: {A}\n" in p.read_text()]
    assert item_any(env, A)[0].get("deleted"), "trashed item was restored"
    assert not notes, "deleted note came back after another paper's Zotero write failed"


def test_open_conflict_survives_the_next_run(env: Env) -> None:
    pull(env)
    key = item_any(env, A)[0]["key"]
    tags = item_any(env, A)[0]["tags"]
    env.emu.edit_item(key, {"tags": [*tags, {"tag": "status/read"}]})
    edit_frontmatter(env.note_for(A), status="skimmed")
    env.run("sync", "--no-progress")
    env.run("sync", "--no-progress")
    ztags = {t["tag"] for t in item_any(env, A)[0]["tags"]}
    assert "status/read" in ztags, "Zotero's side of an open conflict was overwritten"


def test_resolve_take_zotero(env: Env) -> None:
    pull(env)
    key = item_any(env, A)[0]["key"]
    tags = item_any(env, A)[0]["tags"]
    env.emu.edit_item(key, {"tags": [*tags, {"tag": "status/read"}]})
    edit_frontmatter(env.note_for(A), status="skimmed")
    env.run("sync", "--no-progress")
    env.run("conflicts", "resolve", "1", "--take", "zotero")
    {t["tag"] for t in item_any(env, A)[0]["tags"]}
    fm = frontmatter(env.note_for(A))
    assert fm.get("status") == "read", "take zotero did not carry Zotero's value"


def test_unwritable_vault_stops_before_any_change(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    pull(env)
    edit_frontmatter(env.note_for(A), status="read")
    item = item_any(env, B)[0]
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
    monkeypatch.setattr(  # a read-only mount, as the engine's writability check sees it
        "pllm_sync.vault.store.os.access", lambda *_a, **_k: False
    )
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 5 and "not writable" in err
    assert env.writes() == [], "Zotero untouched as well"


def test_interrupted_run_is_journalled_and_converges(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pllm_sync.vault.store import VaultStore

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(VaultStore, "create_note", interrupted)
    code, _, _ = env.run("pull", "--no-progress")
    assert code == 130
    status = json.loads(env.run("status", "--json")[1])
    assert status["last_run"]["status"] == "aborted"
    monkeypatch.undo()
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", env.emu.api_key)
    pull(env)
    ids = [p for d in env.items().values() for p in [d["extra"]] if "pllm-sync-id" in p]
    assert len(ids) == 3, "no duplicates after the interrupted run"
    assert len(list(env.papers.glob("*.md"))) == 3


def test_a_copy_in_zoteros_trash_is_not_called_a_second_item(env: Env) -> None:
    """A copy of a paper's item the user (or a hand-over) put in Zotero's trash carries the
    paper's id too: that is no second live copy to warn about on every run."""
    pull(env)
    item = env.item_by_pid(A)
    copy = env.emu.create_item(
        {k: v for k, v in item.items() if k not in ("key", "version", "dateAdded")}
    )
    env.emu.trash_item(copy)
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    assert "two items carry" not in out + err, (out, err)
    assert not env.item_by_pid(A).get("deleted")
