"""A small polite HTTP client for the metadata services.

Why not ``requests``: we need exactly three things it does not give in one place, and nothing
else: a short *connect* timeout separate from the read timeout (so an offline machine fails
in a moment instead of hanging the quick start), a minimum spacing between requests per
service (arXiv asks for one call every 3 s), and a bounded retry on 429/503 that honours
``Retry-After``. ``http.client`` from the standard library does all of it.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .. import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"pllm-sync/{__version__} (+https://github.com/pllm-sync/pllm-sync)"


class ServiceError(Exception):
    """A metadata service could not answer (unreachable, rate-limited, broken reply).

    The resolver catches it, says so once, and goes on with what the cache holds."""


class Unreachable(ServiceError):
    """Connection refused, DNS failure, TLS failure or a timeout."""


class RateLimited(ServiceError):
    """Still 429/503 after the allowed retries."""


class BadResponse(ServiceError):
    """An answer we cannot use (unexpected status, malformed body)."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


_TLS: list[ssl.SSLContext] = []


def tls_context() -> ssl.SSLContext:
    """One TLS context for every request of the process: building one loads the system's
    CA certificates (~20 ms of CPU), which per request cost more than parsing the answers
    of a 5000-paper pull (50 arXiv batches)."""
    if not _TLS:
        _TLS.append(ssl.create_default_context())
    return _TLS[0]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date; None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class PoliteClient:
    """One service's HTTP client: request spacing, timeouts, bounded 429/503 retries.

    ``min_interval`` is the least time between the *starts* of two requests. ``sleep`` and
    ``clock`` are injectable so tests and benchmarks can run the real logic quickly.
    ``secret_headers`` are sent but never logged (an API key); given as a function, it is
    called once, at the first request, so a run that never asks the service never looks the
    key up (a keyring lookup costs more than a pull whose answers are all cached)."""

    def __init__(
        self,
        name: str,
        *,
        min_interval: float = 0.0,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        max_retries: int = 2,
        backoff: float = 5.0,
        max_wait: float = 60.0,
        secret_headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.min_interval = min_interval
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._secret_source = secret_headers
        self._secret: dict[str, str] | None = None
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None
        self._resolved: set[str] = set()
        self.requests = 0

    def _secrets(self) -> dict[str, str]:
        if self._secret is None:
            source = self._secret_source
            self._secret = dict((source() if callable(source) else source) or {})
        return self._secret

    def _resolve(self, host: str, port: int | None) -> None:
        """Look the host name up within the connect timeout. ``socket.create_connection``
        has no timeout for the lookup itself, and a machine without a working resolver can
        spend many seconds in it: that would slow an offline quick start."""
        if host in self._resolved:
            return
        done: list[BaseException | None] = []

        def lookup() -> None:
            try:
                socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
                done.append(None)
            except BaseException as exc:  # reported to the caller below
                done.append(exc)

        worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
        worker.start()
        worker.join(self.connect_timeout)
        if not done:
            raise Unreachable(f"{self.name}: {host}: name lookup timed out")
        if done[0] is not None:
            raise Unreachable(f"{self.name}: {host}: {done[0]}") from done[0]
        self._resolved.add(host)

    def _space(self) -> None:
        if self._last is not None and self.min_interval > 0:
            wait = self._last + self.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last = self._clock()

    def _once(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Response:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadResponse(f"{self.name}: not an http(s) URL: {url}")
        self._resolve(parts.hostname, parts.port)  # first: offline, nothing else is built
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=self.connect_timeout,
                context=tls_context(),
            )
        else:
            conn = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=self.connect_timeout
            )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.connect()
            if conn.sock is not None:
                conn.sock.settimeout(self.read_timeout)
            all_headers = {"User-Agent": USER_AGENT, **headers, **self._secrets()}
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise Unreachable(
                f"{self.name}: {parts.hostname}: {exc or type(exc).__name__}"
            ) from exc
        finally:
            conn.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        """Send one request (spaced, retried on 429/503); return a response whose status is
        in ``ok``, else raise a :class:`ServiceError`."""
        attempt = 0
        while True:
            self._space()
            self.requests += 1
            log.debug("%s: %s %s", self.name, method, url)
            resp = self._once(method, url, body, dict(headers or {}))
            if resp.status in ok:
                return resp
            if resp.status in (429, 503) and attempt < self.max_retries:
                wait = retry_after_seconds(resp.headers.get("retry-after"))
                wait = self.backoff * (2**attempt) if wait is None else wait
                if wait > self.max_wait:
                    raise RateLimited(f"{self.name}: asked to wait {wait:.0f} s")
                log.info("%s: HTTP %s, waiting %.1f s", self.name, resp.status, wait)
                self._sleep(wait)
                attempt += 1
                continue
            if resp.status in (429, 503):
                raise RateLimited(f"{self.name}: HTTP {resp.status} (rate limited)")
            snippet = " ".join(resp.text()[:200].split())
            raise BadResponse(f"{self.name}: HTTP {resp.status}: {snippet}")
