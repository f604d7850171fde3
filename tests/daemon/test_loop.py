"""The daemon's scheduling: one worker, debounced vault changes, Zotero polls, catalog
refreshes, and a failed pass that does not stop the daemon."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pllm_sync.config import WatchConfig
from pllm_sync.daemon.loop import Job, WatchLoop
from pllm_sync.daemon.watcher import VaultSignal, is_relevant, start_observer


def test_relevant_paths_ignore_litter() -> None:
    assert is_relevant("Papers/LaMP.md")
    assert is_relevant("Moved/Deep/LaMP.md")
    for litter in (
        ".obsidian/workspace.md",
        ".trash/x.md",
        "Papers/.LaMP.md.tmp",
        "Papers/LaMP.sync-conflict-20260101-123456-ABC.md",
        "Papers/x.txt",
        ".pllm-sync-trash/Papers/x.md",
        "Papers/~$x.md",
    ):
        assert not is_relevant(litter), litter


def test_vault_edit_is_debounced_into_one_pass(tmp_path: Path) -> None:
    calls: list[tuple[bool, str]] = []
    sig = VaultSignal(str(tmp_path))
    obs = start_observer(str(tmp_path), sig)
    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.3)
    loop = WatchLoop(cfg, sig, lambda job: calls.append((job.pull, job.reason)), tick=0.05)
    t = threading.Thread(target=loop.run, kwargs={"max_seconds": 3.0})
    t.start()
    try:
        time.sleep(0.3)
        for i in range(5):  # a burst of saves, as an editor makes them
            (tmp_path / "note.md").write_text(f"edit {i}")
            time.sleep(0.05)
        (tmp_path / ".obsidian").mkdir()
        time.sleep(1.0)
        (tmp_path / ".obsidian" / "workspace.json").write_text("{}")  # not a note
    finally:
        t.join()
        obs.stop()
        obs.join()
    assert calls[0] == (True, "start"), "the daemon starts with a full pull"
    assert calls.count((False, "vault change")) == 1, calls


def test_polls_and_refreshes_on_schedule_and_survive_failures(tmp_path: Path) -> None:
    calls: list[str] = []

    def run_pass(job: Job) -> None:
        why = job.reason
        calls.append(why)
        if why == "zotero poll" and calls.count("zotero poll") == 1:
            raise RuntimeError("Zotero unreachable")

    cfg = WatchConfig(zotero_poll_seconds=1, catalog_refresh_minutes=2.5 / 60, debounce_seconds=0.1)
    loop = WatchLoop(cfg, VaultSignal(str(tmp_path)), run_pass, tick=0.05)
    stats = loop.run(max_seconds=3.6)
    assert calls[0] == "start"
    assert calls.count("zotero poll") >= 2, "polling went on after a failed pass"
    assert "catalog refresh" in calls
    assert stats.failures == 1


def test_own_writes_cause_no_pass_and_a_failed_pass_makes_the_next_one_full(
    tmp_path: Path,
) -> None:
    jobs: list[Job] = []

    def run_pass(job: Job) -> None:
        jobs.append(job)
        if job.reason == "vault change" and len(jobs) == 2:
            raise RuntimeError("Zotero is down")

    sig = VaultSignal(str(tmp_path), ignore_folders=("Sections",))
    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.05)
    loop = WatchLoop(
        cfg, sig, run_pass, tick=0.02, is_own_write=lambda p: p.startswith("Papers/ours")
    )
    t = threading.Thread(target=loop.run, kwargs={"max_seconds": 2.0})
    t.start()
    try:
        time.sleep(0.2)
        sig.paths.add("Papers/ours.md")  # as the observer would record them
        sig.paths.add("Papers/mine.md")
        sig.last_change = time.monotonic()
        time.sleep(0.4)
        sig.paths.add("Papers/ours2.md")  # only the daemon's own write: no pass
        sig.last_change = time.monotonic()
        time.sleep(0.4)
        loop.zotero_changed(7)
        time.sleep(0.4)
    finally:
        t.join()
    assert [j.reason for j in jobs] == ["start", "vault change", "zotero change"]
    assert jobs[1].paths == {"Papers/mine.md"}, "own writes are dropped from the pass"
    assert jobs[2].paths is None, "after a failed pass the next one scans everything"
    assert loop.stats.own_writes_skipped == 2


def test_stream_updates_for_versions_already_held_cause_no_pass(tmp_path: Path) -> None:
    jobs: list[Job] = []
    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.05)
    loop = WatchLoop(
        cfg, VaultSignal(str(tmp_path)), jobs.append, tick=0.02, zotero_seen=lambda: 10
    )
    t = threading.Thread(target=loop.run, kwargs={"max_seconds": 1.0})
    t.start()
    try:
        time.sleep(0.2)
        loop.zotero_changed(9)
        loop.zotero_changed(10)  # the daemon's own writes
        time.sleep(0.3)
        loop.zotero_changed(11)  # someone else's
        time.sleep(0.3)
    finally:
        t.join()
    assert [j.reason for j in jobs] == ["start", "zotero change"]


def test_a_failed_watcher_is_followed_by_a_full_scan(tmp_path: Path) -> None:
    jobs: list[Job] = []
    health = iter([True, True, False])
    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.05)
    loop = WatchLoop(
        cfg,
        VaultSignal(str(tmp_path)),
        jobs.append,
        tick=0.02,
        watcher_ok=lambda: next(health, True),
    )
    loop.run(max_seconds=0.5)
    assert [(j.reason, j.paths) for j in jobs] == [("start", None), ("watcher restarted", None)]


def test_an_idle_loop_sleeps_until_something_is_due(tmp_path: Path) -> None:
    """Nothing due for an hour: the loop does not wake on a short tick (each wake-up costs
    CPU, hours on end); it wakes for the deadline of ``max_seconds`` only."""
    checks: list[float] = []

    def watcher_ok() -> bool:
        checks.append(time.monotonic())
        return True

    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600)
    loop = WatchLoop(cfg, VaultSignal(str(tmp_path)), lambda job: None, watcher_ok=watcher_ok)
    loop.run(max_seconds=0.6)
    assert len(checks) == 1, "one look, then sleep until the deadline"


def test_a_vault_event_wakes_the_sleeping_loop(tmp_path: Path) -> None:
    jobs: list[Job] = []
    sig = VaultSignal(str(tmp_path))
    obs = start_observer(str(tmp_path), sig)
    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.05)
    loop = WatchLoop(cfg, sig, jobs.append, tick=3600)  # nothing else would wake it
    t = threading.Thread(target=loop.run, kwargs={"max_passes": 2}, daemon=True)
    t.start()
    try:
        time.sleep(0.3)
        (tmp_path / "note.md").write_text("edit")
        t.join(30)
    finally:
        loop.stop()
        obs.stop()
        obs.join()
    assert not t.is_alive(), "the event must wake the loop"
    assert [(j.reason, j.paths) for j in jobs] == [("start", None), ("vault change", {"note.md"})]


def test_after_a_failed_pass_the_daemon_retries_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the daemon helper: the mass-delete guard stopped a pass (notes moved away);
    the user put the notes back, and their bytes were what the state knew, so the events
    were taken for the daemon's own writes: no pass ran until the 15-minute reconcile. A
    failed pass is now retried in full by itself, later each time it fails again."""
    from pllm_sync.daemon import loop as loop_mod

    monkeypatch.setattr(loop_mod, "RETRY_FIRST", 0.3)
    jobs: list[Job] = []

    def run_pass(job: Job) -> None:
        jobs.append(job)
        if len(jobs) in (2, 3):
            why = "this run would move 30 of 97 papers to the trash"
            job.errors.append(why)  # as PassRunner does, before it raises
            raise RuntimeError(why)

    sig = VaultSignal(str(tmp_path))
    cfg = WatchConfig(
        zotero_poll_seconds=3600,
        catalog_refresh_minutes=600,
        debounce_seconds=0.05,
        reconcile_minutes=600,
    )
    loop = WatchLoop(cfg, sig, run_pass, tick=0.02, is_own_write=lambda p: p.endswith("back.md"))
    t = threading.Thread(target=loop.run, kwargs={"max_seconds": 2.2})
    t.start()
    try:
        time.sleep(0.2)
        sig.paths.add("Papers/moved-away.md")
        sig.last_change = time.monotonic()
        time.sleep(0.2)
        sig.paths.add("Papers/put-back.md")  # bytes the state knows: no pass of its own
        sig.last_change = time.monotonic()
    finally:
        t.join()
    reasons = [j.reason for j in jobs]
    # failed at ~0.25 s; retried at ~0.55 s (fails again), then at ~1.15 s (0.6 s later)
    assert reasons == ["start", "vault change", *["retry after a failed pass"] * 2], reasons
    assert all(j.paths is None for j in jobs[2:]), "a retry scans everything"
    # /v1/status listed each failed pass's error twice
    assert [len(j.errors) for j in jobs[1:3]] == [1, 1] and jobs[1].status == "failed"
