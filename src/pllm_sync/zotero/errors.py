"""Zotero errors a user can act on, with the partial result a failed write still produced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ZoteroError

if TYPE_CHECKING:
    from .store import WriteReport

KEYS_URL = "https://www.zotero.org/settings/keys"


class ZoteroWriteError(ZoteroError):
    """A write stopped part-way (Zotero kept failing). ``report`` holds what did get written,
    so the caller can record it: a rerun then converges without duplicates either way."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        report: WriteReport | None = None,
        partial: Any = None,
    ) -> None:
        super().__init__(message, hint)
        self.report = report
        self.partial = partial


def invalid_key() -> ZoteroError:
    return ZoteroError(
        "Zotero rejected the API key (403 Invalid key)",
        hint=f"create a key at {KEYS_URL} (allow library access and write access) "
        "and run `pllm-sync init` to store it",
    )


def no_write_access(library: str) -> ZoteroError:
    if library.startswith("group"):
        return ZoteroError(
            f"the API key may read {library} but not write to it",
            hint="ask a group admin for editing rights and allow write access to the group for "
            f"this key at {KEYS_URL}; meanwhile `pllm-sync pull` mirrors the group into your "
            "vault one way",
        )
    return ZoteroError(
        f"the API key has no write access to {library}",
        hint=f"edit the key at {KEYS_URL} and tick 'Allow write access' "
        "(or create a new key and run `pllm-sync init`)",
    )


def no_read_access(library: str) -> ZoteroError:
    return ZoteroError(
        f"the API key cannot read {library} (403 Forbidden)",
        hint=f"edit the key at {KEYS_URL} and allow library access",
    )


def wrong_library(owner: str, library: str) -> ZoteroError:
    return ZoteroError(
        f"the API key belongs to {owner}, not {library}",
        hint="set zotero.library_id in the config to the user ID shown at "
        f"{KEYS_URL} ('Your userID for use in API calls'), or use a key of that library",
    )


def unreachable(endpoint: str, reason: str) -> ZoteroError:
    return ZoteroError(
        f"cannot reach Zotero at {endpoint} ({reason})",
        hint="check the network connection and zotero.endpoint in the config, then retry",
    )
