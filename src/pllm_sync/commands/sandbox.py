"""``pllm-sync sandbox serve``: serve the sandbox Zotero library so it can be looked at.

The sandbox is the persistent local library that ``pull --zotero sandbox`` fills. Serving it
with the bundled Web API emulator lets any Zotero API client (pyzotero, curl, a browser) read
it: the command prints the base URL, the user id and the sandbox's own key (a random local
key, never a real Zotero key) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sandbox",
        help="look at the local sandbox Zotero library",
        description="The sandbox is the local Zotero library `pull --zotero sandbox` fills.",
    )
    actions = p.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the sandbox library over the Zotero Web API until Ctrl-C",
        description="Serve the sandbox library with the bundled Zotero Web API emulator and "
        "print its URL and key, so pyzotero, curl or any Zotero API client can browse it. "
        "Writes made through it are kept. Stop with Ctrl-C.",
    )
    serve.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    serve.add_argument(
        "--max-seconds", type=float, help="stop after this long (for scripts and tests)"
    )
    serve.set_defaults(func=run_serve)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_serve(args: argparse.Namespace) -> int:
    import signal
    import threading
    from contextlib import ExitStack

    from ..config import load_config
    from ..errors import PllmSyncError
    from ..runtime import SANDBOX_USER, sandbox_zotero
    from ..sandbox import sandbox_db_path

    cfg = load_config(args.config)
    fresh = not sandbox_db_path().exists()
    with ExitStack() as stack:
        try:
            zcfg, key = stack.enter_context(sandbox_zotero(cfg, port=args.port, serve_as="serve"))
        except OSError as exc:
            raise PllmSyncError(
                f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}",
                hint="pick another --port, or leave it out to use a free one",
            ) from exc
        url = zcfg.endpoint
        lines = [
            f"sandbox Zotero library at {url}",
            f"  library:  user {SANDBOX_USER}   key: {key}",
            f"  data:     {sandbox_db_path()}",
            f"  try:      curl -H 'Zotero-API-Key: {key}' '{url}/users/{SANDBOX_USER}/items/top"
            "?limit=5&format=json'",
            f"  pyzotero: z = zotero.Zotero({SANDBOX_USER}, 'user', '{key}'); z.endpoint = '{url}'",
        ]
        if fresh:
            lines.append("  (the sandbox is empty: `pllm-sync pull --zotero sandbox` fills it)")
        lines.append("serving; Ctrl-C to stop")
        print("\n".join(lines), flush=True)
        done = threading.Event()
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, lambda *_: done.set()) if main else None
        try:
            done.wait(args.max_seconds)  # None: until interrupted
        except KeyboardInterrupt:
            print("stopped (Ctrl-C)", file=sys.stderr)
            return 130
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
    print("stopped")
    return 0
