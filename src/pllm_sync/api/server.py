"""Serve the API with uvicorn on a background thread, bound to 127.0.0.1 only.

The socket is bound here, before uvicorn starts, so a taken port fails at once with a clear
message and ``port=0`` tells us the port the OS picked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from email.utils import formatdate

import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import ServerState

from ..errors import PllmSyncError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class _DatedState(ServerState):
    """uvicorn's shared state whose ``Date`` header is made when a response reads it (once a
    request, cached for the second) instead of by a timer: the idle server has no timer."""

    def __init__(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._second = -1
        self._date = b""
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        now = int(time.time())
        if now != self._second:
            self._second, self._date = now, formatdate(now, usegmt=True).encode()
        return [(b"date", self._date), *self._headers]

    @default_headers.setter
    def default_headers(self, value: list[tuple[bytes, bytes]]) -> None:
        self._headers = list(value)  # uvicorn's own headers (date_header=False: no Date)


class _QuietServer(uvicorn.Server):
    """uvicorn wakes ten times a second, to check for a shutdown and to refresh its ``Date``
    header; the daemon idles for hours, and even once a second was ~2 ticks a minute, a
    third of its idle budget. Here the ``Date`` header is made per response
    (``_DatedState``) and the loop sleeps until ``request_exit`` wakes it: an idle server
    runs no Python at all (asyncio waits in ``epoll`` with no timeout)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.server_state = _DatedState()
        self._exit: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        # made before should_exit is read: a request_exit() that misses them set should_exit
        # before this reads it (see request_exit)
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        should_exit = await self.on_tick(0)
        while not should_exit:
            await self._exit.wait()
            self._exit.clear()
            should_exit = await self.on_tick(0)

    def request_exit(self) -> None:
        """Stop serving (from any thread): set the flag uvicorn reads, then wake the loop."""
        self.should_exit = True
        loop, event = self._loop, self._exit
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(event.set)


class ApiServer:
    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.requested_port = port
        self.port = 0
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self.requested_port))
        except OSError as exc:
            sock.close()
            raise PllmSyncError(
                f"cannot serve the local API on {HOST}:{self.requested_port}: {exc.strerror}",
                hint="another program (or another `pllm-sync watch`) uses that port; set "
                "api.port in the config (0 = any free port) or api.enabled: false",
            ) from exc
        sock.listen(64)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            ws="none",
            date_header=False,  # _DatedState adds it per response
        )
        server = _QuietServer(config)
        self._server = server
        started = threading.Event()

        def serve() -> None:
            async def main() -> None:
                task = asyncio.create_task(server.serve(sockets=[sock]))
                while not server.started and not task.done():
                    await asyncio.sleep(0.01)
                started.set()
                await task

            try:
                asyncio.run(main())
            finally:
                started.set()
                sock.close()

        self._thread = threading.Thread(target=serve, name="pllm-sync-api", daemon=True)
        self._thread.start()
        started.wait(10)
        log.info("local API at %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
