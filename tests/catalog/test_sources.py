"""Catalog sources against a real HTTP server on 127.0.0.1: ETag cache, fallbacks, offline."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pllm_sync.catalog import bundled_text, fetch_source, load_catalog, resolve_source
from pllm_sync.catalog.sources import cache_dir
from pllm_sync.config import CatalogConfig, SourceConfig
from pllm_sync.errors import CatalogError

LIST_V1 = (
    "# Tiny\n## S\n+ **\\[2024 ACL\\]** First Paper. ([Paper](https://arxiv.org/abs/2401.00001))\n"
)
LIST_V2 = (
    LIST_V1 + "+ **\\[2025 ICLR\\]** Second Paper. ([Paper](https://arxiv.org/abs/2502.00002))\n"
)


@dataclass
class Served:
    text: str = LIST_V1
    etag: str | None = '"v1"'
    last_modified: str | None = None
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)


class Server:
    def __init__(self) -> None:
        self.state = Served()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.requests.append({k.lower(): v for k, v in self.headers.items()})
                if state.delay:
                    time.sleep(state.delay)
                if state.status != 200:
                    self.send_response(state.status)
                    self.end_headers()
                    return
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if (state.etag and inm == state.etag) or (
                    not state.etag and state.last_modified and ims == state.last_modified
                ):
                    self.send_response(304)
                    if state.etag:
                        self.send_header("ETag", state.etag)
                    self.end_headers()
                    return
                body = state.text.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if state.etag:
                    self.send_header("ETag", state.etag)
                if state.last_modified:
                    self.send_header("Last-Modified", state.last_modified)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/README.md"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.running = False


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()


def dead_url() -> str:
    """A URL on a port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/README.md"


def test_first_fetch_caches_text_and_etag(server: Server) -> None:
    f = fetch_source(SourceConfig(name="tiny", url=server.url), timeout=5)
    assert (f.origin, f.text, f.etag) == ("network", LIST_V1, '"v1"')
    assert f.fresh and f.fetched_at
    cached = sorted(p.suffix for p in cache_dir().iterdir())
    assert cached == [".json", ".md"]
    assert "if-none-match" not in server.state.requests[0]


def test_second_fetch_is_conditional_and_uses_the_cache_on_304(server: Server) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    fetch_source(src, timeout=5)
    f = fetch_source(src, timeout=5)
    assert server.state.requests[1]["if-none-match"] == '"v1"'
    assert (f.origin, f.text, f.etag) == ("not-modified", LIST_V1, '"v1"')
    # The list changes upstream: a new ETag and the new text replace the cache.
    server.state.text, server.state.etag = LIST_V2, '"v2"'
    f = fetch_source(src, timeout=5)
    assert (f.origin, f.text, f.etag) == ("network", LIST_V2, '"v2"')
    assert fetch_source(src, timeout=5).origin == "not-modified"


def test_last_modified_is_sent_back(server: Server) -> None:
    server.state.etag = None
    server.state.last_modified = "Tue, 31 Mar 2026 09:04:24 GMT"
    src = SourceConfig(name="tiny", url=server.url)
    assert fetch_source(src, timeout=5).last_modified == "Tue, 31 Mar 2026 09:04:24 GMT"
    f = fetch_source(src, timeout=5)
    assert server.state.requests[1]["if-modified-since"] == "Tue, 31 Mar 2026 09:04:24 GMT"
    assert f.origin == "not-modified" and f.text == LIST_V1


def test_server_down_falls_back_to_the_cache_with_a_warning(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    fetch_source(src, timeout=5)
    server.stop()
    with caplog.at_level(logging.WARNING, logger="pllm_sync"):
        f = fetch_source(src, timeout=5)
    assert (f.origin, f.text, f.etag) == ("cache", LIST_V1, '"v1"')
    assert not f.fresh
    assert f.warning and "cached copy" in f.warning
    assert any(
        "'tiny'" in r.getMessage() and "cached copy" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors_fall_back_to_the_cache(server: Server, status: int) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    fetch_source(src, timeout=5)
    server.state.status = status
    f = fetch_source(src, timeout=5)
    assert f.origin == "cache" and f.warning and f"HTTP {status}" in f.warning


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>", "an HTML page"),
        ("  <html lang=en><head><title>Rate limited</title></head></html>", "an HTML page"),
        ("", "an empty body"),
        ("\n  \n", "an empty body"),
    ],
)
def test_an_error_page_served_as_200_is_no_list(server: Server, body: str, said: str) -> None:
    """Found by the lists helper: a host's error page (or nothing) answered with 200 was
    taken for the list: every paper retired, and the good cached copy replaced by it."""
    src = SourceConfig(name="tiny", url=server.url)
    fetch_source(src, timeout=5)
    server.state.text, server.state.etag = body, '"v2"'
    f = fetch_source(src, timeout=5)
    assert (f.origin, f.text) == ("cache", LIST_V1)
    assert f.warning and said in f.warning and server.url in f.warning
    server.state.status = 404  # the cache still holds the list, not the page
    assert fetch_source(src, timeout=5).text == LIST_V1


def test_a_list_that_holds_html_is_still_a_list(server: Server) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    server.state.text = LIST_V1.replace("\n", "\n<p align=center><img src=x></p>\n", 1)
    f = fetch_source(src, timeout=5)
    assert f.origin == "network" and "<img" in f.text


def test_slow_server_hits_the_timeout_and_falls_back(server: Server) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    fetch_source(src, timeout=5)
    server.state.delay = 3.0
    f = fetch_source(src, timeout=0.3)
    assert f.origin == "cache"


def test_no_cache_default_name_uses_the_bundled_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pllm_sync"):
        f = fetch_source(SourceConfig(name="jiahongliu21", url=dead_url()), timeout=2)
    assert f.origin == "bundled"
    assert f.text == bundled_text("jiahongliu21")
    assert "# Awesome Personalized Large Language Models (PLLMs)" in f.text
    assert any("bundled" in r.getMessage() for r in caplog.records)


def test_unknown_name_without_cache_is_a_clear_error() -> None:
    url = dead_url()
    with pytest.raises(CatalogError) as err:
        fetch_source(SourceConfig(name="my-list", url=url), timeout=2)
    assert "'my-list'" in err.value.message and url in err.value.message
    assert err.value.hint and "network" in err.value.hint


def test_offline_never_fetches(server: Server) -> None:
    src = SourceConfig(name="tiny", url=server.url)
    with pytest.raises(CatalogError) as err:
        fetch_source(src, offline=True)
    assert "offline" in err.value.message
    assert server.state.requests == []
    fetch_source(src, timeout=5)  # now there is a cached copy
    f = fetch_source(src, offline=True)
    assert (f.origin, f.text) == ("cache", LIST_V1)
    assert len(server.state.requests) == 1
    g = fetch_source(SourceConfig(name="vanillacreamer", url=server.url + "?x"), offline=True)
    assert g.origin == "bundled"
    assert len(server.state.requests) == 1


def test_load_catalog_exposes_fetch_records(server: Server) -> None:
    cfg = CatalogConfig(sources=(SourceConfig(name="tiny", url=server.url),), timeout_seconds=5)
    cat = load_catalog(cfg)
    assert [p.title for p in cat.papers] == ["First Paper"]
    assert [(f.name, f.origin, f.etag) for f in cat.fetches] == [("tiny", "network", '"v1"')]
    again = load_catalog(cfg)
    assert again.fetches[0].origin == "not-modified"
    assert [p.id for p in again.papers] == ["arxiv:2401.00001"]


def test_local_file_sources(tmp_path: Path) -> None:
    p = tmp_path / "list.md"
    p.write_text(LIST_V2, encoding="utf-8")
    f = fetch_source(SourceConfig(name="local", path=p))
    assert (f.origin, f.text, f.location) == ("file", LIST_V2, str(p))
    with pytest.raises(CatalogError) as err:
        fetch_source(SourceConfig(name="local", path=tmp_path / "missing.md"))
    assert "missing.md" in err.value.message and err.value.hint
    with pytest.raises(CatalogError, match="is a folder"):
        fetch_source(SourceConfig(name="local", path=tmp_path))


def test_resolve_source_by_name_path_or_url(tmp_path: Path) -> None:
    cfg = CatalogConfig(
        sources=(SourceConfig(name="a", url="https://example.org/a.md"),), timeout_seconds=1
    )
    assert resolve_source(cfg, "a").url == "https://example.org/a.md"
    assert resolve_source(cfg, "https://example.org/a.md").name == "a"
    other = resolve_source(cfg, "https://raw.githubusercontent.com/Owner/Repo/main/README.md")
    assert other.name == "owner-repo"
    p = tmp_path / "My List.md"
    p.write_text("", encoding="utf-8")
    assert resolve_source(cfg, str(p)) == SourceConfig(name="my-list", path=p)
    with pytest.raises(CatalogError) as err:
        resolve_source(cfg, "nope")
    assert "'nope'" in err.value.message and "a" in err.value.message
