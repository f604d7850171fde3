"""A sync with nothing to do is nearly free: it writes no file, no state row and no
scan-cache row, and asks Zotero one conditional question (the daemon's idle poll) or two
(a one-shot run also checks the key). Edits cost only what they change."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.paths import app_dirs
from pllm_sync.runtime import open_runtime
from pllm_sync.sync.engine import RunOptions, SyncEngine

from .helpers import Env, NewEnv, edit_frontmatter

LIST = """# Quiet List

## Alignment

+ **\\[2024 EMNLP\\]** Quiet Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Quiet Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002)) [[Code](https://github.com/example/two)]

## Retrieval

+ **\\[2024 EMNLP\\]** Quiet Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
ONE = "arxiv:2401.00001"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"quiet": LIST})


def _state_file() -> Path:
    [path] = app_dirs().data.glob("state*.sqlite3")
    return path


def _rows() -> dict[str, list[Any]]:
    """Every state row a run could write (papers with their update stamps, scan cache,
    journal, library versions, conflicts)."""
    with sqlite3.connect(_state_file()) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("papers", "scan_cache", "runs", "libraries", "conflicts")
        }


def _settled(env: Env) -> None:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    code, _, err = env.run("sync", "--no-progress")  # the pull's own notes, checked once
    assert code == 0, err


def test_the_first_sync_after_a_pull_trusts_notes_written_long_before_the_commit(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every note the pull staged at least RACY_NS before its commit is trusted from the
    reading the pull saved: the first sync after it rewrites none of their scan-cache rows
    (a 20,000-paper pull's first sync hashed every note and rewrote 45 MB of rows)."""
    from pllm_sync.vault import store as store_mod

    monkeypatch.setattr(store_mod, "RACY_NS", 1)  # every note was staged before its commit
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    papers = [r for r in _rows()["scan_cache"] if str(r[0]).startswith("Papers/")]
    assert len(papers) == 3
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert [r for r in _rows()["scan_cache"] if str(r[0]).startswith("Papers/")] == papers


def _status_tags(env: Env, pid: str) -> list[str]:
    return sorted(t["tag"] for t in env.item_by_pid(pid)["tags"] if t["tag"].startswith("status/"))


def test_an_edit_of_the_same_size_with_its_old_mtime_put_back_is_synced(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``touch -r``, ``cp -p``, ``rsync -t`` or a restore from backup can put a note's old
    mtime back after an edit; at the same size only its ctime says it changed. The settled
    check and the scan both see it, and the edit reaches Zotero (it once sat unseen, and the
    next change from Zotero then failed on that note at every run)."""
    from pllm_sync.vault import store as store_mod

    monkeypatch.setattr(store_mod, "RACY_NS", 1)  # every reading trusted at once: settles
    _settled(env)
    note = env.note_for(ONE)
    edit_frontmatter(note, status="skimmed")
    old = note.stat().st_mtime_ns - 10_000_000_000  # long ago: the scan trusts its reading
    os.utime(note, ns=(old, old))
    for _ in range(3):  # synced, then no-ops until one leaves the settled mark
        code, _, err = env.run("sync", "--no-progress")
        assert code == 0, err
    assert _status_tags(env, ONE) == ["status/skimmed"]
    with sqlite3.connect(_state_file()) as db:
        assert db.execute("SELECT COUNT(*) FROM settled").fetchone() == (1,)
    st = note.stat()
    text = note.read_text(encoding="utf-8")
    assert text.count("status: skimmed\n") == 1
    note.write_text(text.replace("status: skimmed\n", "status: skipped\n"), encoding="utf-8")
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (note.stat().st_size, note.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert _status_tags(env, ONE) == ["status/skipped"]
    assert "status: skipped\n" in note.read_text(encoding="utf-8")


def test_a_no_op_sync_writes_no_file_and_no_state_row(env: Env) -> None:
    _settled(env)
    files, rows = env.snapshot(), _rows()
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert env.snapshot() == files, "no note or index note rewritten"
    assert _rows() == rows, "no paper, scan-cache or journal row written"
    requests = [(r.method, r.path, r.status) for r in env.emu.request_log]
    assert len(requests) == 1, requests  # one conditional read, answered "not modified"
    assert requests[-1][2] == 304


def test_an_idle_daemon_pass_asks_one_question_and_writes_zero_bytes(env: Env) -> None:
    _settled(env)
    with open_runtime(str(env.config)) as rt:
        rt.state.acquire_lock("watch")
        engine = SyncEngine(rt.config, rt.state, rt.vault, rt.zotero, library_ref=rt.library_ref)
        engine.run(RunOptions(pull_catalog=False, show_progress=False))  # the daemon's first pass
        db = _state_file()
        wal = db.with_name(db.name + "-wal")
        before = {p: p.read_bytes() for p in (db, wal) if p.exists()}
        files = env.snapshot()
        env.emu.clear_log()
        for _ in range(3):  # three idle polls
            engine.run(RunOptions(pull_catalog=False, show_progress=False))
        after = {p: p.read_bytes() for p in (db, wal) if p.exists()}
        rt.state.release_lock()
    assert after == before, "an idle poll writes nothing to the state database"
    assert env.snapshot() == files
    requests = [(r.method, r.path, r.status) for r in env.emu.request_log]
    assert [s for _m, _p, s in requests] == [304, 304, 304], requests


def test_one_edited_note_costs_at_most_three_requests_and_one_write(env: Env) -> None:
    _settled(env)
    edit_frontmatter(env.note_for(ONE), status="read")
    files = env.snapshot()
    env.emu.clear_log()
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    requests = [(r.method, r.path) for r in env.emu.request_log]
    assert len(requests) <= 3, requests
    assert len(env.writes()) == 1, requests
    changed = [k for k, v in env.snapshot().items() if files.get(k) != v]
    assert changed == [], "the note already says what Zotero now holds"


def test_a_quiet_daemon_poll_reads_nothing_else_and_a_zotero_edit_still_lands(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settled(env)
    scans: list[int] = []
    with open_runtime(str(env.config)) as rt:
        rt.state.acquire_lock("watch")
        engine = SyncEngine(rt.config, rt.state, rt.vault, rt.zotero, library_ref=rt.library_ref)
        original = rt.vault.scan

        def counting_scan(*a: Any, **kw: Any) -> Any:
            scans.append(1)
            return original(*a, **kw)

        monkeypatch.setattr(rt.vault, "scan", counting_scan)
        poll = RunOptions(pull_catalog=False, show_progress=False, if_zotero_changed=True)
        env.emu.clear_log()
        engine.run(poll)
        assert [r.status for r in env.emu.request_log] == [304]
        assert scans == [], "a quiet poll does not even look at the vault"

        item = env.item_by_pid(ONE)
        env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "status/read"}]})
        engine.run(poll)
        rt.state.release_lock()
    assert scans == [1]
    assert "status: read" in env.note_for(ONE).read_text(encoding="utf-8")
