"""The Zotero desktop's local API (``http://localhost:23119/api/``), in front of the Web API
rules (see /work/shared/zotero-api.md section 6).

What differs from api.zotero.org, and is enforced here:

- Everything lives under ``/api``; the user id is 0 (or the logged-in user's); others 400.
- No ``/keys``, ``/deleted`` or ``/items/new`` (404): clients cannot ask what a key may do,
  cannot read deletions, and build item templates themselves.
- Reads need no key. Every response carries ``Zotero-Server-ID``.
- Zotero 7 (``version=7``) is read-only: every write answers 501.
- Zotero 10: ``POST /api/local/authorize {"appName"}`` stands for the Allow dialog and returns
  ``{key, remember}`` (``deny=True`` answers 403 as a Deny click would). Writes need that key
  (401 with ``WWW-Authenticate`` otherwise) and ``Zotero-Server-ID`` (428 without, 412 when it
  names another server). Versions are this server's own.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import replace

from .library import FULL_ACCESS, EmulatorState
from .routes import WRITE_METHODS, Request, Response, error_text

Inner = Callable[[Request], Response]
_ALNUM = string.ascii_letters + string.digits


def _text(status: int, message: str, **headers: str) -> Response:
    return Response(
        status, error_text(message), {"Content-Type": "text/plain; charset=utf-8", **headers}
    )


class LocalApi:
    def __init__(
        self, state: EmulatorState, user_id: int, version: int, base_url: Callable[[], str]
    ) -> None:
        self.state = state
        self.user_id = user_id
        self.version = version
        self.base_url = base_url
        self.server_id = "".join(secrets.choice(_ALNUM) for _ in range(8))
        self.deny = False
        self.authorized: set[str] = set()
        self._read_key = "local-read-" + "".join(secrets.choice(_ALNUM) for _ in range(12))
        with state.lock:
            state.put_key(self._read_key, user_id, FULL_ACCESS)

    def handle(self, req: Request, inner: Inner) -> Response:
        response = self._handle(req, inner)
        response.headers["Zotero-Server-ID"] = self.server_id
        return response

    def _handle(self, req: Request, inner: Inner) -> Response:
        if req.path != "/api" and not req.path.startswith("/api/"):
            return _text(404, "Not found")
        rest = req.path[len("/api") :].rstrip("/")
        if not rest:
            return Response(200, b"Nothing to see here.", {"Content-Type": "text/plain"})
        if rest == "/local/authorize":
            return self._authorize(req)
        parts = [p for p in rest.split("/") if p]
        if parts[0] == "keys" or parts[:2] == ["items", "new"]:
            return _text(404, "Not found")
        if parts[0] != "users" or len(parts) < 2:
            return _text(404, "Not found")
        if parts[1] not in ("0", str(self.user_id)):
            return _text(400, "Only the logged-in user's library (0) is available")
        if len(parts) > 2 and parts[2] == "deleted":
            return _text(404, "Not found")
        headers = dict(req.headers)
        if req.method in WRITE_METHODS:
            refused = self._refuse_write(req)
            if refused is not None:
                return refused
        headers["zotero-api-key"] = self._read_key
        path = "/" + "/".join(["users", str(self.user_id), *parts[2:]])
        response = inner(replace(req, path=path, headers=headers))
        link = response.headers.get("Link")
        if link:  # the links a client follows stay under /api
            base = self.base_url()
            response.headers["Link"] = link.replace(
                f"{base}/users/{self.user_id}/", f"{base}/api/users/0/"
            )
        return response

    def _refuse_write(self, req: Request) -> Response | None:
        if self.version < 10:
            return _text(501, "Write access is not yet supported")
        key = req.header("Zotero-API-Key")
        bearer = req.header("Authorization") or ""
        if not key and bearer.lower().startswith("bearer "):
            key = bearer[len("bearer ") :].strip()
        if not key or key not in self.authorized:
            return _text(
                401,
                "Authorization required",
                **{"WWW-Authenticate": 'Zotero-API-Key realm="Zotero Local API"'},
            )
        sid = req.header("Zotero-Server-ID")
        if not sid:
            return _text(428, "Zotero-Server-ID header is required for write requests")
        if sid != self.server_id:
            return _text(412, "Zotero-Server-ID does not match")
        return None

    def _authorize(self, req: Request) -> Response:
        if self.version < 10:
            return _text(404, "Not found")
        if req.method != "POST":
            return _text(405, "Method not allowed", Allow="POST")
        try:
            app = json.loads(req.body or b"{}").get("appName")
        except (ValueError, AttributeError):
            app = None
        if not isinstance(app, str) or not app.strip():
            return _text(400, "appName is required")
        if self.deny:
            return _text(403, "Access denied")
        key = "".join(secrets.choice(_ALNUM) for _ in range(24))
        self.authorized.add(key)
        body = json.dumps({"key": key, "remember": True}).encode()
        return Response(200, body, {"Content-Type": "application/json"})
