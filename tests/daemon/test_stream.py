"""Zotero's streaming API: the emulator's ``/stream`` speaks the real server's messages, driven
by its writes; the daemon's client subscribes, hears updates, and reconnects after a cut."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.testing.zotero_server.stream import StreamServer
from pllm_sync.zotero.stream import StreamClient, library_topic

from .harness import wait_for

ITEM = {"itemType": "preprint", "title": "LaMP"}


@pytest.fixture
def sandbox() -> Iterator[tuple[ZoteroEmulator, StreamServer]]:
    emu = ZoteroEmulator(user_id=1, api_key="TESTKEY", control=True).start()
    stream = StreamServer(emu).start()
    stream.retry_ms = 200  # tests reconnect fast; the real server says 10 s
    try:
        yield emu, stream
    finally:
        stream.stop()
        emu.stop()


def recv(conn: ClientConnection) -> dict[str, Any]:
    msg = json.loads(conn.recv(timeout=5))
    assert isinstance(msg, dict)
    return msg


def subscribe(conn: ClientConnection, key: str, topics: list[str] | None = None) -> dict[str, Any]:
    sub: dict[str, Any] = {"apiKey": key}
    if topics is not None:
        sub["topics"] = topics
    conn.send(json.dumps({"action": "createSubscriptions", "subscriptions": [sub]}))
    return recv(conn)


def test_emulator_stream_speaks_the_real_protocol(
    sandbox: tuple[ZoteroEmulator, StreamServer],
) -> None:
    emu, stream = sandbox
    with connect(stream.url, proxy=None) as conn:
        hello = recv(conn)
        assert hello == {"event": "connected", "retry": 200}
        created = subscribe(conn, "TESTKEY", ["/users/1", "/users/2"])
        assert created["event"] == "subscriptionsCreated"
        assert created["subscriptions"] == [{"apiKey": "TESTKEY", "topics": ["/users/1"]}]
        assert created["errors"][0]["topic"] == "/users/2", "a topic the key cannot read"

        key = emu.create_item(ITEM)
        update = recv(conn)
        assert update == {
            "event": "topicUpdated",
            "topic": "/users/1",
            "version": emu.library_version(),
        }
        emu.edit_item(key, {"title": "LaMP 2"})
        assert recv(conn)["version"] == emu.library_version()

        def put_access(access: dict[str, Any]) -> None:
            req = urllib.request.Request(
                f"{emu.base_url}/_control/keys/TESTKEY",
                data=json.dumps({"access": access}).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req).close()

        put_access({"user": {"library": False}})
        assert recv(conn) == {"event": "topicRemoved", "apiKey": "TESTKEY", "topic": "/users/1"}
        put_access({"user": {"library": True, "write": True}})
        assert recv(conn) == {"event": "topicAdded", "apiKey": "TESTKEY", "topic": "/users/1"}


def test_emulator_stream_refuses_bad_keys_and_paths(
    sandbox: tuple[ZoteroEmulator, StreamServer],
) -> None:
    _, stream = sandbox
    with connect(stream.url, proxy=None) as conn:
        recv(conn)
        created = subscribe(conn, "WRONGKEY")
        assert created["subscriptions"] == []
        assert created["errors"] == [{"apiKey": "WRONGKEY", "error": "Invalid API key"}]
        conn.send("not json")
        assert recv(conn)["event"] == "error"
    with pytest.raises(Exception, match="404"):
        connect(stream.url.replace("/stream", "/other"), proxy=None)


def test_client_hears_updates_falls_back_when_cut_and_reconnects(
    sandbox: tuple[ZoteroEmulator, StreamServer],
) -> None:
    emu, stream = sandbox
    heard: list[int | None] = []
    states: list[bool] = []
    lock = threading.Lock()

    def on_update(version: int | None) -> None:
        with lock:
            heard.append(version)

    client = StreamClient(
        stream.url, "TESTKEY", library_topic("user", "1"), on_update, on_state=states.append
    ).start()
    try:
        wait_for(lambda: client.connected)
        assert heard == [None], "a (re)subscription asks for one catch-up read"
        emu.create_item(ITEM)
        wait_for(lambda: emu.library_version() in heard)

        stream.cut(refuse=True)  # the stream is down: the daemon must poll
        wait_for(lambda: not client.connected)
        emu.create_item(ITEM)
        assert emu.library_version() not in heard
        stream.restore()
        wait_for(lambda: client.connected, timeout=10)
        assert client.connects == 2
        assert heard[-1] is None, "after a reconnect it catches up on what it missed"
        assert states == [True, False, True]
        assert "TESTKEY" not in json.dumps(client.info()), "the key is never reported"
    finally:
        client.stop()
    assert not client.connected


def test_client_gives_up_a_refused_subscription_and_keeps_trying(
    sandbox: tuple[ZoteroEmulator, StreamServer],
) -> None:
    _, stream = sandbox
    client = StreamClient(stream.url, "WRONGKEY", "/users/1", lambda v: None).start()
    try:
        wait_for(lambda: client.last_error and "subscription refused" in client.last_error)
        assert not client.connected
    finally:
        client.stop()


def test_the_same_failure_again_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """No network for hours must not append two lines to the daemon's log every retry: the
    first failure is logged at INFO, the same one again at DEBUG (it still retries)."""
    import logging
    import socket

    with socket.socket() as s:  # a port nobody listens on: every attempt is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level(logging.DEBUG, logger="pllm_sync.zotero.stream")

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "ConnectionRefusedError" in r.getMessage()]

    client = StreamClient(f"ws://127.0.0.1:{port}", "K", "/users/1", lambda v: None).start()
    try:
        wait_for(lambda: len(failures()) >= 2, timeout=15)
    finally:
        client.stop()
    levels = [r.levelno for r in failures()]
    assert levels[0] == logging.INFO
    assert set(levels[1:]) == {logging.DEBUG}, levels
    assert client.last_error is not None and "ConnectionRefusedError" in client.last_error
