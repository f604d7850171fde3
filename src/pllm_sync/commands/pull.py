"""``pllm-sync pull`` (catalog -> Zotero + vault, then the two-way pass) and ``pllm-sync sync``
(the two-way pass only)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from ..errors import ConflictsPending
from ..sandbox import remember_sandbox
from .hints import announce_new_vault, suggest

log = logging.getLogger(__name__)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (creates, updates, conflicts per side) and change nothing",
    )
    p.add_argument("--json", action="store_true", help="print the plan/result as JSON on stdout")
    p.add_argument(
        "--zotero",
        choices=("config", "sandbox", "off"),
        default="config",
        help="config (default): the library in the config, or the sandbox once chosen and "
        "until `pllm-sync init` connects a library; sandbox: a persistent local library "
        "served by the bundled emulator, to try pllm-sync offline; off: vault only",
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pull", help="import the catalog into Zotero and the vault, then sync both ways"
    )
    _add_common(p)
    p.set_defaults(func=run_pull)
    s = sub.add_parser("sync", help="sync Zotero and the vault both ways (no catalog fetch)")
    _add_common(s)
    s.set_defaults(func=run_sync)


def run_pull(args: argparse.Namespace) -> int:
    return _run(args, pull_catalog=True)


def run_sync(args: argparse.Namespace) -> int:
    return _run(args, pull_catalog=False)


def _run(args: argparse.Namespace, *, pull_catalog: bool) -> int:
    from ..runtime import open_runtime
    from ..sync.engine import RunOptions, SyncEngine

    mode = None if args.zotero == "config" else args.zotero
    with open_runtime(args.config, zotero_mode=mode) as rt:
        if rt.zotero is None and args.zotero != "off" and not args.json:
            print(
                "Zotero is not connected: syncing the vault only. Run "
                f"`{suggest(args, 'init')}` to connect your library, or try "
                f"`{suggest(args, 'pull --zotero sandbox')}`.",
                file=sys.stderr,
            )
        announce_new_vault(rt.vault.root, dry_run=args.dry_run, quiet=args.json)
        state_lock = f"{'pull' if pull_catalog else 'sync'}"
        rt.state.acquire_lock(state_lock)
        try:
            engine = SyncEngine(
                rt.config, rt.state, rt.vault, rt.zotero, library_ref=rt.library_ref
            )
            show = None if not args.no_progress else False
            result = engine.run(
                RunOptions(pull_catalog=pull_catalog, dry_run=args.dry_run, show_progress=show)
            )
        finally:
            rt.state.release_lock()
        if rt.sandbox_url and args.zotero == "sandbox" and not args.dry_run:
            remember_sandbox(rt.config)
        if args.json:
            json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False, default=str)
            print()
        elif args.dry_run:
            print(result.plan.render())
        else:
            counts = ", ".join(f"{k}={v}" for k, v in sorted(result.applied.items()) if v)
            if result.errors:
                print(
                    f"finished with {len(result.errors)} failed write(s) (listed on stderr; "
                    f"the next run retries them); applied: {counts or 'nothing'}"
                )
            else:
                print(f"done: {counts or 'nothing to change'}; vault at {rt.vault.root}")
            warned = getattr(result, "catalog_warnings", 0)
            if warned:
                print(
                    f"catalog: {warned} entries could not be read as given; "
                    f"`{suggest(args, 'catalog')}` lists them with their line numbers",
                    file=sys.stderr,
                )
            if rt.sandbox_url:
                print(
                    "Zotero: the sandbox library (kept in the pllm-sync data dir; "
                    f"`{suggest(args, 'status')}` shows where). Plain `sync`, `watch` and "
                    f"`conflicts` use it too; `{suggest(args, 'sandbox serve')}` lets any "
                    f"Zotero API client browse it; `{suggest(args, 'init')}` connects your "
                    "own library."
                )
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        if result.errors:
            return 1
        if result.plan.conflicts and not args.dry_run:
            n = len(result.plan.conflicts)
            raise ConflictsPending(
                f"{n} conflict(s) need a decision; both sides were kept",
                hint="run `pllm-sync conflicts` to see and resolve them",
            )
        return 0
