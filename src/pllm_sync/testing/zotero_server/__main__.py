"""Run the emulator standalone: ``python -m pllm_sync.testing.zotero_server --port 0 ...``.

Prints the base URL (``http://127.0.0.1:PORT``) as the first line of stdout (and, with
``--stream``, the streaming API's ``ws://`` URL as the second), then serves until SIGTERM or
SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from . import RateLimit, ZoteroEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pllm_sync.testing.zotero_server",
        description="Serve an offline emulator of the Zotero Web API v3.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--user-id", type=int, default=1)
    parser.add_argument("--username", default="testuser")
    parser.add_argument("--api-key", default="TESTKEY")
    parser.add_argument("--read-only-key", default=None)
    parser.add_argument("--db", default=None, help="SQLite file: keep the library across restarts")
    parser.add_argument("--control", action="store_true", help="serve the /_control test API")
    parser.add_argument(
        "--legacy-versions",
        action="store_true",
        help="one library version per write request instead of one per object",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="CAPACITY/RATE",
        default=None,
        help="limit requests like api.zotero.org: a bucket of CAPACITY requests refilled at "
        "RATE per second (the real server: 100/10); empty -> 429 with Retry-After",
    )
    parser.add_argument(
        "--backoff",
        type=int,
        default=None,
        metavar="SECONDS",
        help="with --rate-limit: send 'Backoff: SECONDS' while a bucket is below half full",
    )
    parser.add_argument(
        "--stream",
        nargs="?",
        const=0,
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the streaming API (websocket at /stream) on its own port "
        "(default: a free one); its URL is printed as the second line",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)

    rate_limit = None
    if args.rate_limit is not None:
        try:
            capacity, rate = args.rate_limit.split("/")
            rate_limit = RateLimit(float(capacity), float(rate), backoff=args.backoff)
        except ValueError as exc:
            parser.error(f"--rate-limit: expected CAPACITY/RATE such as 100/10 ({exc})")
    emu = ZoteroEmulator(
        host=args.host,
        port=args.port,
        user_id=args.user_id,
        api_key=args.api_key,
        read_only_key=args.read_only_key,
        db_path=args.db,
        control=args.control,
        per_object_versions=not args.legacy_versions,
        username=args.username,
        rate_limit=rate_limit,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emu.start()
    stream = None
    if args.stream is not None:
        from .stream import StreamServer

        stream = StreamServer(emu, host=args.host, port=args.stream).start()
    sys.stdout.write(emu.base_url + "\n")
    if stream is not None:
        sys.stdout.write(stream.url + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if stream is not None:
            stream.stop()
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
