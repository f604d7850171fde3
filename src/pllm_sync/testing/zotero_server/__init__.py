"""An offline emulator of the Zotero Web API v3 (api.zotero.org), for tests and sandboxes.

It serves real HTTP on 127.0.0.1 so that the real pyzotero client (``zot.endpoint =
emu.base_url``) and raw HTTP tests exercise the same rules as the real server: versions and
preconditions, write reports, batch limits, trash and delete logs, schema validation, key
permissions. See ``docs/emulator.md`` for what is emulated and the known deviations.

    with ZoteroEmulator() as emu:
        zot = pyzotero.zotero.Zotero(emu.user_id, "user", emu.api_key)
        zot.endpoint = emu.base_url
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .app import EmulatorHTTPServer
from .control import Control
from .faults import FaultInjector
from .groups import group_library_id
from .library import (
    FULL_ACCESS,
    READ_ONLY_ACCESS,
    EmulatorState,
    Json,
    Library,
    VersionClock,
)
from .local import LocalApi
from .query import first
from .ratelimit import Clock, Decision, RateLimit, RateLimiter
from .render import Renderer
from .routes import Api, Request, Response
from .storage import MemoryStorage, SqliteStorage
from .validation import ObjectError

__all__ = [
    "FULL_ACCESS",
    "READ_ONLY_ACCESS",
    "RateLimit",
    "RequestRecord",
    "ZoteroEmulator",
    "group_library_id",
]

RequestHook = Callable[["ZoteroEmulator", str, str], None]


@dataclass
class RequestRecord:
    """One public-API request as the emulator saw it (``/_control`` calls are not logged)."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)


class ZoteroEmulator:
    """A Zotero Web API server on a background thread.

    ``db_path`` keeps the state in SQLite (a sandbox library that survives restarts); without
    it everything lives in memory. ``per_object_versions=False`` switches to the legacy
    one-version-per-request bumping. ``control=True`` serves the ``/_control`` API.
    ``rate_limit`` switches on the server's request-rate limiting (see :class:`RateLimit`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        user_id: int = 1,
        api_key: str = "TESTKEY",
        read_only_key: str | None = None,
        db_path: str | Path | None = None,
        control: bool = False,
        per_object_versions: bool = True,
        username: str = "testuser",
        display_name: str | None = None,
        site_url: str = "https://www.zotero.org",
        rate_limit: RateLimit | None = None,
        group_ids: tuple[int, ...] = (),
        local: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user_id = user_id
        self.api_key = api_key
        self.read_only_key = read_only_key
        self.control_enabled = control
        self.state = EmulatorState(per_object_versions=per_object_versions)
        self.storage: MemoryStorage | SqliteStorage = (
            SqliteStorage(db_path) if db_path is not None else MemoryStorage()
        )
        self.renderer = Renderer(self.state, "", site_url)
        self.api = Api(self.state, self.renderer)
        self.rate_limiter = RateLimiter(rate_limit)
        self.control = Control(self.state, self.rate_limiter)
        self.faults = FaultInjector()
        self.request_log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._hook: RequestHook | None = None
        self._write_listeners: list[Callable[[], None]] = []
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        with self.state.lock:
            self.storage.load(self.state)
            self.state.put_user(user_id, username, display_name)
            self.state.put_key(api_key, user_id, FULL_ACCESS)
            if read_only_key is not None:
                self.state.put_key(read_only_key, user_id, READ_ONLY_ACCESS)
            for group_id in group_ids:  # served at /groups/<id>/ (see groups.py)
                self.state.library(group_library_id(group_id))
            self.storage.flush(self.state)
        # the desktop's local API (Zotero 7 or 10) in front of the Web API rules: local.py
        self.local = (
            LocalApi(self.state, user_id, local, lambda: self.renderer.base_url)
            if local is not None
            else None
        )

    # -------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self.renderer.base_url

    def start(self) -> ZoteroEmulator:
        if self._server is not None:
            return self
        with self.state.lock:
            self.storage.open()
        self._server = EmulatorHTTPServer((self.host, self.port), self)
        self.port = int(self._server.server_address[1])
        self.renderer.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"zotero-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        with self.state.lock:
            self.storage.close()

    def __enter__(self) -> ZoteroEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- serving
    def serve(self, request: Request, client_ip: str, raw_headers: dict[str, str]) -> Response:
        """Answer one HTTP request (called on the server's handler threads)."""
        if request.path == "/_control" or request.path.startswith("/_control/"):
            if not self.control_enabled or not _is_loopback(client_ip):
                return Response(404, b"Not found", {"Content-Type": "text/plain; charset=utf-8"})
            with self.state.lock:
                try:
                    return self.control.handle(request)
                finally:
                    self.storage.flush(self.state)
                    self._notify_writes()
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        limited = None if fault is not None else self._rate_check(request, client_ip)
        if limited is not None and limited.status is not None:
            response = Response(
                limited.status,
                limited.message.encode("utf-8"),
                {
                    "Content-Type": "text/plain; charset=utf-8",
                    "Zotero-API-Version": "3",
                    **limited.headers,
                },
            )
        elif fault is not None and not fault.execute:
            response = Response(
                fault.status,
                fault.body.encode("utf-8"),
                {
                    "Content-Type": "text/plain; charset=utf-8",
                    "Zotero-API-Version": "3",
                    **fault.headers,
                },
            )
        else:
            hook = self._hook
            if hook is not None:
                hook(self, request.method, request.path)
            with self.state.lock:
                try:
                    response = (
                        self.local.handle(request, self.api.handle)
                        if self.local is not None
                        else self.api.handle(request)
                    )
                finally:
                    self.storage.flush(self.state)
            if fault is not None:
                response.headers.update(fault.headers)
            if limited is not None:
                response.headers.update(limited.headers)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                self._notify_writes()
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query={k: list(v) for k, v in request.query.items()},
            status=response.status,
            request_headers=dict(raw_headers),
            response_headers=dict(response.headers),
        )
        with self._log_lock:
            self.request_log.append(record)
        return response

    def _rate_check(self, request: Request, client_ip: str) -> Decision | None:
        """DS buckets: ``userID_address`` for a request with a known key, else the address."""
        bucket = client_ip
        key = request.header("zotero-api-key") or first(request.query, "key")
        auth = request.header("authorization") or ""
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if key:
            with self.state.lock:
                api_key = self.state.keys.get(key)
            if api_key is not None:
                bucket = f"{api_key.user_id}_{client_ip}"
        return self.rate_limiter.check(bucket)

    def set_rate_limit(self, limit: RateLimit | None, *, clock: Clock | None = None) -> None:
        """Switch realistic rate limiting on (fresh buckets) or off (None)."""
        self.rate_limiter.configure(limit, clock)

    # ---------------------------------------------------------- test controls
    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

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
        """Answer the next ``count`` matching requests (after letting ``after`` through) with
        ``status`` without running them; a 2xx ``status`` runs them and adds the headers."""
        self.faults.inject(
            status,
            count=count,
            after=after,
            method=method,
            path=path,
            retry_after=retry_after,
            backoff=backoff,
            delay=delay,
            body=body,
        )

    def fail_after(self, n: int, status: int = 500) -> None:
        """Let ``n`` more requests through, then fail every request until :meth:`clear_faults`."""
        self.faults.fail_after(n, status)

    def clear_faults(self) -> None:
        self.faults.clear()

    def add_write_listener(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after every write (the streaming API's hook)."""
        self._write_listeners.append(fn)

    def remove_write_listener(self, fn: Callable[[], None]) -> None:
        if fn in self._write_listeners:
            self._write_listeners.remove(fn)

    def _notify_writes(self) -> None:
        for fn in list(self._write_listeners):
            try:
                fn()
            except Exception:  # a listener must never break the API
                import logging

                logging.getLogger(__name__).exception("write listener failed")

    def on_request(self, hook: RequestHook | None) -> None:
        """Run ``hook(emu, method, path)`` before each API request is handled."""
        self._hook = hook

    # ------------------------------------------------------ direct state access
    def _lib(self, user_id: int | None) -> Library:
        return self.state.library(self.user_id if user_id is None else user_id)

    def library_version(self, user_id: int | None = None) -> int:
        with self.state.lock:
            return self._lib(user_id).version

    def get_items(
        self, user_id: int | None = None, include_trashed: bool = True
    ) -> dict[str, Json]:
        with self.state.lock:
            return {
                key: _copy(rec.data)
                for key, rec in self._lib(user_id).items.items()
                if include_trashed or not rec.data.get("deleted")
            }

    def get_collections(self, user_id: int | None = None) -> dict[str, Json]:
        with self.state.lock:
            return {key: _copy(rec.data) for key, rec in self._lib(user_id).collections.items()}

    def _write(
        self, kind: str, data: Json, user_id: int | None, *, key: str | None
    ) -> tuple[str, int]:
        with self.state.lock:
            lib = self._lib(user_id)
            if key is not None and key not in lib.objects[kind]:
                raise KeyError(f"no {kind[:-1]} {key} in library {lib.user_id}")
            clock = VersionClock(lib, self.state.per_object_versions)
            try:
                result = self.state.write_object(
                    kind,
                    lib,
                    dict(data),
                    clock=clock,
                    mode="patch" if key else "post",
                    url_key=key,
                    version_validated=True,
                )
            except ObjectError as exc:
                raise ValueError(f"{exc.code}: {exc.message}") from None
            finally:
                self.storage.flush(self.state)
            out = result.key, lib.objects[kind][result.key].version
        self._notify_writes()
        return out

    def edit_item(self, key: str, changes: Json, user_id: int | None = None) -> int:
        """PATCH-like edit as if made on another device; returns the item's version."""
        return self._write("items", changes, user_id, key=key)[1]

    def edit_collection(self, key: str, changes: Json, user_id: int | None = None) -> int:
        return self._write("collections", changes, user_id, key=key)[1]

    def create_item(self, data: Json, user_id: int | None = None) -> str:
        """Create an item (a new key unless ``data`` carries one); returns the key."""
        body = dict(data)
        if "key" in body:
            body.setdefault("version", 0)
        return self._write("items", body, user_id, key=None)[0]

    def create_collection(self, data: Json, user_id: int | None = None) -> str:
        body = dict(data)
        if "key" in body:
            body.setdefault("version", 0)
        return self._write("collections", body, user_id, key=None)[0]

    def trash_item(self, key: str, user_id: int | None = None) -> int:
        return self.edit_item(key, {"deleted": 1}, user_id)

    def _delete(self, kind: str, key: str, user_id: int | None) -> None:
        with self.state.lock:
            lib = self._lib(user_id)
            if key not in lib.objects[kind]:
                raise KeyError(f"no {kind[:-1]} {key} in library {lib.user_id}")
            try:
                self.state.delete_objects(kind, lib, [key])
            finally:
                self.storage.flush(self.state)
        self._notify_writes()

    def delete_item(self, key: str, user_id: int | None = None) -> None:
        self._delete("items", key, user_id)

    def delete_collection(self, key: str, user_id: int | None = None) -> None:
        self._delete("collections", key, user_id)

    def bump_library_version(self, user_id: int | None = None) -> int:
        """Advance the library version without changing any object (a remote write to
        something the client does not track, e.g. a setting)."""
        with self.state.lock:
            lib = self._lib(user_id)
            version = lib.bump()
            self.storage.flush(self.state)
        self._notify_writes()
        return version


def _copy(data: Json) -> Json:
    import copy

    return copy.deepcopy(data)


def _is_loopback(ip: str) -> bool:
    return ip == "::1" or ip.startswith("127.") or ip == "localhost"
