"""``pllm-sync watch``: keep Zotero and the vault in step until stopped."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

FULL_PASS_EVERY = 10
"""Every this many Zotero polls, a whole pass runs even when nothing seems to have changed."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="run as a daemon: sync vault edits, Zotero changes and new "
        "catalog papers as they happen",
    )
    p.add_argument(
        "--zotero",
        choices=("config", "sandbox", "off"),
        default="config",
        help="which Zotero library to keep in step (as for `pllm-sync sync`)",
    )
    p.add_argument("--max-seconds", type=float, help="stop after this long (for scripts/tests)")
    p.add_argument("--max-passes", type=int, help="stop after this many sync passes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..daemon.loop import WatchLoop
    from ..daemon.watcher import VaultSignal, start_observer
    from ..model import Catalog
    from ..runtime import open_runtime
    from ..sync.engine import RunOptions, SyncEngine
    from .hints import announce_new_vault, plural
    from .output import applied_summary
    from .pull import catalog_loader, mirror_only, record_whats_new

    mode = None if args.zotero == "config" else args.zotero
    with open_runtime(args.config, zotero_mode=mode) as rt:
        rt.state.acquire_lock("watch")
        rt.vault.clean_temp_files(time.time())
        try:
            catalogs: list[Catalog] = []
            load = catalog_loader(rt.config, show=False)

            def loader(*a: Any, **kw: Any) -> Catalog:
                catalogs[:] = [load(*a, **kw)]  # the latest, for the digest
                return catalogs[0]

            engine = SyncEngine(
                rt.config,
                rt.state,
                rt.vault,
                rt.zotero,
                catalog_loader=loader,
                library_ref=rt.library_ref,
            )
            read_only = mirror_only(rt)
            if not rt.vault.exists():
                announce_new_vault(rt.vault.root, dry_run=False)
                rt.vault.ensure(from_template=True)
            sig = VaultSignal(str(rt.vault.root))
            observer = start_observer(str(rt.vault.root), sig)

            polls = 0

            def one_pass(pull: bool, reason: str) -> None:
                # A Zotero poll with no vault event is one conditional request when Zotero
                # did not change; every FULL_PASS_EVERY-th poll still runs a whole pass, in
                # case the file watcher missed an edit.
                nonlocal polls
                quick = False
                if reason == "zotero poll":
                    polls += 1
                    quick = polls % FULL_PASS_EVERY != 0
                had_papers = pull and rt.state.paper_counts()["total"] > 0
                res = engine.run(
                    RunOptions(
                        pull_catalog=pull,
                        show_progress=False,
                        if_zotero_changed=quick,
                        zotero_read_only=read_only,
                    )
                )
                log.info("watch (%s): %s", reason, applied_summary(res.applied))
                if pull and had_papers and catalogs:
                    digest = record_whats_new(rt, catalogs[0], res.plan.actions)
                    if digest is not None:
                        log.info("what's new: %d new papers, listed in %s", *digest)

            loop = WatchLoop(rt.config.watch, sig, one_pass)
            loop.install_signal_handlers()
            interrupted = threading.Event()

            def on_ctrl_c(signum: int, frame: object) -> None:
                interrupted.set()  # finish the pass in progress, then exit 130
                loop.stop_event.set()

            signal.signal(signal.SIGINT, on_ctrl_c)
            print(f"watching {rt.vault.root} (Ctrl-C to stop)", flush=True)
            try:
                stats = loop.run(max_seconds=args.max_seconds, max_passes=args.max_passes)
            finally:
                observer.stop()
                observer.join(timeout=5)
            print(
                f"stopped after {plural(stats.passes, 'pass', 'passes')} ({stats.failures} failed)"
            )
        finally:
            rt.state.release_lock()
    return 130 if interrupted.is_set() else 0
