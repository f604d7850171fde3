"""Server-sent events for the API: a bounded, numbered history that readers resume from.

The daemon publishes from its worker thread; each reader waits on an asyncio event set from
that thread, so an idle stream costs nothing but its heartbeat. Ids only grow, and the last
``HISTORY`` events are kept so a reader that reconnects with ``Last-Event-ID`` misses none.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

HISTORY = 1000
EventType = Literal[
    "run.queued",
    "run.started",
    "run.progress",
    "run.done",
    "conflict.opened",
    "conflict.resolved",
    "error",
]
"""Every event the stream sends; mypy holds each `publish` call to this list."""


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    data: dict[str, Any]
    at: float

    def encode(self) -> bytes:
        payload = json.dumps({"type": self.type, "at": self.at, **self.data}, default=str)
        return f"id: {self.id}\nevent: {self.type}\ndata: {payload}\n\n".encode()


class EventBus:
    """Thread-safe publish; async wait for anything newer than a given id."""

    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.Lock()
        self._events: deque[Event] = deque(maxlen=history)
        self._next = 1
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def last_id(self) -> int:
        with self._lock:
            return self._next - 1

    def publish(self, type_: EventType, **data: Any) -> Event:
        with self._lock:
            ev = Event(self._next, type_, data, time.time())
            self._next += 1
            self._events.append(ev)
            waiters = list(self._waiters)
        for loop, flag in waiters:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that reader's loop is closed: it is gone
                with self._lock:
                    self._waiters.discard((loop, flag))
        return ev

    def since(self, last_id: int) -> list[Event]:
        with self._lock:
            return [e for e in self._events if e.id > last_id]

    async def wait(self, last_id: int, timeout: float) -> list[Event]:
        """Events newer than ``last_id``, waiting up to ``timeout`` s for the first one."""
        loop = asyncio.get_running_loop()
        flag = asyncio.Event()
        entry = (loop, flag)
        with self._lock:
            self._waiters.add(entry)
        try:
            found = self.since(last_id)
            if found:
                return found
            try:
                await asyncio.wait_for(flag.wait(), timeout)
            except TimeoutError:
                return []
            return self.since(last_id)
        finally:
            with self._lock:
                self._waiters.discard(entry)
