"""A real daemon backend (worker loop, state database, event bus) behind the real API server
on 127.0.0.1, in-process: fast enough to fuzz. The subprocess acceptance tests in
tests/daemon drive the same API through a real ``pllm-sync watch``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.api.app import create_app
from pllm_sync.api.auth import load_or_create_token
from pllm_sync.api.events import EventBus
from pllm_sync.api.server import ApiServer
from pllm_sync.config import WatchConfig
from pllm_sync.daemon.backend import DaemonBackend
from pllm_sync.daemon.loop import Job, WatchLoop
from pllm_sync.daemon.watcher import VaultSignal
from pllm_sync.sync.state import PaperState, StateDB


@dataclass
class LiveApi:
    url: str
    token: str
    token_file: Path
    state: StateDB
    events: EventBus
    loop: WatchLoop
    passes: list[Job]
    conflict_id: int
    merged: list[tuple[str, str, Any]]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    state = StateDB.open(tmp_path / "state.sqlite3")
    state.put_paper(
        PaperState(
            pllm_id="arxiv:2304.11406",
            base={
                "title": "LaMP: When Large Language Models Meet Personalization",
                "status": "reading",
                "sections": frozenset({"jiahongliu21 / Prompting / RAG"}),
            },
            catalog_base={"title": "LaMP: When Large Language Models Meet Personalization"},
            zotero_key="ABCD2345",
            note_path="Papers/LaMP.md",
        )
    )
    cid = state.add_conflict("arxiv:2304.11406", "status", "unread", "read", "reading")
    passes: list[Job] = []
    events = EventBus()

    def run_pass(job: Job) -> None:
        if job.before is not None:
            job.before()
        events.publish("run.started", run=job.to_json())
        passes.append(job)
        job.applied = {}
        events.publish("run.done", run=job.to_json())

    cfg = WatchConfig(zotero_poll_seconds=3600, catalog_refresh_minutes=600, debounce_seconds=0.1)
    loop = WatchLoop(cfg, VaultSignal(str(tmp_path)), run_pass, tick=0.02)
    merged: list[tuple[str, str, Any]] = []
    backend = DaemonBackend(
        loop,
        state,
        events,
        vault_root=str(tmp_path / "vault"),
        zotero="user 1",
        zotero_link=lambda k: f"zotero://select/library/items/{k}",
        apply_merged=lambda pid, f, v: merged.append((pid, f, v)),
    )
    token, token_file = load_or_create_token()
    server = ApiServer(create_app(backend, token, heartbeat=0.3), 0).start()
    worker = threading.Thread(target=loop.run, daemon=True)
    worker.start()
    try:
        yield LiveApi(server.url, token, token_file, state, events, loop, passes, cid, merged)
    finally:
        loop.stop()
        worker.join(5)
        server.stop()
        state.close()
