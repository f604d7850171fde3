"""A local stand-in for arXiv and Semantic Scholar on 127.0.0.1, serving recorded answers.

- ``GET /arxiv/query?id_list=...``: a new-layout Atom feed built from recorded ``<entry>``
  elements (``arxiv_entries``: id -> entry XML); unknown ids are dropped, as arXiv does; a
  malformed id gets the recorded HTTP 400 error feed (with the id substituted).
- ``POST /s2/paper/batch``: a JSON list with one slot per id (``s2``: "ARXIV:..." -> object,
  None for unknown); ``GET /s2/paper/search/match``: ``s2_titles`` (normalised title ->
  object) or the recorded 404.
- ``queued``: per route, answers served before the normal ones (e.g. the recorded 429), as
  ``(status, body, headers)``; ``delay``: seconds to wait before answering (a slow server).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from pllm_sync.model import normalize_title

DATA = Path(__file__).resolve().parents[1] / "data" / "metadata"
ID_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z][a-z.\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.I)

FEED_HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
    "  <id>https://arxiv.org/api/test</id>\n  <title>arXiv Query: test</title>\n"
    "  <updated>2026-04-12T22:09:36Z</updated>\n"
    "  <opensearch:totalResults>{n}</opensearch:totalResults>\n"
)


def recorded(rel: str) -> bytes:
    return (DATA / rel).read_bytes()


def recorded_json(rel: str) -> Any:
    return json.loads(recorded(rel))


def entries_of(rel: str) -> dict[str, str]:
    """The ``<entry>`` elements of a recorded feed, by versionless arXiv id."""
    text = recorded(rel).decode("utf-8")
    out = {}
    for m in re.finditer(r"<entry[^>]*>.*?</entry>", text, re.S):
        idm = re.search(r"<id[^>]*>https?://arxiv\.org/abs/(.+?)(?:v\d+)?</id>", m.group(0))
        if idm:
            out[idm.group(1)] = m.group(0)
    return out


def all_recorded_entries() -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted((DATA / "arxiv").glob("*.xml")):
        out.update(entries_of(f"arxiv/{p.name}"))
    return out


def fake_entry(aid: str, title: str, authors: list[str], abstract: str, cats: list[str]) -> str:
    """An entry in the new layout for a paper no recording has (e2e scenarios only)."""
    auth = "".join(f"<author><name>{a}</name></author>" for a in authors)
    cat = "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in cats)
    return (
        f"<entry><id>http://arxiv.org/abs/{aid}v1</id><title>{title}</title>"
        f"<updated>2023-04-11T17:00:00Z</updated>"
        f'<link href="https://arxiv.org/pdf/{aid}v1" rel="related" type="application/pdf" '
        f'title="pdf"/><summary>{abstract}</summary>{cat}'
        f"<published>2023-04-11T17:00:00Z</published>"
        f'<arxiv:primary_category term="{cats[0]}"/>{auth}</entry>'
    )


Answer = tuple[int, bytes, dict[str, str]]


@dataclass
class MetaServer:
    arxiv_entries: dict[str, str] = field(default_factory=dict)
    s2: dict[str, Any] = field(default_factory=dict)
    s2_titles: dict[str, Any] = field(default_factory=dict)
    queued: dict[str, list[Answer]] = field(default_factory=dict)
    delay: float = 0.0
    log: list[tuple[str, str, bytes]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    def requests(self, route: str | None = None) -> int:
        return sum(1 for _, path, _ in self.log if route is None or path.startswith(route))

    # --- answers -----------------------------------------------------------------------

    def answer(self, method: str, path: str, body: bytes) -> Answer:
        route = path.split("?", 1)[0]
        if self.queued.get(route):
            return self.queued[route].pop(0)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if route == "/arxiv/query":
            ids = [i for i in ",".join(query.get("id_list", [""])).split(",") if i]
            for i in ids:
                if not ID_RE.match(i):
                    err = recorded(
                        "arxiv/new-format_idlist_malformed-id_abc_http400-error-feed.xml"
                    )
                    err = err.replace(b"for_abc", f"for_{i}".encode()).replace(
                        b"for abc", f"for {i}".encode()
                    )
                    return 400, err, {"Content-Type": "application/atom+xml"}
            found = [self.arxiv_entries[i] for i in ids if i in self.arxiv_entries]
            feed = FEED_HEAD.format(n=len(found)) + "\n".join(found) + "\n</feed>\n"
            return 200, feed.encode(), {"Content-Type": "application/atom+xml"}
        if route == "/s2/paper/batch" and method == "POST":
            ids = json.loads(body)["ids"]
            return 200, json.dumps([self.s2.get(i) for i in ids]).encode(), {}
        if route == "/s2/paper/search/match":
            hit = self.s2_titles.get(normalize_title(query.get("query", [""])[0]))
            if hit is None:
                return (
                    404,
                    recorded("semanticscholar/paper-search-match_404_title-match-not-found.json"),
                    {},
                )
            return 200, json.dumps({"data": [{**hit, "matchScore": 100.0}]}).encode(), {}
        return 404, b'{"error":"no such route"}', {}


S = TypeVar("S", bound=MetaServer)


@contextmanager
def serve(server: S) -> Iterator[S]:
    """Run ``server`` on 127.0.0.1 (a free port) for the duration."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            server.log.append((method, self.path.removeprefix(""), body))
            server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            if server.delay:
                time.sleep(server.delay)
            status, data, headers = server.answer(method, self.path, body)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout tests)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
