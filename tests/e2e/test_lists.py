"""Following lists end to end (emulator + vault): each list gets its own collection subtree
under the root collection and its own index notes, even when two lists share a title, and
``lists remove`` retires exactly the papers no other list has (tombstones, nothing deleted)."""

from __future__ import annotations

import pytest

from .helpers import Env, NewEnv, frontmatter

ALPHA = (
    "# Awesome Papers\n## Reasoning\n"
    "- **Alpha Only Paper** [[paper](https://arxiv.org/abs/2401.10001)]\n"
    "- **Shared Paper Of Both** [[paper](https://arxiv.org/abs/2401.10002)]\n"
)
BETA = (
    "# Awesome Papers\n## Reasoning\n"
    "| Title | Paper |\n| --- | --- |\n"
    "| Beta Only Paper | [[pdf]](https://arxiv.org/pdf/2401.20001) |\n"
    "| Shared Paper Of Both | [[pdf]](https://arxiv.org/pdf/2401.10002) |\n"
)


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"alpha": ALPHA, "beta": BETA})


def _collection_paths(env: Env) -> set[tuple[str, ...]]:
    cols = {k: v.get("data", v) for k, v in env.emu.get_collections().items()}

    def path(key: str) -> tuple[str, ...]:
        c = cols[key]
        parent = c.get("parentCollection")
        return (*(path(parent) if parent else ()), c["name"])

    return {path(k) for k in cols}


def test_each_list_has_its_own_subtree_and_index_notes_and_remove_retires_only_its_papers(
    env: Env,
) -> None:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    paths = _collection_paths(env)
    assert ("pllm-sync", "Awesome Papers", "Reasoning") in paths
    assert ("pllm-sync", "Awesome Papers (beta)", "Reasoning") in paths
    index = sorted(p.name for p in (env.vault / "Sections").rglob("*.md"))
    assert len(index) == 4, index  # two roots and two Reasoning notes, none shared
    shared = frontmatter(env.note_for("arxiv:2401.10002"))
    assert len(shared["sections"]) == 2

    code, out, err = env.run("lists", "remove", "beta")
    assert code == 0, err
    assert "1 of its 2 papers are in no other list" in out
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert frontmatter(env.note_for("arxiv:2401.20001"))["catalog"] == "removed"
    assert frontmatter(env.note_for("arxiv:2401.10002"))["catalog"] == "listed"
    assert frontmatter(env.note_for("arxiv:2401.10001"))["catalog"] == "listed"
    beta_item = env.item_by_pid("arxiv:2401.20001")
    assert "pllm/removed" in {t["tag"] for t in beta_item["tags"]}
    assert env.items(trashed=True) == {}  # nothing deleted
