"""Realistic request-rate limiting, switched on without fault injection.

The dataserver (``ApiController::initRequestLimiter`` / ``limits``) keeps a token bucket per
user and client address: an authenticated client may burst ``capacity`` = 100 requests and
earns ``replenishRate`` = 10 tokens a second back; an empty bucket answers
``429 Request rate limit exceeded`` with ``Retry-After: capacity / replenishRate`` (10 s).
Operators set a global ``Backoff`` (``Z_CONFIG::$BACKOFF``) while the servers are under load;
the emulator models that load as a bucket running low: while it holds less than
``backoff_below`` of its capacity, every answer carries ``Backoff: <backoff>``.

Off by default (tests must not flake). Time comes from an injectable clock, so a test can
drain a bucket deterministically (e.g. a tiny ``replenish_rate``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Clock = Callable[[], float]


@dataclass(frozen=True)
class RateLimit:
    """One bucket per client: ``capacity`` requests of burst, ``replenish_rate`` tokens per
    second back. ``backoff`` (seconds) is sent while a bucket is below ``backoff_below`` of
    its capacity (1.0: always, as the server's global setting does)."""

    capacity: float = 100
    replenish_rate: float = 10
    backoff: int | None = None
    backoff_below: float = 0.5

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if self.replenish_rate <= 0:
            raise ValueError("replenish_rate must be positive")
        if not 0 <= self.backoff_below <= 1:
            raise ValueError("backoff_below must be between 0 and 1")
        if self.backoff is not None and self.backoff < 0:
            raise ValueError("backoff must not be negative")

    @property
    def retry_after(self) -> int:
        """DS: ``(int) capacity / replenishRate`` ("retry when the full capacity is back")."""
        return int(self.capacity / self.replenish_rate)

    def to_json(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "replenishRate": self.replenish_rate,
            "backoff": self.backoff,
            "backoffBelow": self.backoff_below,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RateLimit:
        """The control API's shape (``capacity``, ``replenishRate``, ``backoff``,
        ``backoffBelow``); omitted values take the real server's defaults."""
        known = {"capacity", "replenishRate", "backoff", "backoffBelow"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown rate-limit properties: {', '.join(sorted(unknown))}")
        backoff = body.get("backoff")
        return cls(
            capacity=float(body.get("capacity", 100)),
            replenish_rate=float(body.get("replenishRate", 10)),
            backoff=None if backoff is None else int(backoff),
            backoff_below=float(body.get("backoffBelow", 0.5)),
        )


@dataclass(frozen=True)
class Decision:
    """What the limiter says about one request: refuse it (``status`` 429) or let it run,
    and the headers to add either way."""

    status: int | None
    headers: dict[str, str]
    message: str = ""


class RateLimiter:
    def __init__(self, limit: RateLimit | None = None, clock: Clock = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._limit = limit
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, at)

    @property
    def limit(self) -> RateLimit | None:
        return self._limit

    def configure(self, limit: RateLimit | None, clock: Clock | None = None) -> None:
        """Switch limiting on with ``limit`` (fresh, full buckets) or off with None;
        ``clock`` replaces the time source (a test's fake clock)."""
        with self._lock:
            self._limit = limit
            if clock is not None:
                self._clock = clock
            self._buckets.clear()

    def check(self, bucket: str) -> Decision | None:
        """Take one token from ``bucket``; None when limiting is off."""
        with self._lock:
            limit = self._limit
            if limit is None:
                return None
            now = self._clock()
            tokens, at = self._buckets.get(bucket, (limit.capacity, now))
            tokens = min(limit.capacity, tokens + (now - at) * limit.replenish_rate)
            headers: dict[str, str] = {}
            if tokens < 1:
                self._buckets[bucket] = (tokens, now)
                headers["Retry-After"] = str(limit.retry_after)
                if limit.backoff is not None:
                    headers["Backoff"] = str(limit.backoff)
                return Decision(429, headers, "Request rate limit exceeded")
            tokens -= 1
            self._buckets[bucket] = (tokens, now)
            under_load = limit.backoff_below >= 1 or tokens < limit.backoff_below * limit.capacity
            if limit.backoff is not None and under_load:
                headers["Backoff"] = str(limit.backoff)
            return Decision(None, headers)
