"""Bad credentials and unreachable servers: one clear message each, no key anywhere in it or
in the logs, and nothing written."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest

from pllm_sync.errors import ZoteroError
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero.client import tls_for

from .support import SyncState, make_store, run_import, synthetic_catalog, writes

CATALOG = synthetic_catalog(20)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.parametrize(
    ("case", "key", "library", "message", "hint"),
    [
        (
            "read-only key",
            "READONLYKEY",
            "1",
            "the API key has no write access to user library 1",
            "Allow write access",
        ),
        (
            "unknown key",
            "NOSUCHKEY0123456789abcd",
            "1",
            "Zotero rejected the API key (403 Invalid key)",
            "zotero.org/settings/keys",
        ),
        (
            "wrong library",
            "TESTKEY",
            "4242",
            "the API key belongs to user 1, not user library 4242",
            "zotero.library_id",
        ),
    ],
)
def test_bad_credentials_fail_before_any_write(
    emu: ZoteroEmulator,
    caplog: pytest.LogCaptureFixture,
    case: str,
    key: str,
    library: str,
    message: str,
    hint: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = make_store(emu, key=key, library_id=library)
    with pytest.raises(ZoteroError) as err:
        run_import(store, CATALOG, SyncState())
    assert err.value.message == message
    assert err.value.hint and hint in err.value.hint
    assert key not in str(err.value)
    assert key not in caplog.text
    assert not writes(emu)
    assert len(emu.request_log) == 1  # the key check, nothing after it
    if case == "unknown key":
        assert "pllm-sync init" in err.value.hint


def test_unreachable_endpoint(
    emu: ZoteroEmulator, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    store = make_store(emu, endpoint=endpoint, sleeps=sleeps)
    with pytest.raises(ZoteroError) as err:
        run_import(store, CATALOG, SyncState())
    assert err.value.message.startswith(f"cannot reach Zotero at {endpoint}")
    assert err.value.hint and "zotero.endpoint" in err.value.hint
    assert "TESTKEY" not in str(err.value) and "TESTKEY" not in caplog.text
    assert not emu.request_log


def test_key_never_appears_in_urls_or_logs(
    emu: ZoteroEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.inject(500, method="POST", count=1)
    emu.inject(429, method="GET", retry_after=1, count=1)
    run_import(make_store(emu), CATALOG, SyncState())
    assert "TESTKEY" not in caplog.text
    for r in emu.request_log:
        assert "TESTKEY" not in r.path
        assert all("TESTKEY" not in v for vals in r.query.values() for v in vals)
        assert r.request_headers.get("Authorization") == "Bearer TESTKEY"


def test_only_a_plain_http_loopback_endpoint_skips_loading_the_trust_anchors() -> None:
    """The local API, the sandbox and the emulator speak plain HTTP on loopback: their
    client gets a context with no trust anchors, so TLS asked of it fails closed; every
    other endpoint verifies against the system's anchors."""
    for endpoint in ("http://127.0.0.1:23119/api", "http://localhost:8080", "http://[::1]:9"):
        ctx = tls_for(endpoint)
        assert isinstance(ctx, ssl.SSLContext), endpoint
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        assert ctx.get_ca_certs() == []
    for endpoint in (
        "https://api.zotero.org",
        "http://api.zotero.org",
        "https://localhost:8443",
        "http://127.0.0.1.example.org",
    ):
        assert tls_for(endpoint) is True, endpoint
