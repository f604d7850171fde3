"""Build the objects a command needs from the config: state DB, vault store, Zotero store.

Also the ``--zotero sandbox`` mode: a persistent local library served by the bundled emulator
(SQLite under the user data dir), so a new user can try the full round trip offline.
"""

from __future__ import annotations

import gc
import logging
import secrets
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .config import Config, ZoteroConfig, load_config
from .credentials import get_api_key
from .paths import app_dirs
from .sandbox import (
    SANDBOX_USER,
    sandbox_chosen,
    sandbox_claim,
    sandbox_db_path,
    sandbox_key_path,
    serving_sandbox,
)
from .sync.state import LibraryRef, StateDB, default_state_path
from .vault.store import VaultStore
from .zotero.store import ZoteroStore

log = logging.getLogger(__name__)

__all__ = ["SANDBOX_USER", "Runtime", "open_runtime", "sandbox_zotero"]


@dataclass
class Runtime:
    config: Config
    state: StateDB
    vault: VaultStore
    zotero: ZoteroStore | None
    sandbox_url: str | None = None
    api_key: str | None = None  # for the streaming API subscription (never logged)

    @property
    def library_ref(self) -> LibraryRef | None:
        """The state's name for the Zotero library; the sandbox's port changes every run, so
        it is named by what it is rather than where it is served."""
        if self.zotero is None:
            return None
        if self.sandbox_url:
            return LibraryRef(
                self.config.zotero.library_type, str(self.config.zotero.library_id), "sandbox"
            )
        return LibraryRef.from_config(self.config.zotero)


FULL_COLLECTION_EVERY = 3600.0
"""Seconds between the daemon's own full collections (see :func:`one_shot_gc`)."""

_full_collected = [float("-inf")]  # monotonic time of the last one (none yet)


@contextmanager
def one_shot_gc(*, sweep: bool = False) -> Iterator[None]:
    """The garbage collector off for one whole run (``pull``, ``sync``, a daemon pass), and
    as it was after.

    Such a run builds records, views and rows for every paper that live until it ends, and
    makes almost no reference cycles. With the defaults the collector walked those live
    objects thousands of times (~20% of a first pull's CPU); even run a hundred times less
    often, each young-generation pass still walked the ~100,000 objects the run had kept
    since the last one (a first pull of 50,000 papers: 45 passes, 3.1 s; its peak memory is
    the same without them, 1,045 MB). What lived before the run is frozen out of sight.

    A process that ends after its run (``pull``, ``sync``) moves what the run made straight
    into the oldest generation at the end (frozen, then unfrozen): no walk of it at all.

    ``sweep``, for the daemon, which lives on: the young generations are collected before
    the pass (the garbage made since the last one, the API server's connections among it,
    freed before it would be frozen) and after it (what the pass made: its cycles freed, its
    survivors counted as long-lived, so the interpreter's own full collections still come).
    Objects moved by ``unfreeze`` alone are never counted, so without this a daemon that
    froze them every pass kept every cycle for good (a review measured ~5 MB a minute under
    a stream of API requests, before this run was tuned at all). A cycle that outlived a
    pass (a kept-alive connection) is old by the time it is garbage, and the interpreter's
    full collections rarely come when every pass resets its counts: so a swept pass also
    makes one full collection at most every :data:`FULL_COLLECTION_EVERY` seconds (at
    300 papers ~0.1 s; an hourly one costs the idle daemon a few hundredths of a percent)."""
    old = gc.get_threshold()
    enabled = gc.isenabled()
    if sweep:
        gc.collect(1)
    gc.freeze()  # what lived before the run: out of sight of any collection meanwhile
    gc.disable()
    try:
        yield
    finally:
        if sweep:
            gc.unfreeze()  # what lived before: back to the oldest generation
            gc.collect(1)  # what the pass made, still young: its cycles freed
            now = time.monotonic()
            if now - _full_collected[0] >= FULL_COLLECTION_EVERY:
                gc.collect()
                _full_collected[0] = now
        else:
            gc.freeze()  # what the run made, past the young generations...
            gc.unfreeze()  # ...into the oldest one, with what lived before
        gc.set_threshold(*old)
        if enabled:
            gc.enable()


def _sandbox_key(path: Path) -> str:
    """A per-install random key for the sandbox library (never a real Zotero key)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    alphabet = string.ascii_letters + string.digits  # the shape of a real Zotero key
    key = "".join(secrets.choice(alphabet) for _ in range(24))
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


@contextmanager
def sandbox_zotero(
    cfg: Config, port: int = 0, serve_as: str | None = None
) -> Iterator[tuple[ZoteroConfig, str]]:
    """Serve a persistent sandbox library with the bundled emulator for the duration, or use
    the one `pllm-sync sandbox serve` is serving. ``serve_as``: this is that command."""

    dirs = app_dirs().ensure()
    key = _sandbox_key(sandbox_key_path())
    with sandbox_claim(url_if_serving=serve_as is None) as served:
        if served is not None:  # `pllm-sync sandbox serve` holds it: go through it
            log.info("using the sandbox library served at %s", served)
            yield _sandbox_config(cfg, served), key
            return
        yield from _serve_sandbox(cfg, key, port, dirs.data, serve_as)


def _sandbox_config(cfg: Config, url: str) -> ZoteroConfig:
    return replace(cfg.zotero, library_id=str(SANDBOX_USER), library_type="user", endpoint=url)


def _serve_sandbox(
    cfg: Config, key: str, port: int, data: Path, serve_as: str | None
) -> Iterator[tuple[ZoteroConfig, str]]:
    from .testing.zotero_server import ZoteroEmulator

    emu = ZoteroEmulator(
        port=port,
        user_id=SANDBOX_USER,
        api_key=key,
        db_path=sandbox_db_path(),
        username="sandbox",
    )
    emu.start()
    from .testing.zotero_server.stream import StreamServer

    stream = StreamServer(emu).start()  # `watch` hears of sandbox edits as from Zotero
    try:
        log.info("sandbox Zotero library at %s (data in %s)", emu.base_url, data)
        zcfg = replace(_sandbox_config(cfg, emu.base_url), stream_url=stream.url)
        if serve_as is None:
            yield zcfg, key
        else:
            with serving_sandbox(emu.base_url):
                yield zcfg, key
    finally:
        stream.stop()
        emu.stop()


@contextmanager
def open_runtime(
    config_path: str | None,
    *,
    zotero_mode: str | None = None,
    vault_only: bool = False,
    config: Config | None = None,
    api_key: str | None = None,
) -> Iterator[Runtime]:
    """Load the config and open everything a sync run needs; close it all afterwards.
    ``config`` and ``api_key``: what an earlier step of the same command already read from
    ``config_path`` and the keyring (the settled probe), not read again."""
    cfg = config if config is not None else load_config(config_path)
    if zotero_mode is None and not vault_only and sandbox_chosen(cfg):
        zotero_mode = "sandbox"  # chosen by `pull --zotero sandbox`, until `init`
    state_path = default_state_path(cfg, adopt_moved=True)  # a run: a moved vault's too
    state_path.parent.mkdir(parents=True, exist_ok=True)
    with StateDB.open(state_path) as state:
        state.remember_vault(cfg.vault.path)
        vault = VaultStore(cfg.vault, cfg.zotero.library_type, cfg.zotero.library_id)
        if zotero_mode == "sandbox":
            with sandbox_zotero(cfg) as (zcfg, key):
                cfg = replace(cfg, zotero=zcfg)
                vault = VaultStore(cfg.vault, zcfg.library_type, zcfg.library_id)
                rt = Runtime(
                    cfg,
                    state,
                    vault,
                    _zotero_store(zcfg, key, local=True),
                    zcfg.endpoint,
                    api_key=key,
                )
                state.bind_library(rt.library_ref)
                yield rt
                _remember_default_vault(rt)
            return
        zotero, known_key, api_key = None, api_key, None
        if cfg.zotero.configured and not vault_only and zotero_mode != "off":
            if cfg.zotero.local:
                api_key = ""  # the desktop grants a key per run in its own dialog
            elif known_key is not None:
                api_key = known_key
            else:
                api_key = get_api_key(cfg.zotero.library_type, str(cfg.zotero.library_id))
            zotero = _zotero_store(cfg.zotero, api_key or "")
        rt = Runtime(cfg, state, vault, zotero, api_key=api_key)
        state.bind_library(rt.library_ref)
        yield rt
        _remember_default_vault(rt)


def _remember_default_vault(rt: Runtime) -> None:
    """A run without a config that has its vault: later ones, from any folder, use it."""
    if rt.config.path is None:
        from .default_vault import remember

        remember(rt.vault.root)


def _zotero_store(zcfg: ZoteroConfig, key: str, *, local: bool = False) -> ZoteroStore:
    """``local``: the sandbox on 127.0.0.1, reached directly even when a proxy is set."""
    if not local:
        return ZoteroStore(zcfg, key)
    import httpx2

    from .zotero.client import tls_for

    client = httpx2.Client(
        follow_redirects=True, timeout=30, trust_env=False, verify=tls_for(zcfg.endpoint)
    )
    return ZoteroStore(zcfg, key, client=client)
