"""The HTTP layer: a stdlib ``ThreadingHTTPServer`` that hands parsed requests to the emulator.

HTTP/1.1 with keep-alive (pyzotero's httpx client reuses connections), Content-Length on every
response, no body on HEAD/204/304."""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from .routes import Request, Response

log = logging.getLogger(__name__)


class Serving(Protocol):
    def serve(self, request: Request, client_ip: str, raw_headers: dict[str, str]) -> Response: ...


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Serving) -> None:
        super().__init__(address, _Handler)
        self.app = app

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-response (Ctrl-C on a sync, curl piped into head) is
        normal: note it at debug level instead of printing the stdlib's traceback."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("client %s went away: %s", client_address, exc)
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        raw_headers = {name: value for name, value in self.headers.items()}
        request = Request(
            method=self.command,
            path=url.path or "/",
            query=query,
            headers={name.lower(): value for name, value in raw_headers.items()},
            body=body,
        )
        try:
            response = self.server.app.serve(request, self.client_address[0], raw_headers)
        except Exception:  # pragma: no cover - a bug in the emulator; answer like the server
            log.exception("emulator error on %s %s", self.command, self.path)
            response = Response(500, b"An error occurred", {"Content-Type": "text/plain"})
        self._write(response)

    def _write(self, response: Response) -> None:
        no_body = self.command == "HEAD" or response.status in (204, 304)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if not no_body or self.command == "HEAD":
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - " + format, self.address_string(), *args)
