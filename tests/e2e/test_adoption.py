"""An item the user saved before the first pull (with the Zotero Connector, say) is adopted,
not duplicated, and the two copies then meet as two sides of one paper: what the user's
item holds (its authors, abstract, own tags, title) reaches the note, and what only the
list knows (the venue) reaches the item. Nothing is overwritten on either side.

Before, the item was adopted but the state recorded it as holding the list's record, so
its authors, abstract and tags never reached the note (until the item was edited again).
"""

from __future__ import annotations

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, frontmatter

LIST = """# Adoption List

## Alignment

+ **\\[2024 EMNLP\\]** Community Preferences for Language Model Personalization. ([Paper](https://arxiv.org/abs/2410.16027))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""
PID = "arxiv:2410.16027"


def _connector_item(emu: ZoteroEmulator) -> str:
    """The paper as the Zotero Connector saves it from arXiv, plus a tag of the user's."""
    return emu.create_item(
        {
            "itemType": "preprint",
            "title": "Community Preferences for Language Model Personalization",
            "creators": [{"creatorType": "author", "firstName": "Sachin", "lastName": "Kumar"}],
            "repository": "arXiv",
            "archiveID": "arXiv:2410.16027",
            "url": "https://arxiv.org/abs/2410.16027",
            "date": "2024-10-21",
            "extra": "arXiv:2410.16027 [cs]",
            "abstractNote": "Real abstract from the connector.",
            "tags": [{"tag": "my-own"}],
            "collections": [],
            "relations": {},
        }
    )


def _sync(env: Env, *args: str) -> str:
    code, out, err = env.run(*args, "--no-progress")
    assert code == 0, (out, err)
    return out


def _no_conflicts(env: Env) -> None:
    _code, out, err = env.run("conflicts")
    assert "no open conflicts" in (out + err).lower(), (out, err)


def test_an_adopted_item_and_its_note_meet_as_two_sides_of_one_paper(new_env: NewEnv) -> None:
    env = new_env({"adopt": LIST})
    key = _connector_item(env.emu)
    _sync(env, "pull")
    _sync(env, "sync")

    items = [d for d in env.items().values() if "Community Preferences" in str(d.get("title"))]
    assert [d["key"] for d in items] == [key], "the user's item was not the one adopted"
    item = env.item_by_pid(PID)
    # the item keeps what the user had, and gains what only the list knows
    assert [c["lastName"] for c in item["creators"]] == ["Kumar"]
    assert item["abstractNote"] == "Real abstract from the connector."
    assert "my-own" in {t["tag"] for t in item["tags"]}
    assert "EMNLP" in item["extra"], item["extra"]

    note = env.note_for(PID)
    fm = frontmatter(note)
    assert fm["authors"] == ["Sachin Kumar"], fm
    assert "my-own" in fm["tags"], fm
    assert fm["venue"] == "EMNLP 2024", fm
    assert "Real abstract from the connector." in note.read_text(encoding="utf-8")
    _no_conflicts(env)

    # and it settles: the next sync changes nothing on either side
    before, version = env.snapshot(), env.emu.library_version()
    _sync(env, "sync")
    assert env.snapshot() == before
    assert env.emu.library_version() == version


def test_a_created_item_is_untouched_by_the_adoption_rule(new_env: NewEnv) -> None:
    """The control: with no item in the library beforehand, the pull creates the item from
    the list, and the sync after it writes nothing anywhere."""
    env = new_env({"adopt": LIST})
    _sync(env, "pull")
    before, version = env.snapshot(), env.emu.library_version()
    _sync(env, "sync")
    assert env.snapshot() == before
    assert env.emu.library_version() == version
    assert frontmatter(env.note_for(PID))["authors"] == []


def test_a_second_pull_brings_the_adopted_item_to_the_note_too(new_env: NewEnv) -> None:
    """``pull`` is what the quick start runs: a user who only ever pulls gets it as well."""
    env = new_env({"adopt": LIST})
    _connector_item(env.emu)
    _sync(env, "pull")
    _sync(env, "pull")
    assert frontmatter(env.note_for(PID))["authors"] == ["Sachin Kumar"]


def test_a_tag_added_to_the_note_before_the_sync_joins_the_items_own(new_env: NewEnv) -> None:
    """Both sides' tags are kept (a union), with no conflict, when the user tags the new
    note before the sync that meets the adopted item."""
    env = new_env({"adopt": LIST})
    _connector_item(env.emu)
    _sync(env, "pull")
    note = env.note_for(PID)
    text = note.read_text(encoding="utf-8")
    assert "tags: []\n" in text, text
    note.write_text(text.replace("tags: []\n", "tags:\n  - from-the-note\n", 1), encoding="utf-8")
    _sync(env, "sync")
    assert {"my-own", "from-the-note"} <= set(frontmatter(note)["tags"])
    assert {"my-own", "from-the-note"} <= {t["tag"] for t in env.item_by_pid(PID)["tags"]}
    _no_conflicts(env)


def test_an_adopted_item_trashed_at_once_takes_its_note_along(new_env: NewEnv) -> None:
    """The user trashes their adopted item right after the pull: the note, untouched by the
    user, follows it (a created item trashed so does too). Before, the list's venue waiting
    in the note for the item read as an edit, and the item was restored."""
    env = new_env({"adopt": LIST}, max_delete_percent=100)  # 1 of 2 papers
    key = _connector_item(env.emu)
    _sync(env, "pull")
    note = env.note_for(PID)
    env.emu.trash_item(key)
    out = _sync(env, "sync")
    assert "restoring the item" not in out, out
    assert env.items(trashed=True)[key].get("deleted"), "the user's trash was undone"
    assert not note.exists()
