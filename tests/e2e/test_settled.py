"""The settled mark (``sync/settled.py``): a sync with nothing to do after a sync that decided
nothing skips deciding, and any change on any side (a note, an item, the state, the config)
still gets the full decision. Each test drives the CLI against the emulator."""

from __future__ import annotations

import importlib.metadata
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.paths import app_dirs
from pllm_sync.sync.decide import decide
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, edit_frontmatter, frontmatter, make_env

LIST = """# Settled List

## Alignment

+ **\\[2024 EMNLP\\]** Settled Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Settled Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002)) [[Code](https://github.com/example/two)]

## Retrieval

+ **\\[2024 EMNLP\\]** Settled Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
ONE, TWO, THREE = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"


@pytest.fixture
def env(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Env]:
    yield make_env(
        tmp_path, zotero_emulator, capsys, monkeypatch, {"settled": LIST}, max_delete_percent=100
    )


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the engine decided a run (the pure ``decide`` pass)."""
    calls: list[int] = []

    def counting(views: Any, cfg: Any) -> Any:
        views = list(views)
        calls.append(len(views))
        return decide(views, cfg)

    monkeypatch.setattr("pllm_sync.sync.engine.decide", counting)
    return calls


def _state() -> Path:
    [path] = app_dirs().data.glob("state*.sqlite3")
    return path


def _mark() -> str | None:
    with sqlite3.connect(_state()) as db:
        row = db.execute("SELECT fingerprint FROM settled").fetchone()
    return None if row is None else str(row[0])


def _sync(env: Env, *args: str) -> str:
    code, out, err = env.run("sync", "--no-progress", *args)
    assert code == 0, (out, err)
    return out


def _age_vault(env: Env) -> None:
    """Make every file old enough for its timestamp to be trusted (as after a minute)."""
    past = time.time() - 3600
    for p in env.vault.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))


def _settle(env: Env) -> None:
    """Bring the env to a settled state: every side agreed and the mark left."""
    _age_vault(env)
    _sync(env)  # re-reads the aged notes: their cache rows change, so no mark yet
    _sync(env)  # decides nothing and writes nothing: leaves the mark
    assert _mark() is not None


@pytest.fixture
def settled(env: Env) -> Env:
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    _settle(env)
    return env


def test_a_settled_no_op_sync_decides_nothing_and_writes_nothing(
    settled: Env, decisions: list[int]
) -> None:
    env = settled
    db = _state()
    wal = db.with_name(db.name + "-wal")

    def state_bytes() -> tuple[bytes, bytes]:
        return db.read_bytes(), wal.read_bytes() if wal.exists() else b""

    before = state_bytes()
    files = env.snapshot()
    env.emu.clear_log()
    out = _sync(env)
    assert "nothing to change" in out
    assert decisions == [], "nothing was decided: every input is the settled run's"
    assert [r.status for r in env.emu.request_log] == [304]
    assert state_bytes() == before
    assert env.snapshot() == files


def test_a_note_written_within_the_racy_window_never_settles(env: Env) -> None:
    """A file modified less than two seconds before the scan could change again within
    the same timestamp tick: a run that trusted no reading of it leaves no mark."""
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    _sync(env)
    _sync(env)
    assert _mark() is None


# --- changes on any side are decided in full -----------------------------------------------


def test_a_note_edit_after_settling_reaches_zotero(settled: Env, decisions: list[int]) -> None:
    env = settled
    edit_frontmatter(env.note_for(ONE), status="read")
    _sync(env)
    assert decisions, "the run decided"
    assert {"tag": "status/read"} in env.item_by_pid(ONE)["tags"]


def test_a_zotero_edit_after_settling_reaches_the_note(settled: Env) -> None:
    env = settled
    item = env.item_by_pid(TWO)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "status/read"}]})
    _sync(env)
    assert frontmatter(env.note_for(TWO))["status"] == "read"


def test_an_item_trashed_in_zotero_after_settling_trashes_the_note(settled: Env) -> None:
    env = settled
    env.emu.trash_item(env.item_by_pid(THREE)["key"])
    _sync(env)
    assert not [p for p in env.papers.glob("*.md") if THREE in p.read_text(encoding="utf-8")]
    trash = env.vault / ".pllm-sync-trash"
    assert any(THREE in p.read_text(encoding="utf-8") for p in trash.rglob("*.md"))


def test_a_note_deleted_after_settling_trashes_the_item(settled: Env) -> None:
    env = settled
    key = env.item_by_pid(ONE)["key"]
    env.note_for(ONE).unlink()
    _sync(env)
    assert key in env.items(trashed=True)


def test_a_hand_added_note_after_settling_becomes_an_item(settled: Env) -> None:
    env = settled
    (env.papers / "Hand Added.md").write_text("---\ntitle: Hand Added\narxiv: 2310.10100\n---\n")
    _sync(env)
    assert env.item_by_pid("arxiv:2310.10100")["title"] == "Hand Added"


def test_a_note_moved_after_settling_is_followed(settled: Env) -> None:
    env = settled
    note = env.note_for(TWO)
    moved = env.vault / "Elsewhere" / note.name
    moved.parent.mkdir()
    note.rename(moved)
    _sync(env)
    with sqlite3.connect(_state()) as db:
        (path,) = db.execute("SELECT note_path FROM papers WHERE pllm_id = ?", (TWO,)).fetchone()
    assert path == f"Elsewhere/{note.name}"
    assert not env.items(trashed=True), "a moved note is not a deleted one"


def test_a_library_switch_after_settling_fills_the_new_library(settled: Env) -> None:
    env = settled
    other = ZoteroEmulator(user_id=2, api_key=env.emu.api_key).start()
    try:
        data = yaml.safe_load(env.config.read_text())
        data["zotero"] = {**data["zotero"], "library_id": 2, "endpoint": other.base_url}
        env.config.write_text(yaml.safe_dump(data))
        _sync(env)
        items = [d for d in other.get_items().values() if d["itemType"] != "note"]
        assert len([d for d in items if "pllm-sync-id" in d.get("extra", "")]) == 3
    finally:
        other.stop()


def test_a_policy_change_after_settling_is_decided_with_the_new_policy(
    settled: Env, decisions: list[int]
) -> None:
    """A config change alone means other inputs: the mark does not hold (here the note of
    an item trashed in Zotero stays, as ``on_zotero_trash: ignore`` says)."""
    env = settled
    data = yaml.safe_load(env.config.read_text())
    data["sync"]["on_zotero_trash"] = "ignore"
    env.config.write_text(yaml.safe_dump(data))
    _sync(env)
    assert decisions, "a changed config is decided in full"
    env.emu.trash_item(env.item_by_pid(THREE)["key"])
    _sync(env)
    assert env.note_for(THREE).exists()


def test_any_state_write_drops_the_mark(settled: Env) -> None:
    """Whatever writes the state (another command, a future code path), SQLite's triggers
    drop the mark in the same statement."""
    statements = [
        "UPDATE papers SET zotero_record = NULL WHERE pllm_id = 'arxiv:2401.00001'",
        "DELETE FROM scan_cache WHERE relpath = (SELECT MIN(relpath) FROM scan_cache)",
        # (resolved: an open one makes every run exit 7 until the user settles it)
        "INSERT INTO conflicts (pllm_id, field, created_at, resolved_at) VALUES ('x', 'title', 0, 0)",
        "UPDATE libraries SET since = since - 1",
        "DELETE FROM collections WHERE rowid = (SELECT MIN(rowid) FROM collections)",
    ]
    for sql in statements:
        _settle(settled)
        with sqlite3.connect(_state()) as db:
            db.execute(sql)
        assert _mark() is None, sql


# --- the mark never changes a plan ----------------------------------------------------------


def _plan(env: Env) -> Any:
    code, out, err = env.run("sync", "--dry-run", "--json", "--no-progress")
    assert code in (0, 6), (code, out, err)  # 6: conflicts would need a decision
    return json.loads(out)["plan"]


def _plan_with_and_without_the_mark(env: Env, chosen: tuple[str, ...]) -> Any:
    """The dry-run plan with the settled mark as it stands, asserted equal to the plan
    decided in full once the mark is dropped."""
    with_mark = _plan(env)
    with sqlite3.connect(_state()) as db:
        db.execute("DELETE FROM settled")
    assert with_mark == _plan(env), chosen
    return with_mark


def _mutations(env: Env, rng: random.Random) -> dict[str, Callable[[], bool]]:
    """Changes a user, Zotero or another command could make; each returns whether the full
    decision must plan an action for it (a sanity check that the mutation did something)."""
    statuses = iter(["reading", "read", "skimmed", "to-read", "done"])

    def note_edit() -> bool:
        edit_frontmatter(env.note_for(ONE), status=next(statuses))
        return True

    def note_touch() -> bool:
        p = env.note_for(TWO)
        os.utime(p, (time.time() - 7200, time.time() - 7200))
        return False

    def other_file() -> bool:
        (env.vault / f"Inbox {rng.random()}.md").write_text("just a note\n")
        return False

    def item_edit() -> bool:
        item = env.item_by_pid(TWO)
        tags = [t for t in item["tags"] if not t["tag"].startswith("status/")]
        env.emu.edit_item(item["key"], {"tags": [*tags, {"tag": f"status/{next(statuses)}"}]})
        return True

    def library_bump() -> bool:
        env.emu.bump_library_version()
        return False

    def state_edit() -> bool:
        with sqlite3.connect(_state()) as db:
            db.execute("UPDATE papers SET note_sha256 = 'x' WHERE pllm_id = ?", (THREE,))
        return False

    def policy() -> bool:
        data = yaml.safe_load(env.config.read_text())
        data["sync"]["conflict"] = rng.choice(["ask", "zotero", "vault", "newest"])
        env.config.write_text(yaml.safe_dump(data))
        return False

    def note_delete() -> bool:  # once: the paper is gone afterwards
        env.note_for(THREE).unlink()
        return True

    def item_trash() -> bool:  # once
        env.emu.trash_item(env.item_by_pid(ONE)["key"])
        return True

    return {
        f.__name__: f
        for f in (note_edit, note_touch, other_file, item_edit, library_bump, state_edit, policy)
    } | {"note_delete": note_delete, "item_trash": item_trash}


def test_the_plan_with_the_mark_equals_the_plan_without_it(settled: Env) -> None:
    """Property: from a settled state, after any mix of changes, the dry run's plan with
    the mark present equals the plan decided in full (the mark dropped by hand)."""
    env = settled
    rng = random.Random(14)
    mutations = _mutations(env, rng)
    once = ["note_delete", "item_trash"]  # the paper is gone afterwards
    repeatable = sorted(set(mutations) - set(once))
    rng.shuffle(repeatable)
    trials: list[tuple[str, ...]] = [()]  # nothing changed: the mark holds
    trials += [(name,) for name in repeatable]  # each change alone
    trials.append(tuple(repeatable[:2]))  # and mixed
    trials += [(name,) for name in once]
    for chosen in trials:
        acts = [mutations[name]() for name in chosen]
        with_mark = _plan_with_and_without_the_mark(env, chosen)
        assert bool(with_mark["actions"]) >= any(acts), (chosen, with_mark)
        _sync(env)
        _settle(env)
    assert set(sum(trials, ())) == set(mutations), "every kind of change was tried"


def test_a_settled_no_op_sync_loads_none_of_the_heavy_stacks(settled: Env) -> None:
    """What a no-op never uses is never imported (checked by module, not by timing)."""
    script = (
        "import sys, json, contextlib, io\n"
        "from pllm_sync.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['--config', {str(settled.config)!r}, 'sync', '--no-progress'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PLLM_SYNC_CONFIG"}
    settled.emu.clear_log()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout
    code, loaded = json.loads(out.splitlines()[-1])
    assert code == 0
    assert [r.status for r in settled.emu.request_log] == [304]
    heavy: tuple[str, ...] = ("pyzotero", "markdownify", "bs4", "markdown_it", "tqdm")
    heavy += ("pllm_sync.catalog", "importlib.metadata")
    heavy += ("httpx2", "httpcore2", "anyio", "h11", "truststore")  # one GET: http.client
    assert not [m for m in loaded if m.split(".")[0] in heavy or m.startswith(heavy)]
    assert "pllm_sync.metadata.loader" not in loaded


def test_a_lean_answer_other_than_304_is_asked_again_through_the_client(
    settled: Env, decisions: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settled check's lean request (``zotero/lean.py``) takes only a clean 304: a 5xx
    or a timeout is asked again through the normal client, whose 304 still settles the run,
    and a 200 (the library moved) is read and decided in full through the normal client."""
    env = settled
    items = f"/users/{env.emu.user_id}/items"
    env.emu.clear_log()
    env.emu.inject(503, count=1, method="GET", path=items)
    assert "nothing to change" in _sync(env)
    assert [r.status for r in env.emu.request_log] == [503, 304]
    assert decisions == []
    lean, client = env.emu.request_log
    assert lean.query == client.query and lean.path == client.path  # the same question
    for name in ("User-Agent", "Zotero-API-Version", "Authorization", "If-Modified-Since-Version"):
        assert lean.request_headers.get(name) == client.request_headers[name], name
    assert lean.request_headers["User-Agent"] == "Pyzotero/" + importlib.metadata.version(
        "pyzotero"
    )

    monkeypatch.setattr("pllm_sync.zotero.lean.TIMEOUT", 0.3)  # the client's stays 30 s
    env.emu.clear_log()
    env.emu.inject(200, count=1, method="GET", path=items, delay=1.0)  # answered too late
    assert "nothing to change" in _sync(env)
    assert decisions == []
    deadline = time.monotonic() + 10  # the late request is logged once the server answers it
    while len(env.emu.request_log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.status for r in env.emu.request_log] == [304, 304]  # abandoned, then asked again

    item = env.item_by_pid(TWO)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "status/read"}]})
    env.emu.clear_log()
    _sync(env)
    assert [r.status for r in env.emu.request_log[:2]] == [200, 200]  # lean, then the client
    assert decisions, "the run decided"
    assert frontmatter(env.note_for(TWO))["status"] == "read"


def test_a_run_that_warns_never_settles_so_the_warning_repeats(
    settled: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """A hand-added note for a paper that already has one is reported on every run."""
    env = settled
    extra = env.papers / "My copy of paper two.md"
    extra.write_text('---\ntitle: My copy\narxiv: "2401.00002"\n---\nthoughts\n')
    _age_vault(env)
    for _ in range(3):
        caplog.clear()
        _, _, err = env.run("sync", "--no-progress")
        assert extra.name in caplog.text + err
    assert _mark() is None


# --- notes evicted to the cloud (iCloud's "Optimize Mac Storage") ---------------------------


def _evict(note: Path) -> Path:
    """What iCloud does to free space: ``X.md`` becomes the hidden ``.X.md.icloud``."""
    stub = note.with_name(f".{note.name}.icloud")
    note.rename(stub)
    return stub


def _download(stub: Path) -> Path:
    note = stub.with_name(stub.name[1 : -len(".icloud")])
    stub.rename(note)
    return note


@pytest.fixture
def evicted(settled: Env) -> tuple[Env, list[Path]]:
    """A settled vault, then two of its three notes evicted, and synced until settled again
    (the first run drops the evicted notes' scan-cache rows, so it leaves no mark)."""
    env = settled
    stubs = [_evict(env.note_for(ONE)), _evict(env.note_for(TWO))]
    _sync(env)
    _sync(env)
    assert _mark() is not None, "a run whose only warnings are evicted notes settles"
    return env, stubs


def _says_evicted(err: str, stubs: list[Path]) -> bool:
    return err.count("is not downloaded") == len(stubs) and all(s.name in err for s in stubs)


def test_a_vault_with_evicted_notes_settles_and_still_says_which(
    evicted: tuple[Env, list[Path]], decisions: list[int]
) -> None:
    env, stubs = evicted
    db = _state()
    wal = db.with_name(db.name + "-wal")

    def state_bytes() -> tuple[bytes, bytes]:
        return db.read_bytes(), wal.read_bytes() if wal.exists() else b""

    before, files = state_bytes(), env.snapshot()
    for args in ((), ("--json",)):  # the probe's settled check, then the engine's own
        env.emu.clear_log()
        code, out, err = env.run("sync", "--no-progress", *args)
        assert code == 0, (out, err)
        assert decisions == [], "nothing was decided: every input is the settled run's"
        assert [r.status for r in env.emu.request_log] == [304]
        assert state_bytes() == before and env.snapshot() == files
        if args:
            warnings = json.loads(out)["plan"]["warnings"]
            assert _says_evicted("\n".join(warnings), stubs), warnings
        else:
            assert "nothing to change" in out
            assert _says_evicted(err, stubs), err  # the notice is not lost
    assert not env.items(trashed=True), "evicted notes never trash their items"


def test_a_note_downloaded_again_unsettles(
    evicted: tuple[Env, list[Path]], decisions: list[int]
) -> None:
    env, stubs = evicted
    _download(stubs[0])
    _, _, err = env.run("sync", "--no-progress")
    assert decisions, "the run decided"
    assert _says_evicted(err, stubs[1:]), err


def test_a_note_evicted_after_settling_unsettles(
    evicted: tuple[Env, list[Path]], decisions: list[int]
) -> None:
    env, stubs = evicted
    stubs.append(_evict(env.note_for(THREE)))
    _, _, err = env.run("sync", "--no-progress")
    assert decisions, "the run decided"
    assert _says_evicted(err, stubs), err
    assert not env.items(trashed=True)


def test_a_placeholder_come_or_gone_unsettles(
    evicted: tuple[Env, list[Path]], decisions: list[int]
) -> None:
    """A placeholder standing for no known note (a note renamed on another device, then
    evicted here) coming or going is a change too; so is something at an evicted note's path
    that is no note (a folder of its name)."""
    env, stubs = evicted
    stray = env.papers / ".Renamed elsewhere.md.icloud"
    for change in (stray.touch, stray.unlink, stubs[0].with_name(stubs[0].name[1:-7]).mkdir):
        assert _mark() is not None
        change()
        _sync(env)
        assert decisions, change
        decisions.clear()
        _sync(env)
        _sync(env)


def test_a_placeholder_touched_by_the_cloud_stays_settled(
    evicted: tuple[Env, list[Path]], decisions: list[int]
) -> None:
    """A placeholder's own bytes and times (iCloud rewrites it when the note changes on
    another device) are no input: a note only a placeholder stands for is left alone
    whatever it holds, so the mark holds, and the plan is the one decided in full."""
    env, stubs = evicted
    past = time.time() - 60
    os.utime(stubs[0], (past, past))
    stubs[1].write_bytes(b"bplist00 changed elsewhere")
    with_mark = _plan(env)
    assert decisions == []
    with sqlite3.connect(_state()) as db:
        db.execute("DELETE FROM settled")
    assert with_mark == _plan(env)
    assert decisions


def test_the_plan_with_the_mark_equals_the_plan_without_it_with_evicted_notes(
    evicted: tuple[Env, list[Path]],
) -> None:
    """The property of ``test_the_plan_with_the_mark_equals_the_plan_without_it`` from a
    vault settled with evicted notes, for changes of which notes are evicted."""
    env, stubs = evicted
    stray = env.papers / ".Renamed elsewhere.md.icloud"
    gone: list[Path] = list(stubs)  # evicted, oldest first
    here: list[Path] = [env.note_for(THREE)]
    statuses = iter(["reading", "read", "skimmed"])

    def download() -> bool:
        here.append(_download(gone.pop(0)))
        return False  # the note comes back as it was: nothing to do

    def evict() -> bool:
        gone.append(_evict(here.pop(0)))
        return False

    def stray_placeholder() -> bool:
        if stray.exists():
            stray.unlink()
        else:
            stray.touch()
        return False

    def placeholder_touch() -> bool:
        os.utime(gone[0], (time.time() - 30, time.time() - 30))
        return False

    def note_edit() -> bool:
        edit_frontmatter(here[0], status=next(statuses))
        return True

    mutations = {
        f.__name__: f for f in (download, evict, stray_placeholder, placeholder_touch, note_edit)
    }
    trials: list[tuple[str, ...]] = [(), *[(name,) for name in mutations]]
    trials += [("download", "evict"), ("evict", "stray_placeholder"), ("download", "download")]
    for chosen in trials:
        acts = [mutations[name]() for name in chosen]
        with_mark = _plan_with_and_without_the_mark(env, chosen)
        assert bool(with_mark["actions"]) >= any(acts), (chosen, with_mark)
        assert sum("is not downloaded" in w for w in with_mark["warnings"]) == len(gone), chosen
        _sync(env)
        _settle(env)
