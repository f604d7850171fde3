"""The API's routes and guards, as a Starlette app (uvicorn serves it, see ``server.py``).

Guards run before routing, in this order: a ``Host`` that is not loopback is refused (421,
DNS rebinding); an ``Origin`` that is not Obsidian or localhost is refused (403); a CORS
preflight (``OPTIONS``) is answered without a token; anything else needs the bearer token
(401), except ``/openapi.json``, which holds no data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import API_VERSION
from .auth import host_ok, origin_ok, token_ok
from .backend import Backend, ConflictClosed
from .openapi import openapi_document

log = logging.getLogger(__name__)

ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID"
ALLOW_METHODS = "GET, POST, OPTIONS"
PUBLIC_PATHS = frozenset({"/openapi.json"})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _cors(origin: str | None) -> dict[str, str]:
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


class Guard:
    """Host, Origin, preflight and token checks around the whole app (pure ASGI, so it also
    guards the streaming response)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        response: Response | None = None
        if not host_ok(headers.get("host")):
            response = _error(421, "the API answers only requests to 127.0.0.1 or localhost")
        elif origin is not None and not origin_ok(origin):
            response = _error(403, f"origin {origin!r} is not allowed")
        elif scope["method"] == "OPTIONS":
            response = Response(status_code=204, headers=_cors(origin))
        elif scope["path"] not in PUBLIC_PATHS and not token_ok(
            headers.get("authorization"), self.token
        ):
            response = _error(
                401,
                "missing or wrong bearer token (read it from the api_token_file "
                "named in daemon.json)",
                {"WWW-Authenticate": "Bearer", **_cors(origin)},
            )
        if response is not None:
            await response(scope, receive, send)
            return
        cors = _cors(origin)

        async def send_with_cors(message: Any) -> None:
            if message["type"] == "http.response.start" and cors:
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in cors.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(fn: Handler) -> Handler:
    """Map the backend's exceptions to status codes."""

    async def wrapper(request: Request) -> Response:
        try:
            return await fn(request)
        except LookupError as exc:
            return _error(404, str(exc.args[0]) if exc.args else "not found")
        except ConflictClosed as exc:
            return _error(409, str(exc))
        except ValueError as exc:
            return _error(400, str(exc))

    return wrapper


def create_app(backend: Backend, token: str, *, heartbeat: float = 15.0) -> ASGIApp:
    """The API for ``backend``; ``heartbeat`` is the SSE keep-alive interval in seconds."""

    async def status(request: Request) -> Response:
        return JSONResponse(backend.status())

    async def sync(request: Request) -> Response:
        body = await _json_body(request)
        dry = body.get("dry_run", False)
        if not isinstance(dry, bool):
            raise ValueError("dry_run must be true or false")
        return JSONResponse(backend.start_sync(dry), status_code=202)

    async def run(request: Request) -> Response:
        return JSONResponse(backend.get_run(request.path_params["run_id"]))

    async def conflicts(request: Request) -> Response:
        return JSONResponse({"conflicts": backend.conflicts()})

    async def resolve(request: Request) -> Response:
        body = await _json_body(request)
        take = body.get("take")
        if take is not None and take not in ("zotero", "vault"):
            raise ValueError('take must be "zotero" or "vault"')
        if (take is None) == ("value" not in body):
            raise ValueError('give either {"take": "zotero"|"vault"} or {"value": merged}')
        result = backend.resolve(request.path_params["conflict_id"], take, body.get("value"))
        return JSONResponse(result, status_code=202)

    async def papers(request: Request) -> Response:
        query = request.query_params.get("query", "")
        raw_limit = request.query_params.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
            raise ValueError("limit must be a number from 1 to 500")
        return JSONResponse({"papers": backend.papers(query, int(raw_limit))})

    async def paper(request: Request) -> Response:
        return JSONResponse(backend.paper(request.path_params["pllm_id"]))

    async def events(request: Request) -> Response:
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        try:
            last_id = int(last) if last is not None else backend.events.last_id
        except ValueError:
            raise ValueError("Last-Event-ID must be a number") from None

        async def stream() -> AsyncIterator[bytes]:
            nonlocal last_id
            yield b"retry: 2000\n: connected\n\n"
            while True:
                found = await backend.events.wait(last_id, heartbeat)
                if not found:
                    yield b": heartbeat\n\n"
                    continue
                for ev in found:
                    last_id = ev.id
                    yield ev.encode()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    routes = [
        Route("/v1/status", _guarded(status), methods=["GET"]),
        Route("/v1/sync", _guarded(sync), methods=["POST"]),
        Route("/v1/runs/{run_id}", _guarded(run), methods=["GET"]),
        Route("/v1/conflicts", _guarded(conflicts), methods=["GET"]),
        Route("/v1/conflicts/{conflict_id:int}/resolve", _guarded(resolve), methods=["POST"]),
        Route("/v1/papers", _guarded(papers), methods=["GET"]),
        Route("/v1/papers/{pllm_id}", _guarded(paper), methods=["GET"]),
        Route("/v1/events", _guarded(events), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "no such resource (see /openapi.json)")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, "method not allowed (see /openapi.json)")

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_allowed)
    log.debug("API version %s ready", API_VERSION)
    return Guard(app, token)
