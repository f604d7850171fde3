"""The ``pllm-sync`` command line: parse arguments, load config, dispatch, map errors to exit
codes. All real work lives in the command modules and the packages they call."""

from __future__ import annotations

import importlib
import os
import sys

from . import __version__
from .commands import COMMAND_MODULES
from .errors import PllmSyncError

TYPE_CHECKING = False  # typing itself is not loaded either (mypy reads this name as True)
if TYPE_CHECKING:
    # Loaded inside main(), not here: the console script imports this module before main()
    # runs, and a Ctrl-C while argparse loaded printed a traceback.
    import argparse
    from collections.abc import Sequence
    from typing import Any

_MODULE_OF = {"sync": "pull"}
"""Commands registered by a module of another name (each other command's module is its own
name)."""

_TOP_FLAGS = "vq"
"""The top-level options that take no value (besides ``--help`` and ``--version``)."""
_TOP_LONG = ("--version", "--config", "--verbose", "--quiet", "--help")


def command_in(argv: Sequence[str]) -> str | None:
    """The command an argument list runs, read the way argparse reads it, when that is
    certain; None whenever there is any doubt (help or version asked before the command, an
    unknown or ambiguous option, ``--``): then every command is registered, as always."""
    args = iter(argv)
    for arg in args:
        if arg == "--" or arg == "-":
            return None
        if arg.startswith("--"):
            name, eq, _ = arg.partition("=")
            known = [o for o in _TOP_LONG if o.startswith(name)]
            if len(known) != 1 or known[0] in ("--help", "--version"):
                return None
            if known[0] == "--config" and not eq and next(args, None) is None:
                return None
            continue
        if arg.startswith("-"):
            if not all(c in _TOP_FLAGS for c in arg[1:]):
                return None
            continue
        return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command``, only that command's part of it (the rest
    is not imported): the same parse of any argument list that runs ``command``."""
    if command is not None:
        module = _MODULE_OF.get(command, command)
        if module in COMMAND_MODULES:
            parser = _build_parser((module,))
            if command in _subcommands(parser):
                return parser
    return _build_parser(COMMAND_MODULES)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, which argparse asks for each time it makes a
    help formatter (once per option added) and for which it imports ``shutil`` (with its
    ``bz2``, ``lzma`` and ``zlib``): a tenth of a bare ``status``'s imports, for a width
    only ``--help`` and usage errors print."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout (None), closed, not a terminal
        return 80


def _build_parser(modules: Sequence[str]) -> argparse.ArgumentParser:
    import argparse

    class Formatter(argparse.HelpFormatter):
        """argparse's own, its width read without ``shutil`` (``terminal_columns``)."""

        def __init__(
            self,
            prog: str,
            indent_increment: int = 2,
            max_help_position: int = 24,
            width: int | None = None,
        ) -> None:
            width = terminal_columns() - 2 if width is None else width
            super().__init__(prog, indent_increment, max_help_position, width)

    class Parser(argparse.ArgumentParser):
        """Every parser and subparser (they are made of their parent's class) formats with
        ``Formatter`` unless told otherwise."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(*args, **kwargs)

    parser = Parser(
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
    for name in modules:
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
    if argv is None:
        argv = sys.argv[1:]
    try:
        parser = build_parser(command_in(argv))  # a command's run registers that command only
        args = parser.parse_args(argv)
        from .logsetup import setup_logging  # after parsing: `--help` needs no logging

        setup_logging(args.verbose, args.quiet)
    except KeyboardInterrupt:  # Ctrl-C at once: nothing started, no traceback either
        print("interrupted; nothing was changed", file=sys.stderr)
        return 130
    if not getattr(args, "func", None):
        build_parser().print_help(sys.stderr)  # every command listed
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
