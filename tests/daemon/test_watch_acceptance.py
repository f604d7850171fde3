"""Acceptance: a real ``pllm-sync watch`` subprocess against the emulator (streaming API
included) and a temporary vault, observed through Zotero, the files and the local API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.config import load_config
from pllm_sync.daemon.discovery import daemon_file

from .harness import (
    Daemon,
    Sandbox,
    make_catalog,
    since,
    start_daemon,
    wait_for,
    write_config,
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox.start()
    sb.stream.retry_ms = 200
    try:
        yield sb
    finally:
        sb.stop()


def items(sb: Sandbox, *, trashed: bool = False) -> dict[str, dict[str, Any]]:
    return {
        k: d
        for k, d in sb.emu.get_items(include_trashed=True).items()
        if d["itemType"] not in ("note", "attachment") and bool(d.get("deleted")) == trashed
    }


def item_for(sb: Sandbox, arxiv: str) -> dict[str, Any]:
    [found] = [d for d in items(sb).values() if arxiv in str(d.get("url", ""))]
    return found


def tags(item: dict[str, Any]) -> set[str]:
    return {t["tag"] for t in item.get("tags", [])}


def note(vault: Path, i: int) -> Path:
    [found] = list(vault.rglob(f"M{i} - *.md"))
    return found


def set_status(path: Path, status: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = [f"status: {status}" if ln.startswith("status:") else ln for ln in text.split("\n")]
    path.write_text("\n".join(lines), encoding="utf-8")


def settle(d: Daemon, after: str | None, quiet: float = 1.0) -> str:
    """Wait for the passes an edit causes, then make sure no further pass follows (the
    daemon's own writes must not wake it). Returns the newest run's id."""
    runs = d.wait_idle(after)
    newest = str(runs[0]["id"])
    time.sleep(quiet)
    later = d.runs()
    extra = [(r["reason"], r["applied"], r["plan"]) for r in since(later, newest)]
    assert not extra, extra
    return newest


@contextmanager
def running(cfg: Path, emu: Any) -> Iterator[Daemon]:
    """A ``watch`` started on ``cfg``, killed when the block ends."""
    d = start_daemon(cfg, emu)
    try:
        yield d
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(10)


@pytest.fixture
def daemon(tmp_path: Path, sandbox: Sandbox) -> Iterator[Daemon]:
    cat = make_catalog(tmp_path / "list.md", 6)
    cfg = write_config(tmp_path, sandbox.emu, cat, sandbox.stream.url)
    with running(cfg, sandbox.emu) as d:
        yield d


def test_vault_saves_moves_and_deletes_reach_zotero_without_echo_passes(
    daemon: Daemon, sandbox: Sandbox
) -> None:
    vault = daemon.root / "vault"
    done = settle(daemon, None)
    assert len(items(sandbox)) == 6

    # an in-place save
    set_status(note(vault, 0), "read")
    wait_for(lambda: "status/read" in tags(item_for(sandbox, "2401.00000")))
    done = settle(daemon, done)
    last = daemon.runs()[0]
    assert last["reason"] == "vault change" and last["applied"] == {"zotero.update": 1}

    # an editor's save: write a temp file, then rename it over the note
    n1 = note(vault, 1)
    tmp = n1.with_name(".M1.md.tmp")
    tmp.write_text(n1.read_text(encoding="utf-8").replace("status:", "status: reading", 1))
    os.replace(tmp, n1)
    wait_for(lambda: "status/reading" in tags(item_for(sandbox, "2401.00001")))
    done = settle(daemon, done)

    # a move to another folder: the same paper, no new item, the API knows the new path
    n2 = note(vault, 2)
    (vault / "Reading").mkdir()
    moved = vault / "Reading" / n2.name
    os.replace(n2, moved)
    wait_for(lambda: daemon.get("/v1/papers/arxiv:2401.00002")["note_path"] == f"Reading/{n2.name}")
    done = settle(daemon, done)
    assert len(items(sandbox)) == 6 and not items(sandbox, trashed=True)

    # a delete: the item goes to Zotero's trash (sync.on_vault_delete: zotero-trash)
    note(vault, 3).unlink()
    wait_for(lambda: len(items(sandbox, trashed=True)) == 1)
    settle(daemon, done)
    assert len(items(sandbox)) == 5


def test_an_edit_in_a_vault_folder_put_back_by_a_sync_tool_reaches_zotero(
    daemon: Daemon, sandbox: Sandbox
) -> None:
    """The idle daemon trusts its watcher instead of walking the vault every few polls; a
    vault folder replaced whole (iCloud or a drive putting back its copy, an edit in it made
    elsewhere) gives the old watches no event, so the daemon must notice and scan."""
    vault = daemon.root / "vault"
    done = settle(daemon, None)
    copy = daemon.root / "vault.copy"
    shutil.copytree(vault, copy)
    set_status(copy / note(vault, 4).relative_to(vault), "read")
    os.replace(vault, daemon.root / "vault.old")
    os.replace(copy, vault)
    wait_for(lambda: "status/read" in tags(item_for(sandbox, "2401.00004")))
    reasons = [r["reason"] for r in since(daemon.wait_idle(done), done)]
    assert any("watcher restarted" in r for r in reasons), reasons
    assert len(items(sandbox)) == 6

    set_status(note(vault, 5), "skimmed")  # the new folder is watched: an edit is an event
    wait_for(lambda: "status/skimmed" in tags(item_for(sandbox, "2401.00005")))


def test_a_note_put_back_to_bytes_the_daemon_once_wrote_is_the_users_edit(
    daemon: Daemon, sandbox: Sandbox
) -> None:
    """An undo, a revert or a restore from a copy can give a note exactly the bytes the
    daemon wrote there earlier. Once the note held anything else, those bytes are the
    user's: the daemon once dismissed them as its own write until its next full pass."""
    vault = daemon.root / "vault"
    done = settle(daemon, None)
    for i in (0, 1):  # a change in Zotero: the daemon writes both notes
        item = item_for(sandbox, f"2401.0000{i}")
        sandbox.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "status/read"}]})
    wait_for(lambda: all("status: read" in note(vault, i).read_text() for i in (0, 1)))
    done = settle(daemon, done)
    ours = note(vault, 0).read_bytes()

    # an edit, synced; then an undo back to the daemon's bytes
    set_status(note(vault, 0), "reading")
    wait_for(lambda: "status/reading" in tags(item_for(sandbox, "2401.00000")))
    done = settle(daemon, done)
    note(vault, 0).write_bytes(ours)
    wait_for(lambda: "status/read" in tags(item_for(sandbox, "2401.00000")))
    assert "status/reading" not in tags(item_for(sandbox, "2401.00000"))
    done = settle(daemon, done)

    # deleted (the item goes to the trash), then restored from a copy the user kept
    one = note(vault, 1)
    kept = one.read_bytes()
    one.unlink()
    wait_for(lambda: len(items(sandbox, trashed=True)) == 1)
    done = settle(daemon, done)
    one.write_bytes(kept)
    wait_for(lambda: not items(sandbox, trashed=True))
    assert "status/read" in tags(item_for(sandbox, "2401.00001"))
    settle(daemon, done)
    assert len(items(sandbox)) == 6


def test_zotero_edits_arrive_by_stream_and_by_poll_when_the_stream_is_cut(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    cat = make_catalog(tmp_path / "list.md", 4)
    cfg = write_config(
        tmp_path, sandbox.emu, cat, sandbox.stream.url, watch={"zotero_poll_seconds": 1}
    )
    d = start_daemon(cfg, sandbox.emu)
    try:
        vault = tmp_path / "vault"
        done = settle(d, None)
        wait_for(lambda: d.get("/v1/status")["daemon"]["stream"]["connected"])
        item = item_for(sandbox, "2401.00000")
        sandbox.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "by-stream"}]})
        wait_for(lambda: "by-stream" in note(vault, 0).read_text())
        runs = d.wait_idle(done)
        assert runs[0]["reason"] == "zotero change", "the stream, not a poll, brought it"
        done = runs[0]["id"]

        sandbox.stream.cut(refuse=True)
        wait_for(lambda: not d.get("/v1/status")["daemon"]["stream"]["connected"])
        item = item_for(sandbox, "2401.00001")
        sandbox.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "by-poll"}]})
        wait_for(lambda: "by-poll" in note(vault, 1).read_text())
        reasons = [r["reason"] for r in d.wait_idle(done)]
        assert "zotero poll" in reasons[0]
    finally:
        d.stop()


def test_api_refuses_strangers_and_status_finds_the_daemon(
    daemon: Daemon, sandbox: Sandbox
) -> None:
    assert daemon.request("GET", "/v1/status", auth=False)[0] == 401
    assert (
        daemon.request("GET", "/v1/status", headers={"Authorization": "Bearer x"}, auth=False)[0]
        == 401
    )
    assert daemon.request("GET", "/v1/status", headers={"Origin": "https://evil.example"})[0] == 403
    assert daemon.request("GET", "/v1/status", headers={"Host": "evil.example"})[0] == 421

    out = subprocess.run(
        [sys.executable, "-m", "pllm_sync.cli", "--config", str(daemon.config), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(out.stdout)["daemon"]
    assert info == {
        "running": True,
        "pid": daemon.proc.pid,
        "api_url": daemon.url,
        "api_token_file": daemon.info["api_token_file"],
    }
    # a second daemon on the same vault and library is refused by the OS lock
    second = subprocess.run(
        [sys.executable, "-m", "pllm_sync.cli", "--config", str(daemon.config), "watch"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PLLM_SYNC_ZOTERO_API_KEY": sandbox.emu.api_key},
    )
    assert second.returncode == 6 and "another pllm-sync (watch" in second.stderr

    assert daemon.stop(signal.SIGINT) == 130
    assert not daemon_file(load_config(daemon.config)).exists(), "daemon.json goes on exit"


def test_api_sync_run_and_events(daemon: Daemon) -> None:
    """A front end's view: it reads the event stream with fetch() and the bearer header,
    starts a pass, and sees it queued, started, progressing and done, in id order."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    seen: list[dict[str, Any]] = []
    ready = threading.Event()
    target: list[str] = []

    def run_of(e: dict[str, Any]) -> str | None:
        r = e.get("run")
        return str(r["id"]) if isinstance(r, dict) else r

    def reader() -> None:
        u = urlsplit(daemon.url)
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=30)
        conn.request("GET", "/v1/events", headers={"Authorization": f"Bearer {daemon.token}"})
        resp = conn.getresponse()
        ready.set()
        current: dict[str, Any] = {}
        while True:
            line = resp.fp.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("data: "):
                current.update(json.loads(line[6:]))
            elif not line and "id" in current:
                seen.append(current)
                if current["type"] == "run.done" and target and run_of(current) == target[0]:
                    break
                current = {}
        conn.close()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    ready.wait(10)
    status, run, _ = daemon.request("POST", "/v1/sync", {"dry_run": True})
    assert status == 202
    target.append(run["id"])
    t.join(30)
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ours = [e["type"] for e in seen if run_of(e) == run["id"]]
    assert ours[:2] == ["run.queued", "run.started"], ours
    assert "run.progress" in ours and ours[-1] == "run.done"
    done = daemon.get(f"/v1/runs/{run['id']}")
    assert done["status"] == "done"
    assert done["plan"]["counts"] == {"conflicts": 0}, "nothing to do after the first pass"


def _bulk_edit(vault: Path, n: int, status: str) -> None:
    for i in range(n):
        set_status(note(vault, i), status)


@pytest.mark.slow  # ~8 s: 500 notes created, then edited
def test_500_notes_edited_at_once_make_one_batched_pass(tmp_path: Path, sandbox: Sandbox) -> None:
    n = 500
    cat = make_catalog(tmp_path / "list.md", n, sections=5)
    cfg = write_config(tmp_path, sandbox.emu, cat, sandbox.stream.url)
    d = start_daemon(cfg, sandbox.emu, timeout=60)
    try:
        vault = tmp_path / "vault"
        done = settle(d, None)
        sandbox.emu.clear_log()
        _bulk_edit(vault, n, "skimmed")
        wait_for(
            lambda: all("status/skimmed" in tags(i) for i in items(sandbox).values()), timeout=60
        )
        new = since(d.wait_idle(done, timeout=60), done)
        updated = sum((r["applied"] or {}).get("zotero.update", 0) for r in new)
        assert updated == n and len(new) <= 2, [(r["reason"], r["applied"]) for r in new]
        writes = [r for r in sandbox.emu.request_log if r.method == "POST"]
        assert len(writes) <= n // 50 + 2, "batched 50 per request"
    finally:
        d.stop()


def test_kill_9_mid_batch_then_restart_converges_without_duplicates(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    n = 120
    cat = make_catalog(tmp_path / "list.md", n, sections=3)
    cfg = write_config(tmp_path, sandbox.emu, cat, sandbox.stream.url)
    d = start_daemon(cfg, sandbox.emu, timeout=60)
    vault = tmp_path / "vault"
    try:
        settle(d, None)
        # Slow Zotero down so the pass is surely mid-batch when it is killed.
        sandbox.emu.on_request(
            lambda emu, method, path: time.sleep(0.3) if method == "POST" else None
        )
        _bulk_edit(vault, n, "read")
        wait_for(lambda: any(r.method == "POST" for r in sandbox.emu.request_log[-5:]), timeout=30)
    finally:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        sandbox.emu.on_request(None)
    partial = sum("status/read" in tags(i) for i in items(sandbox).values())
    assert partial < n, "the kill landed mid-batch"

    d2 = start_daemon(cfg, sandbox.emu, timeout=60)  # the OS lock died with the process
    try:
        wait_for(lambda: all("status/read" in tags(i) for i in items(sandbox).values()), timeout=60)
        d2.wait_idle(None, timeout=60)
        live = items(sandbox)
        assert len(live) == n and not items(sandbox, trashed=True), "no duplicates, none lost"
        assert len(list(vault.rglob("M* - *.md"))) == n
        assert all("status: read" in note(vault, i).read_text() for i in range(n))
    finally:
        d2.stop()


def test_a_move_a_cloud_sync_delivers_as_a_deletion_first_trashes_nothing(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """Another device moved a note into a folder; the cloud sync brings the old path's
    deletion here first and the new file seconds later. Without a grace the daemon trashed
    the item in between, and the other device then moved its note (the user's words) into
    the vault's hidden trash. With ``watch.delete_grace_seconds`` the deletion waits; a
    note that stays gone is still taken for deleted once the grace is over."""
    cat = make_catalog(tmp_path / "list.md", 4)
    grace = 4.0
    cfg = write_config(
        tmp_path,
        sandbox.emu,
        cat,
        sandbox.stream.url,
        watch={"delete_grace_seconds": grace},
        sync={"max_delete_percent": 100},  # one of four papers
    )
    with running(cfg, sandbox.emu) as d:
        vault = d.root / "vault"
        settle(d, None)
        n0 = note(vault, 0)
        held = n0.read_bytes()
        n0.unlink()  # the deletion arrives...
        time.sleep(grace / 2)  # ... a pass runs meanwhile (debounce 0.3 s) and waits
        assert not items(sandbox, trashed=True), "trashed before the grace was over"
        (vault / "Reading").mkdir()
        (vault / "Reading" / n0.name).write_bytes(held)  # ... then the moved file
        wait_for(lambda: d.get("/v1/papers/arxiv:2401.00000")["note_path"] == f"Reading/{n0.name}")
        time.sleep(grace)  # past the grace: nothing is trashed late either
        assert not items(sandbox, trashed=True)
        assert len(items(sandbox)) == 4

        # a real deletion: no event follows it, and the item goes to the trash after the
        # grace (the loop runs a pass for it)
        started = time.monotonic()
        note(vault, 1).unlink()
        wait_for(lambda: len(items(sandbox, trashed=True)) == 1, timeout=grace * 4)
        assert time.monotonic() - started >= grace * 0.9
        assert "2401.00001" in str(next(iter(items(sandbox, trashed=True).values()))["url"])


def test_a_held_deletion_the_guard_refuses_does_not_spin_the_daemon(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """The grace over, the pass for a held deletion fails (here the mass-delete guard: one
    of four papers). It once stayed due and ran again at once, dozens of failing passes a
    second, until the user acted."""
    cat = make_catalog(tmp_path / "list.md", 4)
    cfg = write_config(
        tmp_path, sandbox.emu, cat, sandbox.stream.url, watch={"delete_grace_seconds": 0.5}
    )
    with running(cfg, sandbox.emu) as d:
        vault = d.root / "vault"
        first = int(settle(d, None).lstrip("r"))
        note(vault, 0).unlink()
        wait_for(lambda: any(r["status"] == "failed" for r in d.runs()))
        time.sleep(3)
        newest = int(str(d.runs()[0]["id"]).lstrip("r"))
        assert newest - first <= 4, [(r["reason"], r["status"]) for r in d.runs()]
        assert not items(sandbox, trashed=True), "the guard let it through"
