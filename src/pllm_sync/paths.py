"""Where pllm-sync keeps its own files.

``PLLM_SYNC_HOME`` puts every user directory (config, state, cache, logs) under one folder so
tests and scripts can isolate runs; otherwise the platform's user directories are used.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP = "pllm-sync"


@dataclass(frozen=True)
class AppDirs:
    """The four user directories (made on demand by ``ensure``)."""

    config: Path
    data: Path
    cache: Path
    logs: Path

    def ensure(self) -> AppDirs:
        for p in (self.config, self.data, self.cache, self.logs):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_dirs() -> AppDirs:
    """The user directories, honouring ``PLLM_SYNC_HOME`` when it is set."""
    home = os.environ.get("PLLM_SYNC_HOME")
    if home:
        base = Path(home).expanduser().absolute()  # messages name absolute paths
        return AppDirs(base / "config", base / "data", base / "cache", base / "logs")
    if sys.platform == "linux":
        return AppDirs(
            _xdg("XDG_CONFIG_HOME", ".config"),
            _xdg("XDG_DATA_HOME", ".local/share"),
            _xdg("XDG_CACHE_HOME", ".cache"),
            _xdg("XDG_STATE_HOME", ".local/state") / "log",
        )
    import platformdirs  # only here: Linux and a run under PLLM_SYNC_HOME never load it

    return AppDirs(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_log_dir(APP)),
    )


def _xdg(variable: str, default: str) -> Path:
    """The XDG base directory ``variable`` names (an absolute path; the spec ignores a
    relative one), else ``~/default``, with the app's folder in it: what ``platformdirs``
    answers on Linux (``tests/test_paths.py`` holds the two side by side), without its
    import. Loading it took ~10 ms (it loads ``tempfile``, ``shutil``, ``random``) of a
    ``status`` that takes ~90."""
    value = os.environ.get(variable, "")
    if not os.path.isabs(value):
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home):  # HOME unset, empty or relative: the account's home
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        value = os.path.join(home, default)
    return Path(value, APP)
