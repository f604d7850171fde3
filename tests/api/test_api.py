"""The local API over real HTTP: who may call it, what it answers, and its event stream."""

from __future__ import annotations

import http.client
import json
import os
import stat
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from pllm_sync.api.auth import host_ok, load_or_create_token, origin_ok, token_ok

from .conftest import LiveApi


def call(
    api: LiveApi,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request with full control of every header (Host included)."""
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=10)
    hdrs = dict(headers or {})
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    conn.putrequest(method, path, skip_host="Host" in hdrs)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    if data is not None:
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    parsed = (
        json.loads(raw)
        if raw and resp.getheader("content-type", "").startswith("application/json")
        else raw
    )
    return resp.status, parsed, {k.lower(): v for k, v in resp.getheaders()}


def test_token_file_is_private_and_stable() -> None:
    token, path = load_or_create_token()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(token) >= 32
    assert load_or_create_token() == (token, path), "the token survives restarts"
    os.chmod(path, 0o644)
    load_or_create_token()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "widened permissions are tightened"


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:23120", True),
        ("localhost", True),
        ("LOCALHOST:1", True),
        ("[::1]:23120", True),
        ("evil.example:23120", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example:23120", False),
        ("", False),
        (None, False),
    ],
)
def test_host_check(host: str | None, ok: bool) -> None:
    assert host_ok(host) is ok


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("app://obsidian.md", True),
        ("capacitor://localhost", True),
        ("http://localhost:5173", True),
        ("http://127.0.0.1", True),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("app://obsidian.md.evil", False),
        ("null", False),
    ],
)
def test_origin_check(origin: str, ok: bool) -> None:
    assert origin_ok(origin) is ok


def test_bearer_token_compare() -> None:
    assert token_ok("Bearer s3cret-token", "s3cret-token")
    assert token_ok("bearer s3cret-token", "s3cret-token")
    assert not token_ok("Bearer s3cret-tokeN", "s3cret-token")
    assert not token_ok("Basic s3cret-token", "s3cret-token")
    assert not token_ok(None, "s3cret-token")


def test_refuses_missing_wrong_token_foreign_host_and_origin(live_api: LiveApi) -> None:
    status, body, headers = call(live_api, "GET", "/v1/status")
    assert status == 401 and "token" in body["error"]
    assert headers["www-authenticate"] == "Bearer"
    status, _, _ = call(live_api, "GET", "/v1/status", headers={"Authorization": "Bearer nope"})
    assert status == 401
    status, body, _ = call(
        live_api, "GET", "/v1/status", headers={**live_api.auth, "Host": "evil.example"}
    )
    assert status == 421, "DNS rebinding: a foreign Host is refused even with the token"
    status, body, _ = call(
        live_api,
        "GET",
        "/v1/status",
        headers={**live_api.auth, "Origin": "https://evil.example"},
    )
    assert status == 403 and "origin" in body["error"]
    assert live_api.passes == [] or all(j.reason == "start" for j in live_api.passes)
    # the refused POST started nothing
    status, _, _ = call(live_api, "POST", "/v1/sync", {}, headers={"Host": "evil.example"})
    assert status == 421
    time.sleep(0.1)
    assert [j.reason for j in live_api.passes] == ["start"]


def test_cors_preflight_and_allowed_origins(live_api: LiveApi) -> None:
    status, _, headers = call(
        live_api,
        "OPTIONS",
        "/v1/sync",
        headers={
            "Origin": "app://obsidian.md",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert status == 204, "a preflight needs no token"
    assert headers["access-control-allow-origin"] == "app://obsidian.md"
    assert "Authorization" in headers["access-control-allow-headers"]
    assert "POST" in headers["access-control-allow-methods"]
    status, body, headers = call(
        live_api,
        "GET",
        "/v1/status",
        headers={**live_api.auth, "Origin": "capacitor://localhost"},
    )
    assert status == 200 and body["api_version"] == "1"
    assert headers["access-control-allow-origin"] == "capacitor://localhost"
    status, _, headers = call(live_api, "OPTIONS", "/v1/sync", headers={"Origin": "https://x.io"})
    assert status == 403 and "access-control-allow-origin" not in headers


def test_sync_run_conflicts_resolve_and_papers(live_api: LiveApi) -> None:
    status, run, _ = call(live_api, "POST", "/v1/sync", {"dry_run": True}, live_api.auth)
    assert status == 202 and run["dry_run"] is True

    def finished() -> dict[str, Any] | None:
        s, r, _ = call(live_api, "GET", f"/v1/runs/{run['id']}", headers=live_api.auth)
        assert s == 200
        return r if r["status"] == "done" else None

    deadline = time.monotonic() + 5
    while not finished():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert call(live_api, "GET", "/v1/runs/nope", headers=live_api.auth)[0] == 404
    status, body, _ = call(live_api, "POST", "/v1/sync", {"dry_run": "yes"}, live_api.auth)
    assert status == 400

    status, body, _ = call(live_api, "GET", "/v1/conflicts", headers=live_api.auth)
    [c] = body["conflicts"]
    assert (c["field"], c["base"], c["zotero"], c["vault"]) == (
        "status",
        "unread",
        "read",
        "reading",
    )
    assert c["note_path"] == "Papers/LaMP.md" and c["title"].startswith("LaMP")

    status, paper, _ = call(live_api, "GET", "/v1/papers/arxiv:2304.11406", headers=live_api.auth)
    assert status == 200
    assert paper["zotero_link"] == "zotero://select/library/items/ABCD2345"
    assert paper["lists"] == ["jiahongliu21"] and paper["status"] == "reading"
    assert [x["id"] for x in paper["conflicts"]] == [c["id"]]
    status, found, _ = call(
        live_api, "GET", "/v1/papers?query=lamp%20personalization", headers=live_api.auth
    )
    assert [p["id"] for p in found["papers"]] == ["arxiv:2304.11406"]
    status, found, _ = call(live_api, "GET", "/v1/papers?query=zzz", headers=live_api.auth)
    assert found["papers"] == []
    assert call(live_api, "GET", "/v1/papers/arxiv:0", headers=live_api.auth)[0] == 404

    bad = call(
        live_api, "POST", f"/v1/conflicts/{c['id']}/resolve", {"take": "both"}, live_api.auth
    )
    assert bad[0] == 400
    status, res, _ = call(
        live_api, "POST", f"/v1/conflicts/{c['id']}/resolve", {"take": "zotero"}, live_api.auth
    )
    assert status == 202 and res["conflict"]["id"] == c["id"]
    deadline = time.monotonic() + 5
    while live_api.state.get_conflict(c["id"]).open:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    paper_state = live_api.state.get_paper("arxiv:2304.11406")
    assert paper_state is not None and paper_state.base is not None
    assert paper_state.base["status"] == "reading", "the losing (vault) value became the base"
    again = call(
        live_api, "POST", f"/v1/conflicts/{c['id']}/resolve", {"take": "zotero"}, live_api.auth
    )
    assert again[0] == 409


def test_resolve_with_a_merged_value(live_api: LiveApi) -> None:
    status, _, _ = call(
        live_api,
        "POST",
        f"/v1/conflicts/{live_api.conflict_id}/resolve",
        {"value": "read"},
        live_api.auth,
    )
    assert status == 202
    deadline = time.monotonic() + 5
    while not live_api.merged:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert live_api.merged == [("arxiv:2304.11406", "status", "read")]
    paper = live_api.state.get_paper("arxiv:2304.11406")
    assert paper is not None and paper.base is not None and paper.base["status"] == "read"


def _read_events(
    api: LiveApi, n: int, headers: dict[str, str], timeout: float = 5.0
) -> tuple[list[dict[str, Any]], int]:
    """Read the SSE stream like a fetch() reader: bearer header, chunked body, parse
    ``id:``/``data:`` lines; returns the first ``n`` events and how many heartbeats came."""
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=timeout)
    conn.request("GET", "/v1/events", headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("content-type", "").startswith("text/event-stream")
    events: list[dict[str, Any]] = []
    beats = 0
    current: dict[str, Any] = {}
    while len(events) < n:
        line = resp.fp.readline().decode().rstrip("\n")
        if line.startswith(": heartbeat"):
            beats += 1
        elif line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("data: "):
            current.update(json.loads(line[6:]))
        elif line == "" and "id" in current:
            events.append(current)
            current = {}
    conn.close()
    return events, beats


def test_events_stream_heartbeats_and_resume(live_api: LiveApi) -> None:
    first = live_api.events.publish("error", message="one")
    live_api.events.publish("conflict.opened", conflict=7, paper="p", field="tags")
    # Resume after the first: the second comes from history, then a new one live.
    events, _ = _read_events(live_api, 1, {**live_api.auth, "Last-Event-ID": str(first.id)})
    assert [(e["id"], e["type"]) for e in events] == [(first.id + 1, "conflict.opened")]

    import threading

    threading.Timer(0.8, lambda: live_api.events.publish("error", message="late")).start()
    events, beats = _read_events(live_api, 1, live_api.auth)
    assert events[0]["message"] == "late", "a new reader starts at the newest event"
    assert beats >= 1, "heartbeats keep an idle stream alive"
    status, _, _ = call(live_api, "GET", "/v1/events")
    assert status == 401


def test_openapi_document_is_public_and_3_1(live_api: LiveApi) -> None:
    status, doc, _ = call(live_api, "GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert {"/v1/status", "/v1/sync", "/v1/events", "/v1/conflicts/{conflict_id}/resolve"} <= set(
        doc["paths"]
    )
