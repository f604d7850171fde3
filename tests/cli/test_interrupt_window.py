"""A Ctrl-C in the first moments of a run prints one line, never a traceback: the console
script imports ``pllm_sync.cli`` before ``main()`` (and its handler) runs, so that import
must load nothing slow. It once loaded argparse and typing there (about 25 ms), and a
Ctrl-C in that window printed a traceback."""

from __future__ import annotations

import ast
import subprocess
import sys


def test_the_cli_module_loads_nothing_before_main_can_handle_ctrl_c() -> None:
    code = (
        "import sys; before = set(sys.modules); import pllm_sync.cli; "
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('pllm_sync')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(ast.literal_eval(out))
    # the import machinery's own modules (already frozen in the interpreter) are cheap
    cheap = {"__future__", "importlib", "importlib._bootstrap", "importlib._bootstrap_external"}
    assert loaded <= cheap | {"warnings"}, f"loaded before main() handles a Ctrl-C: {out}"
