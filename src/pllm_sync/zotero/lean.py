"""The settled no-op's one conditional request, with the standard library's ``http.client``.

A settled ``sync`` (``sync/settled.py``) asks Zotero one question: has anything changed since
library version N (``If-Modified-Since-Version`` → 304)? Importing and setting up httpx2
(with httpcore2, anyio, h11) for that one GET costs a settled run more CPU than its whole
walk of the vault, so that question alone goes out through ``http.client``, which the
interpreter has loaded anyway.

Only a clean 304 counts. Anything else (a 200 with a newer version, a 5xx, a redirect, a
timeout, a refused connection, a TLS failure) returns False and the caller asks again
through the normal client, with its retries, backoff and error messages: there is no second
implementation of anything but this one GET. The request is the normal client's: the same
headers (pyzotero's ``User-Agent``, ``Zotero-API-Version``, the key in ``Authorization``
only), the same timeout, TLS verified against the system's anchors (never less than the
normal client). It is not tried where the normal client would behave differently: the
desktop's local API, or a proxy set in the environment (the normal client honours it).
"""

from __future__ import annotations

import http.client
import logging
import os
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from .client import TIMEOUT, ZoteroHttp, _header_seconds

log = logging.getLogger(__name__)

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")


def _proxied() -> bool:
    """Whether the environment names a proxy (httpx2 honours these; ``http.client`` not)."""
    return any(k.lower() in _PROXY_VARS and v for k, v in os.environ.items())


def _connection(zhttp: ZoteroHttp) -> http.client.HTTPConnection | None:
    """A new connection to the endpoint, or None where the lean request does not apply."""
    url = urlsplit(zhttp.endpoint)
    scheme = url.scheme.lower()
    if scheme not in ("http", "https") or not url.hostname or url.username or url.password:
        return None
    if scheme == "https":
        import ssl

        context = ssl.create_default_context()  # CERT_REQUIRED, hostname checked
        return http.client.HTTPSConnection(url.hostname, url.port, timeout=TIMEOUT, context=context)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)


def not_modified(
    zhttp: ZoteroHttp,
    path: str,
    params: Mapping[str, object],
    since: int,
    *,
    keep: bool = False,
) -> bool:
    """True when Zotero answered ``GET path?params`` with 304 to ``If-Modified-Since-Version:
    since``; False for any other outcome, or when this lean request does not apply (the
    local API, a proxy, or, for a one-shot run, the normal client already exists): then the
    caller asks normally.

    ``keep`` (the daemon, asking every poll): the connection is kept open on ``zhttp`` for
    the next poll (HTTP keep-alive: no new TCP or TLS handshake per poll), whether or not the
    normal client exists; a kept connection the server has closed meanwhile is opened anew
    once before the answer counts as a failure."""
    if (zhttp.connected and not keep) or zhttp.local or _proxied():
        return False
    target_base = urlsplit(zhttp.endpoint).path.rstrip("/")
    target = f"{target_base}{path}?{urlencode(params)}"
    headers = {**zhttp._default_headers(), "If-Modified-Since-Version": str(since)}
    kept = zhttp.lean_conn
    conn = kept if keep and kept is not None else _connection(zhttp)
    if conn is None:
        return False
    zhttp.backoff.wait()
    zhttp.request_count += 1
    status = 0
    wait: float | None = None
    for attempt in range(2 if conn is kept else 1):
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            wait = _header_seconds(dict(resp.headers.items()))
            break
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if attempt == 0 and conn is kept and isinstance(exc, ConnectionError):
                continue  # the server closed the kept connection meanwhile: reopen it once
            zhttp.lean_conn = None
            log.info(
                "Zotero GET %s (lean): %s; asking through the client", path, type(exc).__name__
            )
            return False
    if keep:
        zhttp.lean_conn = conn
    else:
        conn.close()
    if wait:
        zhttp.backoff.defer(wait)
    if status != 304:
        log.info("Zotero GET %s (lean) → %d; asking through the client", path, status)
        return False
    return True


def since_params(since: int) -> dict[str, object]:
    """The query of an incremental read's first request: every item version since ``since``."""
    return {"since": since, "format": "versions", "includeTrashed": 1}


def items_unchanged_since(zhttp: ZoteroHttp, since: int, *, keep: bool = False) -> bool:
    """``not_modified`` for the question every settled check asks (the store's read, the
    settled probe and the daemon's poll): have the library's items moved since ``since``?"""
    return not_modified(zhttp, f"{zhttp.prefix}/items", since_params(since), since, keep=keep)
