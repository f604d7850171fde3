"""``pllm-sync watch``: keep Zotero and the vault in step until stopped.

Wires the daemon's parts together: the OS lock (one daemon per vault and library), the vault
watcher, the Zotero stream client, the worker loop, the local API and its discovery file.
SIGINT/SIGTERM let the running pass finish, then exit 130/143.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import ExitStack
from typing import Any

FULL_PASS_EVERY = 10
"""While the vault watcher cannot be trusted (not running, the vault root away), every this
many Zotero polls a whole pass runs even when nothing seems to have changed. While it can,
vault changes arrive as events and the reconcile pass (``watch.reconcile_minutes``) is the
only periodic walk."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="run as a daemon: sync vault edits, Zotero changes and new "
        "catalog papers as they happen; serve the local API for plugins",
    )
    p.add_argument(
        "--zotero",
        choices=("config", "sandbox", "off"),
        default="config",
        help="which Zotero library to keep in step (as for `pllm-sync sync`)",
    )
    p.add_argument("--max-seconds", type=float, help="stop after this long (for scripts/tests)")
    p.add_argument("--max-passes", type=int, help="stop after this many sync passes")
    p.add_argument("--log-file", help="also log to this rotating file (the service does)")
    p.set_defaults(func=run)


def setup_file_logging(path: str) -> None:
    """A rotating log file (5 x 1 MB) next to stderr, for the daemon run as a service."""
    import logging
    from logging.handlers import RotatingFileHandler
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler.setLevel(logging.INFO)
    root = logging.getLogger("pllm_sync")
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))


def run(args: argparse.Namespace) -> int:
    import logging

    from ..api import API_VERSION
    from ..api.events import EventBus
    from ..daemon.backend import DaemonBackend
    from ..daemon.discovery import (
        DaemonLock,
        lock_file,
        remove_daemon_file,
        write_daemon_file,
    )
    from ..daemon.loop import WatchLoop
    from ..daemon.runner import PassRunner
    from ..daemon.watcher import VaultSignal, VaultWatch
    from ..model import Catalog
    from ..runtime import open_runtime
    from ..sync.engine import SyncEngine
    from ..zotero.stream import StreamClient, library_topic
    from .hints import announce_new_vault, plural

    if args.log_file:
        setup_file_logging(args.log_file)
    mode = None if args.zotero == "config" else args.zotero
    with open_runtime(args.config, zotero_mode=mode) as rt, ExitStack() as stack:
        cfg = rt.config
        lock = DaemonLock(lock_file(cfg)).acquire()
        stack.callback(lock.release)
        rt.state.acquire_lock("watch")
        stack.callback(rt.state.release_lock)
        rt.vault.clean_temp_files(time.time())  # litter of a run that was killed
        counts = rt.state.paper_counts()
        if not rt.vault.exists():  # never a new vault in place of an unmounted one
            announce_new_vault(
                rt.vault.root,
                dry_run=False,
                known_papers=counts["total"],
                configured=rt.config.path is not None,
            )
            rt.vault.ensure(from_template=True)
        elif counts["in_vault"] and not rt.vault.papers_present():
            # an empty mount point: refuse at start, as sync does (a service manager starts
            # the daemon again later; a daemon already running rides such a loss out)
            from ..sync.vault_guard import check_vault_place

            check_vault_place(
                rt.vault.root,
                counts["total"],
                rt.state.note_paths(),
                configured=rt.config.path is not None,
            )
        events = EventBus()
        from ..catalog.caches import clear_parse_caches
        from ..model import Catalog
        from .pull import catalog_loader, mirror_only, record_whats_new

        catalogs: list[Catalog] = []
        load = catalog_loader(cfg, show=False)

        def loader(*a: Any, **kw: Any) -> Catalog:
            catalogs[:] = [load(*a, **kw)]  # for the what's-new digest after this pass
            return catalogs[0]

        engine = SyncEngine(
            cfg, rt.state, rt.vault, rt.zotero, catalog_loader=loader, library_ref=rt.library_ref
        )

        def after_pull(actions: Any) -> None:
            # Let go of the catalog and the parse caches: the idle daemon would otherwise
            # hold every parsed entry until the next refresh (megabytes for a large list).
            catalog = catalogs.pop() if catalogs else None
            clear_parse_caches()
            if catalog is not None and actions:
                digest = record_whats_new(rt, catalog, actions)
                if digest is not None:
                    logging.getLogger(__name__).info(
                        "what's new: %d new papers, listed in %s", *digest
                    )

        runner = PassRunner(
            engine,
            rt.state,
            rt.vault,
            events,
            zotero_read_only=mirror_only(rt),
            full_poll_every=FULL_PASS_EVERY,
            after_pull=after_pull,
            delete_grace=cfg.watch.delete_grace_seconds,
        )
        stack.callback(runner.close)
        sig = VaultSignal(str(rt.vault.root), ignore_folders=(cfg.vault.index_folder,))
        stream: StreamClient | None = None
        loop = WatchLoop(
            cfg.watch,
            sig,
            runner,
            is_own_write=runner.is_own_write,
            stream_connected=lambda: stream is not None and stream.connected,
            on_queued=lambda job: events.publish("run.queued", run=job.to_json()),
            zotero_seen=lambda: (
                rt.state.get_library_version(lib) if (lib := rt.library_ref) else None
            ),
            recheck_at=runner.recheck_at,
        )
        loop.install_signal_handlers()
        watch = VaultWatch(str(rt.vault.root), sig).start()
        stack.callback(watch.stop)

        def watcher_ok() -> bool:
            """False when vault events may have been lost (the watcher died, the vault root
            went or was replaced, the kernel dropped events): the loop then scans."""
            return watch.check()

        loop.watcher_ok = watcher_ok
        runner.watcher_healthy = lambda: watch.healthy
        z = cfg.zotero
        if rt.zotero is not None and rt.api_key and z.stream_url != "off":
            stream = StreamClient(
                z.stream_url,
                rt.api_key,
                library_topic(z.library_type, str(z.library_id)),
                loop.zotero_changed,
            ).start()
            stack.callback(stream.stop)
        api_url = None
        if cfg.api.enabled:
            from ..api.app import create_app
            from ..api.auth import load_or_create_token
            from ..api.server import ApiServer

            token, token_file = load_or_create_token()
            backend = DaemonBackend(
                loop,
                rt.state,
                events,
                vault_root=str(rt.vault.root),
                zotero=f"{z.library_type} {z.library_id}" if rt.zotero is not None else None,
                zotero_link=lambda key: f"zotero://select/library/items/{key}",
                stream_info=lambda: stream.info() if stream else {"connected": False},
                apply_merged=runner.apply_merged,
            )
            server = ApiServer(create_app(backend, token), cfg.api.port).start()
            stack.callback(server.stop)
            api_url = server.url
            write_daemon_file(
                cfg,
                {
                    "url": api_url,
                    "pid": os.getpid(),
                    "api_version": API_VERSION,
                    "api_token_file": str(token_file),
                    "vault": str(rt.vault.root),
                    "config": str(cfg.path) if cfg.path else None,
                    "started_at": time.time(),
                },
            )
            stack.callback(remove_daemon_file, cfg)
        where = f"; API at {api_url}" if api_url else ""
        print(f"watching {rt.vault.root} (Ctrl-C to stop){where}", flush=True)
        stats = loop.run(max_seconds=args.max_seconds, max_passes=args.max_passes)
        print(
            f"stopped after {plural(stats.passes, 'pass', 'passes')} ({stats.failures} failed, "
            f"{stats.own_writes_skipped} own writes ignored)",
            flush=True,
        )
    import signal

    if loop.stopped_by == signal.SIGINT:
        return 130
    if loop.stopped_by == signal.SIGTERM:
        return 143
    return 0
