"""The Zotero API key: from ``$PLLM_SYNC_ZOTERO_API_KEY`` (headless runs) or the keyring.

The key is never written to config files, logs, notes or error messages; ``redact`` exists so
that any text that might echo a URL or header can be scrubbed before it is shown.
"""

from __future__ import annotations

import os

from .errors import ConfigError

ENV_VAR = "PLLM_SYNC_ZOTERO_API_KEY"
SERVICE = "pllm-sync"


def _username(library_type: str, library_id: str) -> str:
    return f"{library_type}:{library_id}"


def get_api_key(library_type: str, library_id: str, *, required: bool = True) -> str | None:
    """Return the API key, looking at the environment first, then the keyring."""
    key = os.environ.get(ENV_VAR)
    if key:
        return key.strip()
    try:
        import keyring

        key = keyring.get_password(SERVICE, _username(library_type, library_id))
    except Exception as exc:  # no usable keyring backend on a headless machine
        import logging

        logging.getLogger(__name__).debug("keyring unavailable: %s", type(exc).__name__)
        key = None
    if key:
        return key
    if required:
        raise ConfigError(
            f"no Zotero API key found for {library_type} library {library_id}",
            hint=f"run `pllm-sync init` to store it in the keyring, or set ${ENV_VAR}",
        )
    return None


def store_api_key(library_type: str, library_id: str, key: str) -> None:
    """Save the key in the system keyring (service ``pllm-sync``)."""
    import keyring

    keyring.set_password(SERVICE, _username(library_type, library_id), key)


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` (no-op when there is none)."""
    if not secret:
        return text
    return text.replace(secret, "***")
