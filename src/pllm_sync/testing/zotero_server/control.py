"""The test-mode control API under ``/_control`` (shared/zotero-emulator-control.md): set up
users, API keys and clean libraries from a test suite, over HTTP.

Served only when the emulator runs with ``control=True`` (``--control``) and only to loopback
clients. Control calls never bump a library version (except ``clear``, which must) and never
show up in ``/deleted`` or in the request log."""

from __future__ import annotations

import json

from .library import FULL_ACCESS, ApiError, EmulatorState, Json, new_api_key
from .ratelimit import RateLimit, RateLimiter
from .render import dumps
from .routes import Request, Response, error_text


class Control:
    def __init__(self, state: EmulatorState, limiter: RateLimiter | None = None) -> None:
        self.state = state
        self.limiter = limiter

    def handle(self, req: Request) -> Response:
        try:
            return self._dispatch(req)
        except ApiError as exc:
            return Response(
                exc.status, error_text(exc.message), {"Content-Type": "text/plain; charset=utf-8"}
            )

    def _dispatch(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p][1:]  # drop "_control"
        method = req.method
        state = self.state
        if parts == ["reset"] and method == "POST":
            state.reset()
            return Response(204)
        if len(parts) >= 2 and parts[0] == "users":
            user_id = _user_id(parts[1])
            if len(parts) == 2 and method == "PUT":
                body = _json(req)
                username = body.get("username")
                if not isinstance(username, str) or not username:
                    raise ApiError(400, "'username' must be provided")
                display = body.get("displayName")
                state.put_user(user_id, username, display if isinstance(display, str) else None)
                return Response(204)
            if user_id not in state.users:
                raise ApiError(404, f"User {user_id} not found")
            if parts[2:] == ["keys"] and method == "POST":
                body = _json(req, optional=True)
                access = body.get("access", FULL_ACCESS)
                if not isinstance(access, dict):
                    raise ApiError(400, "'access' must be an object")
                key = new_api_key()
                while key in state.keys:
                    key = new_api_key()
                state.put_key(key, user_id, access)
                return Response(201, dumps({"key": key}), {"Content-Type": "application/json"})
            if parts[2:] == ["clear"] and method == "POST":
                state.clear_library(user_id)
                return Response(204)
        if parts == ["rate_limit"] and self.limiter is not None:
            return self._rate_limit(req, self.limiter)
        if len(parts) == 2 and parts[0] == "keys" and method == "PUT":
            api_key = state.keys.get(parts[1])
            if api_key is None:
                raise ApiError(404, "Key not found")
            access = _json(req).get("access")
            if not isinstance(access, dict):
                raise ApiError(400, "'access' must be an object")
            state.put_key(api_key.key, api_key.user_id, access)
            return Response(204)
        raise ApiError(404, "Not found")

    @staticmethod
    def _rate_limit(req: Request, limiter: RateLimiter) -> Response:
        """``GET`` the current limit (``null`` when off), ``PUT`` one on, ``DELETE`` it."""
        if req.method == "GET":
            limit = limiter.limit
            body = dumps(limit.to_json() if limit is not None else None)
            return Response(200, body, {"Content-Type": "application/json"})
        if req.method == "PUT":
            try:
                limiter.configure(RateLimit.from_json(_json(req)))
            except (TypeError, ValueError) as exc:
                raise ApiError(400, f"Invalid rate limit: {exc}") from None
            return Response(204)
        if req.method == "DELETE":
            limiter.configure(None)
            return Response(204)
        raise ApiError(405, "Method not allowed")


def _user_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"Invalid user ID '{text}'") from None
    if value <= 0:
        raise ApiError(400, f"Invalid user ID '{text}'")
    return value


def _json(req: Request, *, optional: bool = False) -> Json:
    if not req.body:
        if optional:
            return {}
        raise ApiError(400, "Request body must be a JSON object")
    try:
        value = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Request body must be a JSON object") from None
    if not isinstance(value, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return value
