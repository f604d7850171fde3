"""The Zotero streaming API (``wss://stream.zotero.org``), served by the emulator at ``/stream``.

Speaks the real server's messages: ``connected`` (with a ``retry`` hint) on connect,
``subscriptionsCreated`` (with per-key ``errors``) after ``createSubscriptions``,
``topicUpdated`` with the new library version after each write, and ``topicAdded`` /
``topicRemoved`` when a key gains or loses access to a library. It is driven by the
emulator's writes (a write listener), not by polling. Tests can ``cut()`` the stream (close
every connection and refuse new ones) to exercise a client's fallback and reconnect.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

if TYPE_CHECKING:
    from . import ZoteroEmulator

log = logging.getLogger(__name__)

RETRY_MS = 10_000
"""The ``retry`` hint sent on connect, as the real server does (milliseconds)."""


@dataclass
class _Client:
    conn: ServerConnection
    # api key -> topics it is subscribed to
    subs: dict[str, set[str]] = field(default_factory=dict)


class StreamServer:
    """A websocket server on its own port, fed by ``emu``'s write listener."""

    def __init__(self, emu: ZoteroEmulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emu = emu
        self.host = host
        self.port = port
        self.retry_ms = RETRY_MS
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.refusing = False

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/stream"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> StreamServer:
        self._server = serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_path,
            compression=None,
            ping_interval=25,
        )
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"zotero-stream-{self.port}", daemon=True
        )
        self._thread.start()
        self.emu.add_write_listener(self.notify)
        return self

    def stop(self) -> None:
        self.emu.remove_write_listener(self.notify)
        self.cut()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def cut(self, *, refuse: bool = False) -> None:
        """Close every connection; with ``refuse`` also turn new ones away (503) until
        :meth:`restore`: the stream is down, clients must fall back to polling."""
        self.refusing = refuse
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(Exception):  # already closed
                c.conn.close(1001, "stream going away")

    def restore(self) -> None:
        self.refusing = False

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._clients)

    # ------------------------------------------------------------------ protocol
    def _check_path(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != "/stream":
            return conn.respond(404, "Not found\n")
        if self.refusing:
            return conn.respond(503, "Stream unavailable\n")
        return None

    def _topics_for(self, api_key: str) -> set[str]:
        with self.emu.state.lock:
            key = self.emu.state.keys.get(api_key)
            if key is None or not (key.access.get("user") or {}).get("library"):
                return set()
            return {f"/users/{key.user_id}"}

    def _version(self, topic: str) -> int:
        user_id = int(topic.rsplit("/", 1)[1])
        return self.emu.library_version(user_id)

    def _send(self, client: _Client, message: dict[str, Any]) -> None:
        try:
            client.conn.send(json.dumps(message))
        except (ConnectionClosed, OSError, RuntimeError):
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)

    def _handle(self, conn: ServerConnection) -> None:
        client = _Client(conn)
        with self._lock:
            self._clients.append(client)
        self._send(client, {"event": "connected", "retry": self.retry_ms})
        try:
            for raw in conn:
                self._on_message(client, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)

    def _on_message(self, client: _Client, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
            action = msg.get("action") if isinstance(msg, dict) else None
        except ValueError:
            action = None
        if action == "createSubscriptions":
            created, errors = [], []
            for sub in msg.get("subscriptions") or []:
                api_key = str(sub.get("apiKey") or "")
                allowed = self._topics_for(api_key)
                if not allowed:
                    errors.append({"apiKey": api_key, "error": "Invalid API key"})
                    continue
                wanted = set(sub.get("topics") or allowed)
                for t in sorted(wanted - allowed):
                    errors.append(
                        {
                            "apiKey": api_key,
                            "topic": t,
                            "error": "Topic is not valid for provided API key",
                        }
                    )
                topics = wanted & allowed
                client.subs.setdefault(api_key, set()).update(topics)
                for t in topics:
                    self._versions.setdefault(t, self._version(t))
                created.append({"apiKey": api_key, "topics": sorted(topics)})
            self._send(
                client,
                {"event": "subscriptionsCreated", "subscriptions": created, "errors": errors},
            )
        elif action == "deleteSubscriptions":
            for sub in msg.get("subscriptions") or []:
                client.subs.pop(str(sub.get("apiKey") or ""), None)
            self._send(client, {"event": "subscriptionsDeleted"})
        else:
            self._send(client, {"event": "error", "error": "Invalid action"})

    # ------------------------------------------------------------------ driven by writes
    def notify(self) -> None:
        """Called by the emulator after a write: send what changed to the subscribers."""
        with self._lock:
            clients = list(self._clients)
        topics = {t for c in clients for ts in c.subs.values() for t in ts}
        updated: dict[str, int] = {}
        for t in topics:
            v = self._version(t)
            if v != self._versions.get(t):
                self._versions[t] = v
                updated[t] = v
        for c in clients:
            for api_key, subscribed in list(c.subs.items()):
                now = self._topics_for(api_key)
                for t in sorted(subscribed - now):
                    subscribed.discard(t)
                    self._send(c, {"event": "topicRemoved", "apiKey": api_key, "topic": t})
                for t in sorted(now - subscribed):
                    subscribed.add(t)
                    self._send(c, {"event": "topicAdded", "apiKey": api_key, "topic": t})
                for t in sorted(subscribed & updated.keys()):
                    self._send(c, {"event": "topicUpdated", "topic": t, "version": updated[t]})
