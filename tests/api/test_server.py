"""The API server's thread: idle without a timer, a ``Date`` header per response, a prompt
stop. (The daemon idles for hours; uvicorn's own loop woke ten times a second.)"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from email.utils import parsedate_to_datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pllm_sync.api.server import ApiServer


def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def _timers(server: ApiServer) -> int:
    """Timers pending on the server's event loop (asyncio keeps them in ``_scheduled``)."""
    inner = server._server
    assert inner is not None and inner._loop is not None
    loop = inner._loop

    async def count() -> int:
        return sum(1 for h in getattr(loop, "_scheduled", []) if not h.cancelled())

    return asyncio.run_coroutine_threadsafe(count(), loop).result(timeout=5)


def test_idle_server_has_no_timer_and_still_dates_its_answers() -> None:
    server = ApiServer(Starlette(routes=[Route("/", _hello)]), 0).start()
    try:
        assert _timers(server) == 0, "an idle server must not wake up on a timer"
        before = int(time.time())
        with urllib.request.urlopen(server.url + "/", timeout=5) as resp:
            body, date = resp.read(), resp.headers.get("Date")
        after = int(time.time())
        assert body == b"hello"
        assert date is not None and date.endswith(" GMT")
        assert before <= parsedate_to_datetime(date).timestamp() <= after
        assert len(resp.headers.get_all("Date") or []) == 1
    finally:
        thread = server._thread
        server.stop()
    assert thread is not None and not thread.is_alive(), "stop() ends the server's thread"


def test_stop_right_after_start_ends_the_thread() -> None:
    server = ApiServer(Starlette(routes=[Route("/", _hello)]), 0).start()
    thread = server._thread
    server.stop()
    assert thread is not None and not thread.is_alive()
