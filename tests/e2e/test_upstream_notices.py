"""A list's change to a value the user set is never silent.

Title, venue and the other list fields follow the list: a user's edit already agreed at an
earlier sync is replaced when the list later changes that field (docs/merge.md). Before,
that happened without a word (and ``conflicts`` was empty). Now the run says which value of
the user's was replaced and how to keep it; and an edit not yet synced, which beats the
list's change, is named too.
"""

from __future__ import annotations

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter

LIST = """# Notice List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
"""
A, B = "arxiv:2401.00001", "arxiv:2401.00002"


def _run(env: Env, *args: str) -> str:
    code, out, err = env.run(*args, "--no-progress")
    assert code == 0, (out, err)
    return out + err


def test_a_synced_title_replaced_by_the_list_is_named(new_env: NewEnv) -> None:
    env = new_env({"notice": LIST})
    _run(env, "pull")
    edit_frontmatter(env.note_for(A), title="My Own Title For One")
    _run(env, "sync")
    assert env.item_by_pid(A)["title"] == "My Own Title For One"

    text = env.lists["notice"].read_text(encoding="utf-8")
    env.lists["notice"].write_text(
        text.replace("Synthetic Paper One: A Study", "Synthetic Paper One: The Final Study"),
        encoding="utf-8",
    )
    out = _run(env, "pull")
    # the list's change applies (a list field) ...
    assert frontmatter(env.note_for(A))["title"] == "Synthetic Paper One: The Final Study"
    assert env.item_by_pid(A)["title"] == "Synthetic Paper One: The Final Study"
    # ... and the user is told what of theirs it replaced, and how to keep it
    assert "replacing your 'My Own Title For One'" in out, out
    assert "set it again" in out
    # once: the next run has nothing to say
    assert "replacing your" not in _run(env, "sync")


def test_an_unsynced_edit_that_beats_the_lists_change_is_named(new_env: NewEnv) -> None:
    env = new_env({"notice": LIST})
    _run(env, "pull")
    edit_frontmatter(env.note_for(B), venue="My Venue")
    text = env.lists["notice"].read_text(encoding="utf-8")
    env.lists["notice"].write_text(
        text.replace(
            "**\\[2024 EMNLP\\]** Synthetic Paper Two", "**\\[2025 ICLR\\]** Synthetic Paper Two"
        ),
        encoding="utf-8",
    )
    out = _run(env, "pull")
    assert frontmatter(env.note_for(B))["venue"] == "My Venue"
    assert "the list changed venue to 'ICLR 2025'; your venue 'My Venue' stays" in out, out
