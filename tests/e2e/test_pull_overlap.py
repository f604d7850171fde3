"""A first pull writes Zotero in a worker thread while it renders the new notes: each new note
waits only for its own paper's outcome. What the user sees must be what the serial pull gave:
a note links to its item only when the item landed whole, a fault that stops the Zotero writes
leaves no note behind and the rerun converges with no duplicate, and a run stopped in the vault
sends no write after it stopped."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, frontmatter, pids_in_extra

N = 120  # papers: several batches of 50, so notes are written while later batches are sent
LAST = f"arxiv:2401.{N:05d}"  # alone in its section, in the last batch


def catalog() -> str:
    lines = ["# Overlap List", "", "## Alignment", ""]
    for i in range(1, N + 1):
        if i == N:
            lines += ["", "## Retrieval", ""]
        lines.append(
            f"+ **\\[2024 EMNLP\\]** Overlap Paper Number {i}: A Study. "
            f"([Paper](https://arxiv.org/abs/2401.{i:05d})) [[Code](https://github.com/lab/r{i})]"
        )
    return "\n".join(lines) + "\n"


def pid(i: int) -> str:
    return f"arxiv:2401.{i:05d}"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"ov": catalog()})


def items_by_pid(env: Env) -> dict[str, dict[str, Any]]:
    items = env.emu.get_items()
    top = {k: d for k, d in items.items() if not d.get("parentItem")}
    counts = Counter(pids_in_extra(top))
    assert all(n == 1 for n in counts.values()), counts.most_common(3)  # no duplicate
    out: dict[str, dict[str, Any]] = {}
    for d in top.values():
        for line in str(d.get("extra") or "").splitlines():
            if line.startswith("pllm-sync-id: "):
                out[line.removeprefix("pllm-sync-id: ")] = d
    return out


def notes_by_pid(env: Env) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in env.papers.glob("*.md"):
        fm = frontmatter(p)
        assert fm["pllm-sync-id"] not in out, p  # one note per paper
        out[fm["pllm-sync-id"]] = fm
    return out


def assert_linked(env: Env, *, but: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Every paper has one note and one item; each note links its own item (``but`` none)."""
    items, notes = items_by_pid(env), notes_by_pid(env)
    assert set(notes) == {pid(i) for i in range(1, N + 1)}
    for p, fm in notes.items():
        if p in but:
            assert "zotero" not in fm, fm
        else:
            assert str(fm["zotero"]).endswith(f"/items/{items[p]['key']}"), (p, fm["zotero"])


def test_a_paper_refused_mid_pull_gets_no_link_and_the_others_their_own(env: Env) -> None:
    """The last paper's collection is deleted in Zotero once the item writes began: Zotero
    refuses that item (409) in the last batch, long after the first notes were rendered."""
    gone: list[str] = []

    def delete_retrieval(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items") and not gone:
            key = next(k for k, c in emu.get_collections().items() if c["name"] == "Retrieval")
            emu.delete_collection(key)
            gone.append(key)

    env.emu.on_request(delete_retrieval)
    try:
        code, out, err = env.run("pull", "--no-progress")
    finally:
        env.emu.on_request(None)
    assert gone and code != 0, (out, err)
    assert "Overlap Paper Number 120" in out + err, (out, err)
    # As when the writes came first: the refused paper's note does not link an item, and
    # every other note links its own.
    assert LAST not in items_by_pid(env)
    assert_linked(env, but={LAST})
    code, out, err = env.run("pull", "--no-progress")  # recreates the collection
    assert code == 0, (out, err)
    assert_linked(env)


def test_a_fault_that_stops_the_zotero_writes_leaves_no_note_and_the_rerun_converges(
    env: Env,
) -> None:
    env.emu.inject(500, count=10, after=1, method="POST", path=r".*/items$")
    code, out, err = env.run("pull", "--no-progress")
    assert code != 0, (out, err)
    assert "HTTP 500" in out + err, (out, err)
    # The notes rendered while Zotero was written were never made durable.
    assert not list(env.papers.glob("*.md")) if env.papers.exists() else True
    env.emu.clear_faults()
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert_linked(env)


def test_a_run_stopped_in_the_vault_sends_no_zotero_write_after_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pllm_sync.vault import store as vstore

    original = vstore.VaultStore.create_note
    calls = {"n": 0}

    def interrupted(self: vstore.VaultStore, *a: Any, **kw: Any) -> vstore.NoteInfo:
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return original(self, *a, **kw)

    monkeypatch.setattr(vstore.VaultStore, "create_note", interrupted)
    code, _, _ = env.run("pull", "--no-progress")
    assert code != 0
    assert not [t for t in threading.enumerate() if t.name == "pllm-zotero-writes"]
    sent = len(env.emu.request_log)
    assert not list(env.papers.glob("*.md")) if env.papers.exists() else True
    monkeypatch.setattr(vstore.VaultStore, "create_note", original)
    assert len(env.emu.request_log) == sent  # nothing went out after the run stopped
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert_linked(env)
