"""`--help` and `status` start fast: they never load the heavy stacks (HTML conversion, the
Zotero client, the catalog parser and its HTTP stack, YAML emitting) that only a sync needs.
Checked by what is imported, not by timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "markdownify",
    "bs4",
    "pyzotero",
    "httpx2",
    "urllib.request",
    "pllm_sync.catalog",
    "pllm_sync.vault.store",
    "pllm_sync.zotero",
    "pllm_sync.sync.engine",
)
START_UP = (
    "yaml",  # the config is read from its parsed cache while its text is unchanged
    "logging.handlers",  # the log file opens on the first record, and these log none
    "platformdirs",  # PLLM_SYNC_HOME names every folder
)
STATUS = (
    "typing",  # for annotations only (with shutil, a tenth of status's own imports)
    "shutil",  # argparse's help width is read without it (``cli.terminal_columns``)
)


def _loaded_after(code: str, home: Path) -> set[str]:
    script = (
        "import sys, json, contextlib, io\n"
        "from pllm_sync.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    try:\n        {code}\n    except SystemExit:\n        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PLLM_SYNC_CONFIG"}
    env["PLLM_SYNC_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_help_loads_no_heavy_module(tmp_path: Path) -> None:
    loaded = _loaded_after("main(['--help'])", tmp_path)
    assert "pllm_sync.commands.status" in loaded  # the commands were registered
    assert not [m for m in HEAVY if m in loaded]


def test_status_loads_no_heavy_module(tmp_path: Path) -> None:
    loaded = _loaded_after("main(['status'])", tmp_path)
    assert "pllm_sync.sync.state" in loaded  # status did run
    assert not [m for m in HEAVY if m in loaded]


def test_help_and_status_skip_yaml_and_the_log_file(tmp_path: Path) -> None:
    """With a config file: the first run parses it with YAML, later ones take it parsed."""
    home = tmp_path / "home"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"catalog: {{sources: [{{name: mine, path: {tmp_path / 'list.md'}}}]}}\n"
        f"vault: {{path: {tmp_path / 'vault'}}}\n",
        encoding="utf-8",
    )
    status = f"main(['--config', {str(config)!r}, 'status'])"
    assert "yaml" in _loaded_after(status, home)  # nothing cached yet
    loaded = _loaded_after(status, home)
    assert "pllm_sync.sync.state" in loaded  # status did run
    assert not [m for m in (*HEAVY, *START_UP, *STATUS) if m in loaded]
    loaded = _loaded_after("main(['--help'])", home)
    assert not [m for m in (*HEAVY, *START_UP, "pllm_sync.config") if m in loaded]
    assert not (home / "logs").exists()  # nothing was logged, so no log file was made


def test_help_wraps_at_the_terminal_width(tmp_path: Path) -> None:
    """``--help`` still fits the terminal (``COLUMNS``, as argparse reads it; 80 columns when
    output is not a terminal) although the width is read without ``shutil``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLLM_SYNC_CONFIG", "COLUMNS")}
    env["PLLM_SYNC_HOME"] = str(tmp_path)
    widths = {}
    for columns in (50, 120, None):
        out = subprocess.run(
            [sys.executable, "-m", "pllm_sync.cli", "pull", "--help"],
            capture_output=True,
            text=True,
            check=True,
            env=env if columns is None else {**env, "COLUMNS": str(columns)},
        ).stdout
        widths[columns] = max(len(line) for line in out.splitlines())
    # the usage line of an option with choices cannot break: a few columns over at most
    assert widths[50] <= 55 < 80 < widths[120] <= 118, widths
    assert 70 < widths[None] <= 80, widths
