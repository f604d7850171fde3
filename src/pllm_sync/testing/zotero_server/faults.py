"""Fault injection: make chosen requests fail (429, 503, 500, 409, ...) or come back slowly or
with a ``Backoff`` header, so that clients' retry and backoff paths can be tested
deterministically. Rate limits are never enforced on their own; every 429 comes from here."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

DEFAULT_BODIES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not found",
    409: "The target library is locked",
    412: "Library has been modified since specified version",
    413: "Request entity too large",
    429: "Request rate limit exceeded",
    500: "An error occurred",
    502: "Bad Gateway",
    503: "Service unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """What to do with one request: answer with ``status`` without running it (``execute``
    False), or run it and add headers (``execute`` True, for 2xx with Backoff)."""

    status: int
    execute: bool
    headers: dict[str, str]
    delay: float
    body: str


@dataclass
class _Rule:
    status: int
    count: int
    after: int
    method: str | None
    path: re.Pattern[str] | None
    retry_after: int | None
    backoff: int | None
    delay: float
    body: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or bool(self.path.search(path))


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._fail_after: tuple[int, int] | None = None  # (remaining ok, status)

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        after: int = 0,
        method: str | None = None,
        path: str | None = None,
        retry_after: int | None = None,
        backoff: int | None = None,
        delay: float = 0.0,
        body: str | None = None,
    ) -> None:
        rule = _Rule(
            status,
            count,
            after,
            method,
            re.compile(path) if path is not None else None,
            retry_after,
            backoff,
            delay,
            body,
        )
        with self._lock:
            self._rules.append(rule)

    def fail_after(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._fail_after = (n, status)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._fail_after = None

    def take(self, method: str, path: str) -> Fault | None:
        """Consume the fault (if any) for this request."""
        with self._lock:
            if self._fail_after is not None:
                remaining, status = self._fail_after
                if remaining > 0:
                    self._fail_after = (remaining - 1, status)
                else:
                    return Fault(status, False, {}, 0.0, DEFAULT_BODIES.get(status, "Error"))
            for rule in self._rules:
                if rule.count <= 0 or not rule.matches(method, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                rule.count -= 1
                headers: dict[str, str] = {}
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
                if rule.backoff is not None:
                    headers["Backoff"] = str(rule.backoff)
                execute = 200 <= rule.status < 300
                body = (
                    rule.body if rule.body is not None else DEFAULT_BODIES.get(rule.status, "Error")
                )
                return Fault(rule.status, execute, headers, rule.delay, body)
            self._rules = [r for r in self._rules if r.count > 0]
        return None
