"""The server stores some values differently from how they were sent (it trims and drops
tags, strips control characters, converts dates to UTC, drops empty creators). A naive client
would see a change on every run and write forever; pllm-sync must converge: the sync after
the one that wrote such a value writes nothing, on either side.

And where the server refuses one object of a batch (409 for a collection or parent that
vanished, 413 for a value too long), the rest of the batch lands, the user is told which
paper, and the next runs neither lose the refused change nor stall the library version."""

from __future__ import annotations

from typing import Any

import pytest

from pllm_sync.config import load_config
from pllm_sync.sync.state import LibraryRef, StateDB, default_state_path
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter

LIST = """# Review List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
A, B, C = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"review": LIST})


def sync(env: Env) -> tuple[int, str, str]:
    return env.run("sync", "--no-progress")


def item(env: Env, pid: str) -> dict[str, Any]:
    found = [
        d
        for d in env.emu.get_items(include_trashed=True).values()
        if f"pllm-sync-id: {pid}" in str(d.get("extra") or "")
    ]
    assert len(found) == 1, found
    return found[0]


def assert_settled(env: Env) -> None:
    """One more sync writes nothing to Zotero and rewrites no vault file."""
    before = env.snapshot()
    env.emu.clear_log()
    code, out, err = sync(env)
    assert code == 0, (out, err)
    assert env.writes() == [], [(r.method, r.path) for r in env.writes()]
    assert env.snapshot() == before


def test_vault_tags_the_server_trims_or_drops_converge(env: Env) -> None:
    pull_ok = env.run("pull", "--no-progress")
    assert pull_ok[0] == 0, pull_ok
    edit_frontmatter(env.note_for(A), tags=["spaced  ", "", "   ", "two words", "\tTabbed"])
    code, out, err = sync(env)
    assert code == 0, (out, err)
    names = {t["tag"] for t in item(env, A)["tags"]}
    assert {"spaced", "two-words", "Tabbed"} <= names
    assert "" not in names and not any(n != n.strip() for n in names)
    assert_settled(env)


def test_vault_title_and_authors_with_characters_the_server_filters_converge(env: Env) -> None:
    env.run("pull", "--no-progress")
    note = env.note_for(A)
    edit_frontmatter(
        note,
        title="Paper\x01 One\x7f Revised",
        authors=["Ada Lovelace", "\ufeff", "Grace\x02 Hopper", " "],
    )
    code, out, err = sync(env)
    assert code == 0, (out, err)
    data = item(env, A)
    assert data["title"] == "Paper One Revised"
    names = [c.get("name") or f"{c['firstName']} {c['lastName']}" for c in data["creators"]]
    assert names == ["Ada Lovelace", "Grace Hopper"]
    assert_settled(env)


def test_catalog_title_with_control_characters_converges(env: Env) -> None:
    env.lists["review"].write_text(
        LIST.replace("Synthetic Paper Two", "Synthetic\x01 Paper\x7f Two\x1b[31m")
    )
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    title = str(item(env, B)["title"])
    assert all(ord(ch) >= 32 and ch != "\x7f" for ch in title), title
    assert_settled(env)


def test_dates_and_tags_written_by_another_client_are_left_alone(env: Env) -> None:
    """Another client writes an SQL-format accessDate, a dateAdded with a time zone and a
    padded tag; the server stores them converted. pllm-sync reads them back and neither
    rewrites the item nor keeps seeing a change."""
    env.run("pull", "--no-progress")
    key = str(item(env, A)["key"])
    tags = list(item(env, A)["tags"])
    env.emu.edit_item(
        key,
        {"accessDate": "2014-02-01 01:23:45", "tags": [*tags, {"tag": "  padded "}, {"tag": ""}]},
    )
    stored = item(env, A)
    assert stored["accessDate"] == "2014-02-01T01:23:45Z"
    code, out, err = sync(env)
    assert code == 0, (out, err)
    assert "padded" in (frontmatter(env.note_for(A)).get("tags") or [])
    assert_settled(env)
    assert item(env, A)["accessDate"] == "2014-02-01T01:23:45Z"


def state_library_version(env: Env) -> int | None:
    """The library version the state will read changes since on the next run."""
    cfg = load_config(env.config)
    with StateDB.open(default_state_path(cfg)) as st:
        return st.get_library_version(LibraryRef.from_config(cfg.zotero))


def test_409_for_a_collection_deleted_during_the_write_is_reported_and_heals(env: Env) -> None:
    env.run("pull", "--no-progress")
    # The list grows a section and a paper; while pllm-sync files the paper there, another
    # device deletes that new collection: the item write gets 409 "Collection … not found".
    env.lists["review"].write_text(
        LIST + "\n## Safety\n\n+ **\\[2024 EMNLP\\]** Synthetic Paper Four: A Study."
        " ([Paper](https://arxiv.org/abs/2401.00004))\n"
    )
    edit_frontmatter(env.note_for(B), status="read")
    fired: list[str] = []

    def delete_new_collection(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items") and not fired:
            for key, col in emu.get_collections().items():
                if col["name"] == "Safety":
                    fired.append(key)
                    emu.delete_collection(key)

    env.emu.on_request(delete_new_collection)
    code, out, err = env.run("pull", "--no-progress")
    env.emu.on_request(None)
    assert fired
    refused = [r for r in env.emu.request_log if r.method == "POST"]
    assert refused
    text = out + err
    assert "Synthetic Paper Four" in text and "not found" in text, text
    assert code != 0
    # Everything else landed.
    assert any(t["tag"].endswith("read") for t in item(env, B)["tags"])
    # The next run recreates the collection, files the paper, and catches up the version.
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    d = item(env, "arxiv:2401.00004")
    cols = env.emu.get_collections()
    assert [cols[k]["name"] for k in d["collections"]] == ["Safety"]
    assert_settled(env)
    assert state_library_version(env) == env.emu.library_version()


def test_409_for_a_parent_deleted_during_the_write_keeps_the_notes(env: Env) -> None:
    """The user writes notes for A in Obsidian; while pllm-sync writes them as a child note,
    another device permanently deletes A: the note gets 409 "Parent item … not found". The
    user is told, the notes text stays in the vault, and the runs after settle."""
    env.run("pull", "--no-progress")
    note = env.note_for(A)
    with note.open("a", encoding="utf-8") as fh:
        fh.write("\nMy reading notes on paper one.\n")
    edit_frontmatter(env.note_for(B), status="read")
    a_key = str(item(env, A)["key"])
    fired: list[str] = []

    def delete_parent(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items") and not fired:
            fired.append(path)
            emu.delete_item(a_key)

    env.emu.on_request(delete_parent)
    code, out, err = sync(env)
    env.emu.on_request(None)
    assert fired
    assert f"Parent item {a_key} not found" in out + err, out + err
    assert code != 0
    assert any(t["tag"].endswith("read") for t in item(env, B)["tags"])
    for _ in range(2):
        code, out, err = sync(env)
        assert code == 0, (out, err)
    kept = [p for p in env.vault.rglob("*.md") if "My reading notes on paper one." in p.read_text()]
    assert kept, "the user's notes text was lost"
    assert_settled(env)
    assert state_library_version(env) == env.emu.library_version()


def test_a_tag_too_long_for_zotero_is_reported_and_nothing_is_lost(env: Env) -> None:
    """A 300-character tag typed in Obsidian, which Zotero would refuse with 413: the note
    keeps it and is named in a warning, the tag is not sent, and the rest of both papers'
    edits land (issue 8, item 16: it must not fail every run)."""
    env.run("pull", "--no-progress")
    long_tag = "t" * 300
    edit_frontmatter(env.note_for(A), tags=["fine", long_tag])
    edit_frontmatter(env.note_for(B), status="read")
    code, _out, err = sync(env)
    assert code == 0, err
    assert env.note_for(A).name in err and "longer than the 255 characters" in err, err
    assert any(t["tag"].endswith("read") for t in item(env, B)["tags"])
    tags_a = {t["tag"] for t in item(env, A)["tags"]}
    assert long_tag not in tags_a and "fine" in tags_a
    assert long_tag in (frontmatter(env.note_for(A)).get("tags") or [])


def test_vault_notes_with_control_characters_converge(env: Env) -> None:
    """Notes pasted with a form feed, a terminal escape and Windows line endings: Zotero
    strips the control characters from the note HTML; the notes still settle."""
    env.run("pull", "--no-progress")
    note = env.note_for(A)
    with note.open("a", encoding="utf-8", newline="") as fh:
        fh.write("\r\nPasted\x0c from a PDF\x1b[0m.\r\nSecond line.\r\n")
    code, out, err = sync(env)
    assert code == 0, (out, err)
    children = env.children(str(item(env, A)["key"]))
    html = next(c["note"] for c in children if c["itemType"] == "note")
    assert "Pasted from a PDF[0m." in html and "\x0c" not in html and "\r" not in html
    assert_settled(env)


def test_a_refusal_that_retrying_cannot_heal_does_not_hold_the_library_back(env: Env) -> None:
    """An author name typed in Obsidian longer than Zotero allows (413 "Creator … too long"
    for that one item): the user is told once per run which paper and why, the note keeps the
    name (the change stays pending), the rest lands, and the library version advances, so
    the next runs do not re-read the whole change feed and fail forever (issue 8)."""
    env.run("pull", "--no-progress")
    long_name = "Ada " + "L" * 300
    edit_frontmatter(env.note_for(A), authors=[long_name])
    edit_frontmatter(env.note_for(B), status="read")
    for _run in range(2):
        code, out, err = sync(env)
        assert code != 0, (out, err)
        text = out + err
        assert text.count("too long") == 1, text
        assert "Synthetic Paper One" in text and "(413)" in text, text
        assert state_library_version(env) == env.emu.library_version()
    assert any(t["tag"].endswith("read") for t in item(env, B)["tags"])
    assert long_name in (frontmatter(env.note_for(A)).get("authors") or [])
    # With no new edit in Zotero, the run after the refusal reads nothing more from the feed.
    env.emu.clear_log()
    sync(env)
    feed = [r for r in env.emu.request_log if r.method == "GET" and "since=" in r.path]
    assert all("since=0" not in r.path for r in feed), [r.path for r in feed]
    # The user shortens the name: it lands and everything settles.
    edit_frontmatter(env.note_for(A), authors=["Ada Lovelace"])
    code, out, err = sync(env)
    assert code == 0, (out, err)
    assert [c.get("lastName") or c.get("name") for c in item(env, A)["creators"]] == ["Lovelace"]
    assert_settled(env)
    assert state_library_version(env) == env.emu.library_version()
