"""The polite client: slow and dead servers fail fast, 429s are waited out within bounds."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from pllm_sync.metadata.http import (
    BadResponse,
    PoliteClient,
    RateLimited,
    Unreachable,
    retry_after_seconds,
)

from .server import MetaServer, recorded

TOO_MANY = recorded("semanticscholar/error_429_too-many-requests.json")


def _client(sleeps: list[float], **kw: Any) -> PoliteClient:
    return PoliteClient("test", sleep=sleeps.append, backoff=2.0, **kw)


def test_slow_server_times_out(meta: MetaServer) -> None:
    meta.delay = 1.0
    client = PoliteClient("test", read_timeout=0.2)
    with pytest.raises(Unreachable):
        client.request("GET", f"{meta.base_url}/s2/paper/search/match?query=x")


def test_refused_connection_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Unreachable):
        PoliteClient("test").request("GET", f"http://127.0.0.1:{port}/")


def test_429_without_retry_after_backs_off_then_succeeds(meta: MetaServer) -> None:
    meta.queued["/s2/paper/search/match"] = [(429, TOO_MANY, {}), (429, TOO_MANY, {})]
    sleeps: list[float] = []
    resp = _client(sleeps).request(
        "GET", f"{meta.base_url}/s2/paper/search/match?query=x", ok=(200, 404)
    )
    assert resp.status == 404
    assert sleeps == [2.0, 4.0]  # exponential backoff: the recorded 429 names no wait


def test_retry_after_is_honoured(meta: MetaServer) -> None:
    meta.queued["/x"] = [(429, TOO_MANY, {"Retry-After": "7"})]
    sleeps: list[float] = []
    _client(sleeps).request("GET", f"{meta.base_url}/x", ok=(404,))
    assert sleeps == [7.0]


def test_rate_limited_for_good_gives_up(meta: MetaServer) -> None:
    meta.queued["/x"] = [(429, TOO_MANY, {})] * 5
    with pytest.raises(RateLimited):
        _client([]).request("GET", f"{meta.base_url}/x")
    assert meta.requests("/x") == 3  # one try and two retries


def test_a_wait_longer_than_allowed_gives_up_at_once(meta: MetaServer) -> None:
    meta.queued["/x"] = [(503, b"", {"Retry-After": "3600"})]
    sleeps: list[float] = []
    with pytest.raises(RateLimited):
        _client(sleeps).request("GET", f"{meta.base_url}/x")
    assert sleeps == []


def test_unexpected_status_is_a_bad_response(meta: MetaServer) -> None:
    meta.queued["/x"] = [
        (403, recorded("semanticscholar/error_403_forbidden_invalid-api-key.json"), {})
    ]
    with pytest.raises(BadResponse, match="403"):
        PoliteClient("test").request("GET", f"{meta.base_url}/x")


def test_secret_headers_are_sent_but_never_logged(
    meta: MetaServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    meta.queued["/x"] = [(429, TOO_MANY, {}), (403, b'{"message":"Forbidden"}', {})]
    client = PoliteClient("test", secret_headers={"x-api-key": "s3cr3t-key"}, sleep=lambda s: None)
    with pytest.raises(BadResponse) as exc:
        client.request("GET", f"{meta.base_url}/x")
    assert meta.headers_seen[0]["x-api-key"] == "s3cr3t-key"
    assert "s3cr3t-key" not in caplog.text and "s3cr3t-key" not in str(exc.value)


def test_spacing_between_request_starts() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    c = PoliteClient("t", min_interval=3.0, sleep=sleep, clock=lambda: now[0])
    c._space()
    now[0] += 1.0
    c._space()
    now[0] += 5.0
    c._space()
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), (None, None), ("soon", None), ("-3", 0.0)],
)
def test_retry_after_forms(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_a_hanging_name_lookup_fails_within_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    release = threading.Event()
    real = socket.getaddrinfo

    def hanging(host: str, *a: Any, **kw: Any) -> Any:
        if host == "export.arxiv.org":
            release.wait(10)
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    client = PoliteClient("arXiv", connect_timeout=0.2)
    try:
        with pytest.raises(Unreachable, match="name lookup timed out"):
            client.request("GET", "https://export.arxiv.org/api/query?id_list=1706.03762")
    finally:
        release.set()
