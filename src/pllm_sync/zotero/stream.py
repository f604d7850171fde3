"""A client of Zotero's streaming API: hear about library changes within a second.

It connects (websocket), subscribes with the API key to the one library topic
(``/users/N`` or ``/groups/N``), and calls ``on_update(version)`` for every ``topicUpdated``
(the daemon then does an incremental ``since`` read). Reconnects with exponential backoff,
honouring the server's ``retry`` hint; websocket pings keep the connection alive and detect a
dead one. While it is down, ``connected`` is False and the daemon polls instead.

The API key is sent only inside the websocket (never in a URL) and never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger(__name__)

MIN_BACKOFF = 1.0
MAX_BACKOFF = 120.0


def library_topic(library_type: str, library_id: str) -> str:
    return f"/{'groups' if library_type == 'group' else 'users'}/{library_id}"


class StreamClient:
    """Runs on its own thread; ``start()`` and ``stop()`` from the daemon."""

    def __init__(
        self,
        url: str,
        api_key: str,
        topic: str,
        on_update: Callable[[int | None], None],
        *,
        on_state: Callable[[bool], None] | None = None,
        ping_interval: float = 25.0,
    ) -> None:
        self.url = url
        self._api_key = api_key
        self.topic = topic
        self.on_update = on_update
        self.on_state = on_state
        self.ping_interval = ping_interval
        self.connected = False
        self.connects = 0
        self.updates = 0
        self.last_error: str | None = None
        self._retry_hint: float | None = None
        self._stop = threading.Event()
        self._conn: ClientConnection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> StreamClient:
        self._thread = threading.Thread(target=self._run, name="zotero-stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):  # already closing
                conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "connected": self.connected,
            "connects": self.connects,
            "updates": self.updates,
            "last_error": self.last_error,
        }

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            if self.on_state is not None:
                self.on_state(value)

    def _run(self) -> None:
        backoff = MIN_BACKOFF
        told: str | None = None  # the failure last logged at INFO
        while not self._stop.is_set():
            started = time.monotonic()
            connects = self.connects
            try:
                self._session()
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a protocol surprise must not kill the daemon's thread
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("zotero stream: unexpected %s", self.last_error)
            if self.connects != connects:
                told = None  # it was up: its loss is news
            # The same failure again (no network, for hours) is logged at DEBUG: an idle
            # daemon must not append two lines to its log file every two minutes.
            level = logging.INFO if self.last_error != told else logging.DEBUG
            told = self.last_error
            log.log(level, "zotero stream: %s", self.last_error)
            self._set_connected(False)
            self._conn = None
            if self._stop.is_set():
                break
            if time.monotonic() - started > 60:
                backoff = MIN_BACKOFF  # it was up for a while: start over
            wait = max(backoff, self._retry_hint or 0.0)
            wait *= 1 + random.random() * 0.2  # jitter: many clients must not reconnect at once
            log.log(level, "zotero stream: reconnecting in %.1f s", wait)
            self._stop.wait(wait)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _session(self) -> None:
        with connect(
            self.url,
            open_timeout=10,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            close_timeout=2,
            compression=None,
            proxy=None,
        ) as conn:
            self._conn = conn
            if self._stop.is_set():
                return
            for raw in conn:
                self._on_message(conn, raw)
                if self._stop.is_set():
                    return

    def _on_message(self, conn: ClientConnection, raw: str | bytes) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            log.debug("zotero stream: ignoring a non-JSON message")
            return
        if not isinstance(msg, dict):
            return
        event = msg.get("event")
        if event == "connected":
            retry = msg.get("retry")
            if isinstance(retry, int | float) and retry > 0:
                self._retry_hint = retry / 1000
            conn.send(
                json.dumps(
                    {
                        "action": "createSubscriptions",
                        "subscriptions": [{"apiKey": self._api_key, "topics": [self.topic]}],
                    }
                )
            )
        elif event == "subscriptionsCreated":
            errors = msg.get("errors") or []
            ok = any(self.topic in (s.get("topics") or []) for s in msg.get("subscriptions") or [])
            if not ok:
                reasons = "; ".join(str(e.get("error")) for e in errors if isinstance(e, dict))
                raise OSError(f"subscription refused: {reasons or 'no topic'}")
            self.connects += 1
            self.last_error = None
            self._set_connected(True)
            log.info("zotero stream: subscribed to %s", self.topic)
            # Anything that changed while we were away: one incremental read catches up.
            self.on_update(None)
        elif event == "topicUpdated" and msg.get("topic") == self.topic:
            self.updates += 1
            version = msg.get("version")
            self.on_update(version if isinstance(version, int) else None)
        elif event == "topicRemoved" and msg.get("topic") == self.topic:
            raise OSError("the key lost access to the library (topicRemoved)")
        elif event == "topicAdded":
            log.debug("zotero stream: topic added %s", msg.get("topic"))
