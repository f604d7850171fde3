"""The Zotero desktop's local API (``zotero.endpoint: local``): what differs from the Web API
for a client, and the checks that stop a run before it writes where it cannot.

- There is no ``/keys``: access is checked with ``GET /api/`` (which also names the server),
  and write access is granted per app by Zotero's Allow dialog (``POST
  /api/local/authorize``), asked once per run that writes; "Always Allow" makes it silent.
- Zotero 7 has no authorize endpoint: its local API is read-only, so the run stops with a
  message before any write.
- Every write carries ``Zotero-Server-ID``.
- There is no ``/deleted``: every read lists the whole library, and a paper whose item is no
  longer listed is taken as deleted in Zotero (the same rule as after a full Web API read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ZoteroError

if TYPE_CHECKING:
    from .client import ZoteroHttp

APP_NAME = "pllm-sync"
SETTING = (
    "in Zotero, Settings > Advanced > Miscellaneous: tick 'Allow other applications on this "
    "computer to communicate with Zotero'"
)


def check_local_access(http: ZoteroHttp, write: bool) -> dict[str, Any]:
    """Reach the desktop, learn its server id, and (``write``) get this run's write key."""
    resp = http.request("GET", "/", attempts=2, library_version=False)
    if resp.status_code == 403:
        raise ZoteroError("Zotero's local API is switched off", hint=SETTING)
    if resp.status_code != 200:
        raise http.fail(resp, "reaching the Zotero desktop's local API")
    http.server_id = resp.headers.get("Zotero-Server-ID")
    if not write:
        return {}
    auth = http.request(
        "POST",
        "/local/authorize",
        json_body={"appName": APP_NAME},
        attempts=1,
        library_version=False,
    )
    if auth.status_code in (404, 501):
        raise ZoteroError(
            "this Zotero's local API is read-only (Zotero 7): pllm-sync stopped before "
            "writing anything",
            hint="update Zotero to version 10 for local writes, or sync through the Web API "
            "(`pllm-sync init` with an API key from zotero.org/settings/keys)",
        )
    if auth.status_code == 403:
        raise ZoteroError(
            "Zotero's dialog was answered Deny: pllm-sync may not write to your library",
            hint="run again and click Allow (or Always Allow, to not be asked again)",
        )
    if auth.status_code == 429:
        raise ZoteroError(
            "Zotero refused to show another permission dialog so soon (429)",
            hint="wait a minute, run again and click Allow",
        )
    if auth.status_code != 200:
        raise http.fail(auth, "asking Zotero for write permission")
    key = str(auth.json().get("key") or "")
    if not key:
        raise http.fail(auth, "asking Zotero for write permission")
    http.use_key(key)
    return {}
