"""A run registers only the command it runs (``cli.command_in``): the parser built for that
command must read every argument list for it exactly as the whole command line does -- the
same values, the same help, the same errors -- and any doubt falls back to the whole."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from pllm_sync import cli
from pllm_sync.cli import build_parser, command_in

from .test_output import all_commands


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str, str]:
    """What a parse gives: the namespace (functions by name), or the exit with its output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ns = vars(parser.parse_args(argv))
        except SystemExit as exc:
            return f"exit {exc.code}", out.getvalue(), err.getvalue()
    shown = {k: getattr(v, "__qualname__", v) for k, v in ns.items()}
    return repr(sorted(shown.items(), key=str)), "", ""


def test_each_command_reads_alone_as_in_the_whole_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    whole = build_parser()
    paths = [p for p in all_commands(whole) if p]
    assert {p[0] for p in paths} >= {"sync", "pull", "status", "conflicts", "vault", "lists"}
    for path in paths:
        argvs = [
            [*path],
            [*path, "--help"],
            [*path, "--bogus"],
            ["-v", "--config", "c.yaml", *path],
            ["-qv", "--conf=c.yaml", *path, "--json"],
            ["--verb", *path, "--dry-run", "--zotero", "off"],
            ["--config", *path],
        ]
        for argv in argvs:
            alone = build_parser(command_in(argv))
            assert _parse(alone, argv) == _parse(whole, argv), argv


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["status"], "status"),
        (["-vv", "-q", "--config", "x", "sync", "--json"], "sync"),
        (["--config=status", "pull"], "pull"),
        (["--config", "status"], None),  # the value is not the command
        (["-h", "status"], None),  # help for everything
        (["--he", "status"], None),
        (["--version", "status"], None),
        (["--v", "status"], None),  # ambiguous: --version or --verbose
        (["-x", "status"], None),
        (["--", "status"], None),
        ([], None),
        (["bogus"], "bogus"),
    ],
)
def test_command_in(argv: list[str], command: str | None) -> None:
    assert command_in(argv) == command


def test_unknown_or_missing_command_lists_every_command() -> None:
    whole = build_parser()
    for argv in (["bogus"], ["-v"], ["-h"]):
        assert _parse(build_parser(command_in(argv)), argv) == _parse(whole, argv)
    help_text = _parse(whole, ["-h"])[1]
    assert "status" in help_text and "doctor" in help_text and "sync" in help_text


@pytest.mark.parametrize("where", ["build_parser", "setup_logging"])
def test_ctrl_c_before_the_command_starts_says_so_without_a_traceback(
    where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C in the first fraction of a second (while the parser is built or logging is
    set up) printed a raw ``KeyboardInterrupt`` traceback; it exits 130 with a line."""
    import pllm_sync.logsetup

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    target = cli if where == "build_parser" else pllm_sync.logsetup
    monkeypatch.setattr(target, where, interrupted)
    assert cli.main(["status"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
