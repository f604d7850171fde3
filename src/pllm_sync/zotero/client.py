"""HTTP to the Zotero Web API: pyzotero for reads, raw requests where pyzotero falls short.

pyzotero is good at reads (URL building, ``Link`` pagination, JSON decoding). Its writes are
not safe enough for a tool that must never duplicate or lose anything (zotero-api.md §2):
``create_items`` neither chunks nor retries and makes a new write token per call,
``update_items`` ignores ``failed`` and silently drops a rate-limited chunk, and
``update_collection(s)`` are broken or move collections to the top level. So writes go out
as raw requests through pyzotero's own ``httpx2`` client with the headers the API wants.

Everything shares one backoff clock: ``Backoff``/``Retry-After`` seen on any response,
pyzotero's or ours, delays the next request. Waiting goes through an injectable ``sleep`` so
tests can assert the waits without waiting. The API key travels only in the
``Authorization`` header — never in a URL (we avoid pyzotero's ``key_info``, which puts it in
the path) — and every message is passed through ``redact``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
import types
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ..config import ZoteroConfig
from ..credentials import redact
from ..errors import ZoteroError
from . import errors as zerr

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]

TIMEOUT = 30.0
"""Seconds the HTTP client waits for a connection or an answer."""

FAST_JSON_BYTES = 32_768
"""From this size an answer is decoded with orjson (a batch's write report is ~100 KB)."""

TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})
"""Request-level statuses worth retrying: lock (409), rate limits, server trouble."""


class Stopped(BaseException):
    """The run that makes these requests stopped (``Backoff.stop``): no request goes out."""


class Backoff:
    """The earliest time the next request may go out (monotonic clock)."""

    def __init__(self, sleep: Sleep, clock: Clock = time.monotonic) -> None:
        self._sleep = sleep
        self._clock = clock
        self._until = 0.0
        self.waits: list[float] = []
        self.stop: threading.Event | None = None
        """Set by a run whose requests another thread makes (``sync/zotero_writes.py``)
        when it stops: a wait for the server ends at once, and the request it delayed is not
        sent (``Stopped``). Else Ctrl-C would wait out a ``Retry-After`` (minutes, at worst)
        in that thread, and that write would still go out after the run had stopped."""

    def defer(self, seconds: float) -> None:
        if seconds > 0:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> None:
        remainder = self._until - self._clock()
        self._until = 0.0
        if remainder > 0:
            self.waits.append(remainder)
            stop = self.stop
            if stop is None or self._sleep is not time.sleep:
                self._sleep(remainder)
            elif stop.wait(remainder):  # cut short: the request it delayed is not sent
                raise Stopped

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` now (retry spacing), plus whatever the server asked for."""
        self.defer(seconds)
        self.wait()


def _header_seconds(headers: Mapping[str, str]) -> float | None:
    best: float | None = None
    for name in ("Backoff", "Retry-After"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            val = float(raw)
        except ValueError:
            continue
        best = val if best is None else max(best, val)
    return best


if TYPE_CHECKING:
    import ssl
    import threading
    from http.client import HTTPConnection

    import httpx2
    from pyzotero.zotero import Zotero


class _Deferred(types.ModuleType):
    """A stand-in for a module pyzotero imports at its top but uses only for answers we
    never ask for (``format=bibtex``, Atom feeds): the real module is imported, and takes
    the stand-in's place in ``sys.modules``, when anything first looks up a name it lacks
    (any name, ``__path__`` and ``__version__`` included, so submodules import as usual).
    ``import`` itself only reads what every module has (``__spec__``...), which stays cheap."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pllm_real(), name)

    def _pllm_real(self) -> types.ModuleType:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        try:
            return importlib.import_module(name)
        except BaseException:
            sys.modules.setdefault(name, self)
            raise


_DEFERRED = ("bibtexparser", "feedparser")
"""What pyzotero imports for formats we never read: bibtexparser (and pyparsing under it)
and feedparser cost about as much to import as the rest of pyzotero together."""


def _defer_unused_pyzotero_imports() -> None:
    """Put :class:`_Deferred` stand-ins in ``sys.modules`` for :data:`_DEFERRED`, unless
    pyzotero or the module itself is already imported (then they cost nothing more)."""
    if "pyzotero" in sys.modules:
        return
    for name in _DEFERRED:
        if name not in sys.modules:
            sys.modules[name] = _Deferred(name)


@cache
def _pllm_zotero() -> type[Zotero]:
    """pyzotero's client class with our backoff, defined on first use: importing pyzotero
    costs more than a whole no-op sync, which asks its one question with a raw request."""
    _defer_unused_pyzotero_imports()
    from pyzotero import zotero as pyzotero_zotero

    class PllmZotero(pyzotero_zotero.Zotero):
        """pyzotero with its backoff routed through our shared, injectable ``Backoff``."""

        pllm_backoff: Backoff

        def _set_backoff(self, duration: str | float) -> None:
            try:
                self.pllm_backoff.defer(float(duration))
            except ValueError:
                self.pllm_backoff.defer(1.0)

        def _check_backoff(self) -> None:
            self.pllm_backoff.wait()

    return PllmZotero


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def tls_for(endpoint: str) -> bool | ssl.SSLContext:
    """What the HTTP client verifies TLS with. A loopback endpoint (the desktop's local API,
    the sandbox, a test emulator) speaks plain HTTP: it gets a verifying context without
    trust anchors, cheap to make (loading the system's CA bundle costs more than a whole
    no-op sync's stat walk) and failing closed should TLS ever be asked of it. Any other
    endpoint (``https://localhost`` too) verifies against the system's anchors as usual."""
    url = urlsplit(endpoint) if "://" in endpoint else None
    if url is None or url.scheme.lower() != "http" or not _loopback(url.netloc):
        return True
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname, no CAs


def _loopback(netloc: str) -> bool:
    """Whether a URL's host (``netloc`` without user info and port) is a loopback name."""
    host = netloc.rpartition("@")[2].lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]" in _LOOPBACK
    return host.partition(":")[0] in _LOOPBACK


@cache
def _pyzotero_version() -> str:
    """pyzotero's version, as its ``User-Agent`` names it, without importing pyzotero: read
    off its ``.dist-info`` folder's name where an installer left one on ``sys.path`` (no
    import of ``importlib.metadata``, which costs a settled no-op a tenth of its CPU), else
    from the installed metadata."""
    import os
    import sys

    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.lower().startswith("pyzotero-") and name.endswith(".dist-info"):
                return name[len("pyzotero-") : -len(".dist-info")]
    import importlib.metadata

    try:
        return importlib.metadata.version("pyzotero")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def library_label(config: ZoteroConfig) -> str:
    return f"{config.library_type} library {config.library_id}"


def malformed(what: str, detail: str) -> ZoteroError:
    return ZoteroError(
        f"Zotero answered with something that is not the JSON expected while {what} "
        f"({detail or 'empty body'})",
        hint="a proxy or captive portal may stand between you and Zotero, or the server had "
        "a hiccup: check zotero.endpoint and your network, then run again (nothing was "
        "written for what failed; a rerun converges)",
    )


class ZoteroHttp:
    """One library's connection: counting, backoff, retries and error mapping."""

    def __init__(
        self,
        config: ZoteroConfig,
        api_key: str,
        *,
        client: httpx2.Client | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        attempts: int = 4,
        retry_delay: float = 1.0,
    ) -> None:
        if not config.library_id:
            raise ZoteroError(
                "zotero.library_id is not set",
                hint="run `pllm-sync init` or set zotero.library_id in the config",
            )
        self.config = config
        self.endpoint = config.endpoint.rstrip("/")
        self.prefix = f"/{config.library_type}s/{config.library_id}"
        self.library = library_label(config)
        self._api_key = api_key
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self.backoff = Backoff(sleep, clock)
        self.request_count = 0
        self.local = config.local
        self.server_id: str | None = None
        """The desktop's ``Zotero-Server-ID`` (local API only), sent on every write."""
        self._http = client
        if client is not None:
            client.event_hooks["request"].append(self._count)
        self._zot: Zotero | None = None
        self.lean_conn: HTTPConnection | None = None
        """The daemon's kept-alive connection for its polls' lean request (``lean.py``)."""
        self.last_version: int | None = None
        """``Last-Modified-Version`` of the latest multi-object response (a library version)."""
        self.read_version: int | None = None
        """Every change up to this library version has been read or written by this store:
        the safe ``since`` for the next read (``last_version`` may be ahead after a 412)."""

    @property
    def http(self) -> httpx2.Client:
        """The HTTP client, made on first use: importing and setting up httpx2 costs a
        settled no-op sync more than the rest of its work (see ``lean.py``)."""
        if self._http is None:
            import httpx2

            self._http = httpx2.Client(
                follow_redirects=True,
                timeout=TIMEOUT,
                trust_env=not self.local,
                verify=tls_for(self.endpoint),
            )
            self._http.event_hooks["request"].append(self._count)
        return self._http

    @property
    def connected(self) -> bool:
        """Whether the HTTP client exists (a request went out through it)."""
        return self._http is not None

    @property
    def zot(self) -> Zotero:
        """The pyzotero client for reads, made on first use (see ``_pllm_zotero``)."""
        if self._zot is None:
            cfg = self.config
            zot = _pllm_zotero()(
                cfg.library_id, cfg.library_type, self._api_key, client=self.http, local=self.local
            )
            zot.pllm_backoff = self.backoff  # type: ignore[attr-defined]
            zot.endpoint = self.endpoint
            self._zot = zot
        return self._zot

    def _default_headers(self) -> dict[str, str]:
        """pyzotero's headers for every request (the same dict before it is loaded)."""
        if self._zot is not None:
            return dict(self._zot.default_headers())
        headers = {"User-Agent": f"Pyzotero/{_pyzotero_version()}", "Zotero-API-Version": "3"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _count(self, request: httpx2.Request) -> None:
        self.request_count += 1

    def redact(self, text: str) -> str:
        return redact(text, self._api_key)

    # -------------------------------------------------------------- raw requests

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        attempts: int | None = None,
        library_version: bool = True,
    ) -> httpx2.Response:
        """Send one request, retrying transport errors, 429 and 5xx (same body, same headers,
        so the same write token). Returns the final response, whatever its status. The body
        is ``json_body`` (encoded by httpx2) or ``content``, bytes already encoded."""
        tries = attempts or self.attempts
        url = self.endpoint + path
        hdrs = {**self._default_headers(), **(headers or {})}
        if self.local and method not in ("GET", "HEAD"):
            if self.server_id:
                hdrs["Zotero-Server-ID"] = self.server_id
            if self._api_key:
                hdrs["Zotero-API-Key"] = self._api_key  # the form the desktop documents
        last_reason = ""
        http = self.http
        import httpx2

        for attempt in range(tries):
            self.backoff.wait()
            try:
                resp = http.request(
                    method,
                    url,
                    params=dict(params or {}),
                    json=json_body,
                    content=content,
                    headers=hdrs,
                )
            except httpx2.TransportError as exc:
                last_reason = type(exc).__name__
                log.info("Zotero %s %s: %s (attempt %d)", method, path, last_reason, attempt + 1)
                if attempt + 1 < tries:
                    self.backoff.pause(self.retry_delay * 2**attempt)
                    continue
                raise zerr.unreachable(self.endpoint, last_reason) from None
            wait = _header_seconds(resp.headers)
            if wait:
                self.backoff.defer(wait)
            if library_version:
                self._note_version(resp)
            if resp.status_code in TRANSIENT_STATUS and attempt + 1 < tries:
                log.info("Zotero %s %s → %d, retrying", method, path, resp.status_code)
                if not wait:
                    self.backoff.pause(self.retry_delay * 2**attempt)
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _note_version(self, resp: httpx2.Response) -> None:
        lmv = resp.headers.get("Last-Modified-Version")
        if lmv and lmv.isdigit() and resp.status_code in (200, 204, 304, 412):
            self.last_version = int(lmv)

    def fail(self, resp: httpx2.Response, what: str) -> ZoteroError:
        """The ZoteroError for an unexpected response to ``what``."""
        body = self.redact(resp.text.strip())[:300]
        status = resp.status_code
        if status == 403:
            if "Invalid key" in body:
                return zerr.invalid_key()
            if "Write access denied" in body or "write" in body.lower():
                return zerr.no_write_access(self.library)
            return zerr.no_read_access(self.library)
        if status in TRANSIENT_STATUS:
            return ZoteroError(
                f"Zotero kept failing while {what} (HTTP {status}: {body or 'no details'})",
                hint="Zotero may be busy or down; wait a few minutes and run the command "
                "again (nothing is duplicated by a rerun)",
            )
        return ZoteroError(
            f"Zotero refused {what} (HTTP {status}: {body or 'no details'})",
            hint="this looks like a pllm-sync bug; please report it with the log "
            "(run with --verbose)",
        )

    def json_of(self, resp: httpx2.Response, what: str, kind: type = dict) -> Any:
        """The JSON body of a successful response, or a clear ZoteroError (exit code 4) when
        it is not JSON of the expected shape (a proxy's HTML page, a cut-off answer)."""
        try:
            body = resp.content
            if len(body) >= FAST_JSON_BYTES:
                import orjson  # here: importing it costs more than decoding a small answer

                data = orjson.loads(body)  # a batch's write report: ~3x json's speed
            else:
                data = resp.json()
        except ValueError:  # orjson.JSONDecodeError is one
            data = None
        if not isinstance(data, kind):
            raise malformed(what, self.redact(resp.text.strip())[:120])
        return data

    # -------------------------------------------------------------- pyzotero reads

    def pz(self, call: Callable[[], T], what: str) -> T:
        """Run a pyzotero read, retrying what is transient and mapping errors to ZoteroError."""
        import httpx2

        _defer_unused_pyzotero_imports()
        from pyzotero.errors import PyZoteroError

        for attempt in range(self.attempts):
            self.zot.url_params = None
            try:
                result = call()
            except httpx2.TransportError as exc:
                if attempt + 1 < self.attempts:
                    self.backoff.pause(self.retry_delay * 2**attempt)
                    continue
                raise zerr.unreachable(self.endpoint, type(exc).__name__) from None
            except ValueError as exc:  # pyzotero decoding a body that is not JSON
                raise malformed(what, self.redact(str(exc))[:120]) from None
            except PyZoteroError as exc:
                resp = self.zot.request
                status = resp.status_code if resp is not None else None
                retry = status in TRANSIENT_STATUS or type(exc).__name__ == "TooManyRetriesError"
                if retry and attempt + 1 < self.attempts:
                    log.info("Zotero read %s → %s, retrying", what, status)
                    self.backoff.pause(self.retry_delay * 2**attempt)
                    continue
                if resp is not None and status is not None and status >= 400:
                    raise self.fail(resp, what) from None
                raise ZoteroError(
                    f"Zotero read failed while {what}: {self.redact(str(exc))[:300]}",
                    hint="retry; if it persists, report it with the log",
                ) from None
            resp = self.zot.request
            if resp is not None:
                self._note_version(resp)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def pz_all(self, first: Callable[[], list[Any]], what: str) -> tuple[list[Any], list[int]]:
        """A paged pyzotero read (``Link: rel=next``), with every page's library version."""
        out = list(self.pz(first, what))
        versions = [self.last_version] if self.last_version is not None else []
        while self.zot.links and self.zot.links.get("next"):
            out.extend(self.pz(self.zot.follow, what))
            if self.last_version is not None:
                versions.append(self.last_version)
        return out, versions

    # -------------------------------------------------------------- access

    def key_info(self) -> dict[str, Any]:
        """``GET /keys/current``: who the key belongs to and what it may do."""
        resp = self.request("GET", "/keys/current", attempts=2, library_version=False)
        if resp.status_code == 200:
            info: dict[str, Any] = self.json_of(resp, "checking the API key")
            return info
        if resp.status_code in (403, 404) and "Invalid key" in resp.text:
            raise zerr.invalid_key()
        if resp.status_code == 404:
            raise zerr.invalid_key()
        raise self.fail(resp, "checking the API key")

    def use_key(self, key: str) -> None:
        """Send ``key`` from now on (the local API's per-run write key)."""
        self._api_key = key
        if self._zot is not None:
            self._zot.api_key = key

    def check_access(self, write: bool = True) -> dict[str, Any]:
        if self.local:
            from .local_api import check_local_access

            return check_local_access(self, write)
        info = self.key_info()
        access = info.get("access") or {}
        lib = str(self.config.library_id)
        if self.config.library_type == "user":
            owner = str(info.get("userID", ""))
            if owner != lib:
                raise zerr.wrong_library(f"user {owner}", self.library)
            user = access.get("user") or {}
            if not user.get("library"):
                raise zerr.no_read_access(self.library)
            if write and not user.get("write"):
                raise zerr.no_write_access(self.library)
        else:
            groups = access.get("groups") or {}
            grant = groups.get(lib) or groups.get("all")
            if not grant or not grant.get("library"):
                raise zerr.wrong_library(f"user {info.get('userID')}", self.library)
            if write and not grant.get("write"):
                raise zerr.no_write_access(self.library)
        return info
