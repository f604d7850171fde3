"""pytest plugin shipped with pllm-sync: fixtures that start the Zotero Web API emulator.

Registered through the ``pytest11`` entry point, so any project that installs pllm-sync gets
``zotero_emulator`` (a running :class:`~pllm_sync.testing.zotero_server.ZoteroEmulator` for
user 1 with keys ``TESTKEY`` and read-only ``READONLYKEY``) and ``zotero_client`` (the real
pyzotero client pointed at it). Both are function-scoped: every test gets an empty library.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Building a default SSL context costs ~30-60 ms; share one so client fixtures stay cheap
    # (the emulator is plain HTTP anyway).
    return ssl.create_default_context()


@pytest.fixture
def zotero_emulator() -> Iterator[ZoteroEmulator]:
    """A started emulator (user 1, key ``TESTKEY``, read-only key ``READONLYKEY``)."""
    emu = ZoteroEmulator(user_id=1, api_key="TESTKEY", read_only_key="READONLYKEY")
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def zotero_client(zotero_emulator: ZoteroEmulator) -> Iterator[Any]:
    """``pyzotero.zotero.Zotero("1", "user", "TESTKEY")`` talking to :func:`zotero_emulator`."""
    import httpx2
    from pyzotero import zotero

    client = httpx2.Client(trust_env=False, timeout=30, verify=_ssl_context())
    zot = zotero.Zotero(
        str(zotero_emulator.user_id), "user", zotero_emulator.api_key, client=client
    )
    zot.endpoint = zotero_emulator.base_url
    try:
        yield zot
    finally:
        client.close()
