"""The ``pllm-sync`` command line: parse arguments, load config, dispatch, map errors to exit
codes. All real work lives in the command modules and the packages they call."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .commands import COMMAND_MODULES
from .errors import PllmSyncError


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


def with_config(text: str, config: str | None) -> str:
    """Make every `pllm-sync ...` step in a message carry this run's ``--config``, so the
    next step works when copied as printed."""
    if not config:
        return text
    import shlex

    return text.replace("`pllm-sync ", f"`pllm-sync --config {shlex.quote(config)} ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .logsetup import setup_logging  # after parsing: `--help` needs no logging

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
