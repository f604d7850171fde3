"""The ``pllm-sync`` command line: parse arguments, load config, dispatch, map errors to exit
codes. All real work lives in the command modules and the packages they call."""

from __future__ import annotations

import argparse
import importlib
import logging
import logging.handlers
import shlex
import sys
from collections.abc import Sequence

from . import __version__
from .commands import COMMAND_MODULES
from .errors import PllmSyncError
from .paths import app_dirs

log = logging.getLogger("pllm_sync")
LOG_FILE = "pllm-sync.log"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pllm-sync",
        description="Mirror curated paper lists into Zotero and an Obsidian vault, two-way.",
    )
    parser.add_argument("--version", action="version", version=f"pllm-sync {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $PLLM_SYNC_CONFIG "
        "or config.yaml in the user config dir; none = embedded defaults)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more diagnostics on stderr (-vv for debug)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"pllm_sync.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pllm_sync.commands.{name}":
                raise
            continue  # a command not built yet is simply absent from --help
        module.register(sub)
    return parser


def setup_logging(verbose: int, quiet: bool) -> None:
    """Diagnostics to stderr at the chosen level, and a rotating log file in the user log
    dir at INFO (DEBUG with -vv) so a daemon's passes can be read afterwards."""
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.setLevel(level)
    handlers: list[logging.Handler] = [handler]
    file_level = logging.DEBUG if verbose >= 2 else logging.INFO
    try:
        logs = app_dirs().logs
        logs.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            logs / LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        to_file.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        to_file.setLevel(file_level)
        handlers.append(to_file)
    except OSError as exc:  # a read-only home: keep going with stderr only
        print(f"warning: no log file ({exc.strerror or exc})", file=sys.stderr)
    root = logging.getLogger("pllm_sync")
    for old in root.handlers:
        old.close()
    root.handlers[:] = handlers
    root.setLevel(min(level, file_level))
    root.propagate = False


def with_config(text: str, config: str | None) -> str:
    """Make every `pllm-sync ...` step in a message carry this run's ``--config``, so the
    next step works when copied as printed."""
    if not config:
        return text
    return text.replace("`pllm-sync ", f"`pllm-sync --config {shlex.quote(config)} ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except PllmSyncError as exc:
        print(f"error: {with_config(str(exc), args.config)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `pllm-sync status | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a file or folder the OS refused: name it, no traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"error: cannot access{where}: {exc.strerror or exc}\n  next step: check the "
            "path, its permissions and free disk space, then run again",
            file=sys.stderr,
        )
        return 5
    except KeyboardInterrupt:
        print("interrupted; the next run picks up where this one stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
