"""Serve the API with uvicorn on a background thread, bound to 127.0.0.1 only.

The socket is bound here, before uvicorn starts, so a taken port fails at once with a clear
message and ``port=0`` tells us the port the OS picked.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import uvicorn
from starlette.types import ASGIApp

from ..errors import PllmSyncError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class _QuietServer(uvicorn.Server):
    """uvicorn wakes ten times a second to check for a shutdown (~0.1% of a core, the whole
    idle budget of the daemon, which idles for hours): here once a second. The ``Date``
    header still moves every second (``on_tick`` refreshes it on multiples of 10); a stop
    waits up to a second more."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000
            await asyncio.sleep(1.0)
            should_exit = await self.on_tick(counter)


class ApiServer:
    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.requested_port = port
        self.port = 0
        self._server: uvicorn.Server | None = None
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
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
