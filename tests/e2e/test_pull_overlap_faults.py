"""Faults the overlapped first pull (Zotero written by a worker thread while the notes are
rendered) must survive as the serial pull did: another client writing to the library between
two batches (a 412 on the next batch), and an unexpected exception inside the worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv
from .test_pull_overlap import assert_linked, catalog, items_by_pid


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"ov": catalog()})


def _no_worker_left() -> None:
    names = ("pllm-zotero-writes", "pllm-zotero-send")
    assert not [t for t in threading.enumerate() if t.name in names]


def test_another_client_writing_between_two_batches_costs_no_paper(env: Env) -> None:
    """After the first batch of items, someone edits the library (Zotero answers the next
    batch 412): the pull re-reads, sends it again, and every paper ends linked, once."""
    switch = sys.getswitchinterval()
    posts: list[str] = []
    other = env.emu.create_item({"itemType": "book", "title": "Someone Else's Book"})

    def edit_between(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items"):
            posts.append(path)
            if len(posts) == 2:
                emu.edit_item(other, {"title": "Someone Else's Book, 2nd ed."})

    env.emu.on_request(edit_between)
    try:
        code, out, err = env.run("pull", "--no-progress")
    finally:
        env.emu.on_request(None)
    assert code == 0, (out, err)
    assert len(posts) > 2
    assert any(q.status == 412 for q in env.emu.request_log), "no 412 was provoked"
    assert_linked(env)
    assert env.emu.get_items()[other]["title"] == "Someone Else's Book, 2nd ed."
    assert sys.getswitchinterval() == switch
    _no_worker_left()


def test_an_unexpected_error_in_the_worker_stops_the_pull_and_the_rerun_converges(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the worker (here after 60 papers settled) is not swallowed: the run stops,
    makes no note durable, restores the switch interval, and the next pull finishes."""
    from pllm_sync.zotero.store import WriteReport, ZoteroStore

    switch = sys.getswitchinterval()
    original = ZoteroStore.create_papers

    def buggy(
        self: ZoteroStore, entries: Any, *, on_settled: Callable[[str, str | None], None] | None
    ) -> WriteReport:
        seen = [0]

        def settled(pid: str, key: str | None) -> None:
            seen[0] += 1
            if seen[0] > 60:
                raise RuntimeError("worker bug")
            assert on_settled is not None
            on_settled(pid, key)

        return original(self, entries, on_settled=settled if on_settled else None)

    monkeypatch.setattr(ZoteroStore, "create_papers", buggy)
    with pytest.raises(RuntimeError, match="worker bug"):  # a bug surfaces as one
        env.run("pull", "--no-progress")
    assert sys.getswitchinterval() == switch
    _no_worker_left()
    assert not list(env.papers.glob("*.md")) if env.papers.exists() else True
    assert not [p for p in env.vault.rglob("*.tmp")], "temp files left in the vault"
    monkeypatch.setattr(ZoteroStore, "create_papers", original)
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert_linked(env)


CLI = "import sys; from pllm_sync.cli import main; sys.exit(main(sys.argv[1:]))"


def test_a_pull_killed_while_its_worker_writes_zotero_converges(env: Env) -> None:
    """The process dies (SIGKILL, no clean-up) as Zotero receives its second batch of items,
    while the notes are being rendered: no note was made durable, and the next pull links
    every paper to exactly one item (those of the first batch found again, not duplicated)."""
    child: list[subprocess.Popen[bytes]] = []
    posts: list[str] = []

    def kill_on_second_batch(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and path.endswith("/items"):
            posts.append(path)
            if len(posts) == 2 and child:
                os.kill(child[0].pid, signal.SIGKILL)
                child[0].wait()

    args = ["--config", str(env.config), "-q", "pull", "--no-progress"]
    env.emu.on_request(kill_on_second_batch)
    try:
        child.append(subprocess.Popen([sys.executable, "-c", CLI, *args], env=dict(os.environ)))
        assert child[0].wait(timeout=120) == -signal.SIGKILL, "killed mid-write"
    finally:
        env.emu.on_request(None)
    assert items_by_pid(env), "the first batch landed before the kill"
    assert not list(env.papers.glob("*.md")) if env.papers.exists() else True
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert_linked(env)
    assert not [p for p in env.papers.iterdir() if not p.name.endswith(".md")], "litter gone"


def test_an_answer_lost_mid_pull_is_read_back_and_nothing_is_duplicated(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops after Zotero wrote the second batch of items, before its answer
    arrived: the worker sends it again (same write token), Zotero says the token is used,
    the worker reads the items back, and the pull finishes with one item per paper."""
    from pllm_sync.testing.zotero_server import app

    original = app._Handler._write
    posts: list[int] = []

    def lose_second_answer(self: app._Handler, response: Any) -> None:
        if self.command == "POST" and self.path.split("?")[0].endswith("/items"):
            posts.append(response.status)
            if len(posts) == 2:  # written, but the connection closes unanswered
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        original(self, response)

    monkeypatch.setattr(app._Handler, "_write", lose_second_answer)
    code, out, err = env.run("pull", "--no-progress")
    monkeypatch.setattr(app._Handler, "_write", original)
    assert code == 0, (out, err)
    assert len(posts) > 2 and posts[1] == 200
    assert 412 in posts, "the resent batch was not refused as already written"
    assert_linked(env)


def _sigint_default() -> None:
    """In the child: Ctrl-C as a terminal gives it (a suite run as a background job has
    SIGINT ignored, and the child would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_the_worker_waits_out_a_retry_after_sends_nothing_more(env: Env) -> None:
    """Zotero asks the pull to slow down (429, Retry-After) mid-way, and the user presses
    Ctrl-C during that wait: the run stops there, as it did when the writes were made in the
    main thread, instead of waiting out the Retry-After in the worker and then sending the
    batch anyway; the next pull converges."""
    env.emu.inject(429, count=1, after=1, method="POST", path=r".*/items$", retry_after=30)
    args = ["--config", str(env.config), "-q", "pull", "--no-progress"]
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, *args], env=dict(os.environ), preexec_fn=_sigint_default
    )
    try:
        while not any(q.status == 429 for q in env.emu.request_log):
            assert child.poll() is None, "the pull ended before Zotero asked it to wait"
            time.sleep(0.02)
        sent = len(env.emu.request_log)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 130
    finally:
        if child.poll() is None:
            child.kill()
    after = [(q.method, q.path) for q in env.emu.request_log[sent:]]
    assert not [a for a in after if a[0] != "GET"], f"written after Ctrl-C: {after}"
    env.emu.clear_faults()
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    assert_linked(env)
