"""Notes as Obsidian users leave them, found by a helper editing a vault the way Obsidian
does: a note whose managed region is gone (its marker lines deleted, or made from a
template that has none) says nothing about the abstract. It was read as "abstract
cleared": the next sync emptied the abstract in Zotero, and an abstract typed in Zotero
never reached the note."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import Env, NewEnv

LIST = """# Obsidian List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""
ONE = "arxiv:2401.00001"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    e = new_env({"obsidian": LIST})
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    return e


def sync(env: Env) -> str:
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    return out


def drop_markers(note: Path, which: str) -> None:
    text = note.read_text(encoding="utf-8")
    for marker in ("pllm-sync:begin", "pllm-sync:end"):
        if which in ("both", marker.split(":")[1]):
            text = re.sub(rf"(?m)^<!-- {marker}.*\n", "", text)
    note.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("which", ["both", "begin", "end"])
def test_an_abstract_typed_in_zotero_survives_a_note_without_its_region(
    env: Env, which: str
) -> None:
    note = env.note_for(ONE)
    drop_markers(note, which)
    sync(env)
    key = env.item_by_pid(ONE)["key"]
    env.emu.edit_item(key, {"abstractNote": "An abstract typed in Zotero."})
    for _ in range(3):  # the erasure came at the second sync
        sync(env)
        assert env.item_by_pid(ONE)["abstractNote"] == "An abstract typed in Zotero."
    if which == "both":  # no region at all: one is put back, with the abstract in it
        text = note.read_text(encoding="utf-8")
        assert "> An abstract typed in Zotero." in text
        assert text.count("<!-- pllm-sync:begin") == 1
    assert "nothing to change" in sync(env)


def test_a_note_losing_its_region_does_not_empty_the_abstract_in_zotero(env: Env) -> None:
    key = env.item_by_pid(ONE)["key"]
    env.emu.edit_item(key, {"abstractNote": "Kept in Zotero."})
    sync(env)
    assert "> Kept in Zotero." in env.note_for(ONE).read_text(encoding="utf-8")
    drop_markers(env.note_for(ONE), "both")
    sync(env)
    sync(env)
    assert env.item_by_pid(ONE)["abstractNote"] == "Kept in Zotero."


def test_a_paper_added_from_the_vault_template_keeps_its_zotero_abstract(env: Env) -> None:
    """The vault's own Templates/Paper.md has no region: every paper a user adds with it
    was such a note."""
    template = env.vault / "Templates" / "Paper.md"
    text = template.read_text(encoding="utf-8")
    assert "pllm-sync:begin" not in text
    note = env.papers / "My Added Paper.md"
    note.write_text(
        text.replace("title:", "title: My Added Paper", 1).replace(
            "arxiv:", 'arxiv: "2405.99999"', 1
        ),
        encoding="utf-8",
    )
    sync(env)
    [item] = [d for d in env.items().values() if d["title"] == "My Added Paper"]
    env.emu.edit_item(item["key"], {"abstractNote": "Written in Zotero."})
    for _ in range(2):
        sync(env)
        [item] = [d for d in env.items().values() if d["title"] == "My Added Paper"]
        assert item["abstractNote"] == "Written in Zotero."
    assert "> Written in Zotero." in note.read_text(encoding="utf-8")


def test_authors_and_a_year_written_the_obsidian_way_reach_zotero_right(env: Env) -> None:
    note = env.note_for(ONE)
    date_before = env.item_by_pid(ONE)["date"]
    text = note.read_text(encoding="utf-8")
    text = re.sub(
        r"(?m)^authors:.*$", 'authors:\n  - "[[John Roe]]"\n  - "Doe, Jane"', text, count=1
    )
    text = re.sub(r"(?m)^year:.*$", "year: circa 2020", text, count=1)
    note.write_text(text, encoding="utf-8")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert "year 'circa 2020' is not a whole number" in err, err
    item = env.item_by_pid(ONE)
    creators = [(c.get("firstName"), c.get("lastName")) for c in item["creators"]]
    assert creators == [("John", "Roe"), ("Jane", "Doe")], creators
    assert item["date"] == date_before, "a year that is no number cleared Zotero's date"
    sync(env)  # Zotero spells "Doe, Jane" as Jane Doe: the note takes that spelling once
    assert "nothing to change" in sync(env)
    assert '"[[John Roe]]"' in note.read_text(encoding="utf-8"), "the user's link stays"


def test_status_and_rating_typed_as_tags_stay_tags_in_the_note(env: Env) -> None:
    """Found trying it in Obsidian: ``tags: [status/read, rating/5]`` in a note whose status
    and rating were empty set Zotero's status and rating (any device then showed "read"
    and 5) while the note showed neither. Such tags stay in the note, are not synced, and
    the run says how to set the status instead; the note's own tags still sync."""
    from .helpers import edit_frontmatter, frontmatter

    note = env.note_for(ONE)
    edit_frontmatter(note, tags=["status/read", "rating/5", "mine"])
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert "tag 'status/read' is how Zotero stores the status" in err, err
    assert "set the note's rating property instead" in err, err
    tags = {t["tag"] for t in env.item_by_pid(ONE)["tags"]}
    assert "mine" in tags
    assert not {t for t in tags if t.startswith(("status/", "rating/"))}, tags
    assert frontmatter(note)["tags"] == ["status/read", "rating/5", "mine"], "kept as typed"
    edit_frontmatter(note, status="reading")  # the property sets the status, as ever
    sync(env)
    tags = {t["tag"] for t in env.item_by_pid(ONE)["tags"]}
    assert "status/reading" in tags and "status/read" not in tags, tags
    assert frontmatter(note)["tags"] == ["status/read", "rating/5", "mine"]
    assert "nothing to change" in sync(env)


TWINS = """# Twin List

## Benchmarks

### Benchmark-Dataset

+ **\\[2024 EMNLP\\]** Twin Paper One: A Study. ([Paper](https://arxiv.org/abs/2402.00001))

## Methods

### Benchmark-Dataset

+ **\\[2024 EMNLP\\]** Twin Paper Two: A Study. ([Paper](https://arxiv.org/abs/2402.00002))

### Other

+ **\\[2024 EMNLP\\]** Twin Paper Two: A Study. ([Paper](https://arxiv.org/abs/2402.00002))
+ **\\[2024 EMNLP\\]** Twin Paper Three: A Study. ([Paper](https://arxiv.org/abs/2402.00003))
"""


def test_a_section_linked_by_a_name_two_sections_share(new_env: NewEnv) -> None:
    """Found trying it in Obsidian: a ``sections`` link by a name alone that two sections
    share (``[[Benchmark-Dataset]]``; Obsidian resolves it) froze every section edit of the
    note, with a warning that no index note knew it. It now stands for the section of that
    name the paper is in, so the note's other edits apply; where the paper is in neither,
    the warning names both and nothing changes."""
    from .helpers import frontmatter

    env = new_env({"twins": TWINS})
    assert env.run("pull", "--no-progress")[0] == 0
    colls = {c["name"]: k for k, c in env.emu.get_collections().items()}
    two, three = env.note_for("arxiv:2402.00002"), env.note_for("arxiv:2402.00003")
    assert colls["Other"] in env.item_by_pid("arxiv:2402.00002")["collections"]
    # Paper Two: its Benchmark-Dataset link typed by name, its "Other" section removed
    text = two.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  - .*Methods/Benchmark-Dataset.*$", '  - "[[Benchmark-Dataset]]"', text)
    text = re.sub(r"(?m)^  - .*Methods/Other.*\n", "", text)
    two.write_text(text, encoding="utf-8")
    # Paper Three (in "Other" only): a section of that shared name added
    text = three.read_text(encoding="utf-8")
    three.write_text(text.replace("sections:\n", 'sections:\n  - "[[Benchmark-Dataset]]"\n'))
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    item_two = env.item_by_pid("arxiv:2402.00002")
    assert colls["Other"] not in item_two["collections"], "the section removal applied"
    assert len(item_two["collections"]) == 1, item_two["collections"]
    assert "arxiv:2402.00002" not in err, err
    assert "arxiv:2402.00003: its note's section link 'Benchmark-Dataset' matches 2 sections" in err
    assert "Twin List / Benchmarks / Benchmark-Dataset" in err, err
    assert env.item_by_pid("arxiv:2402.00003")["collections"] == [colls["Other"]]
    assert frontmatter(three)["sections"][0] == "[[Benchmark-Dataset]]", "left as typed"


def test_a_typo_fixed_in_the_abstract_keeps_zoteros_paragraphs(env: Env) -> None:
    """Found trying it in Obsidian: the note shows the abstract on one line, so fixing one
    word there sent Zotero the whole abstract with its paragraph breaks removed."""
    item = env.item_by_pid(ONE)
    env.emu.edit_item(item["key"], {"abstractNote": "Para one.\n\nPara two has teh typo."})
    sync(env)
    note = env.note_for(ONE)
    text = note.read_text(encoding="utf-8")
    assert "> Para one. Para two has teh typo." in text, "one line in the note, as designed"
    note.write_text(text.replace("has teh typo", "has the typo"), encoding="utf-8")
    sync(env)
    assert env.item_by_pid(ONE)["abstractNote"] == "Para one.\n\nPara two has the typo."
    assert "nothing to change" in sync(env)
