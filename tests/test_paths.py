"""Where pllm-sync keeps its files without ``PLLM_SYNC_HOME``: on Linux the XDG rules are
read directly (``paths._xdg``, to spare every start platformdirs' imports); they must name
the very folders platformdirs names, or an upgrade would leave a user's config and state
behind in the old ones."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pllm_sync.paths import APP, app_dirs

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the XDG rules apply on Linux")

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def _platformdirs() -> tuple[Path, Path, Path, Path]:
    import platformdirs

    return (
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_log_dir(APP)),
    )


@pytest.mark.parametrize(
    ("home", "xdg"),
    [
        ("/home/ada", {}),  # the usual: nothing set but HOME
        ("/home/ada/", {}),  # a trailing slash
        ("/", {}),
        ("/home/ada", {v: "" for v in XDG}),  # set but empty: ignored
        ("/home/ada", {v: f"/srv/{v.lower()}" for v in XDG}),  # each set
        ("/home/ada", {v: f"/srv/{v.lower()}/" for v in XDG}),
        ("/home/ada", {v: "relative/dir" for v in XDG}),  # relative: ignored (the spec)
        ("/home/ada", {"XDG_DATA_HOME": "/data", "XDG_STATE_HOME": "state"}),  # a mix
        ("relative-home", {}),  # a relative HOME: the account's home instead
        ("", {}),
        (None, {"XDG_CONFIG_HOME": "/etc/xdg-ada"}),  # HOME unset
    ],
)
def test_the_folders_are_platformdirs_own(
    monkeypatch: pytest.MonkeyPatch, home: str | None, xdg: dict[str, str]
) -> None:
    monkeypatch.delenv("PLLM_SYNC_HOME", raising=False)
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    for v in XDG:
        if v in xdg:
            monkeypatch.setenv(v, xdg[v])
        else:
            monkeypatch.delenv(v, raising=False)
    d = app_dirs()
    assert (d.config, d.data, d.cache, d.logs) == _platformdirs()


def test_a_run_does_not_load_platformdirs_on_linux(tmp_path: Path) -> None:
    """What the direct reading is for: a start without ``PLLM_SYNC_HOME`` (every user's)
    loads neither platformdirs nor what it loads."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PLLM_SYNC_HOME", *XDG)}
    env["HOME"] = str(tmp_path)
    code = (
        "import sys\nfrom pllm_sync.paths import app_dirs\nd = app_dirs()\n"
        "print(d.data, 'platformdirs' in sys.modules, 'tempfile' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == [str(tmp_path / ".local" / "share" / APP), "False", "False"]
