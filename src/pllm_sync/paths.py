"""Where pllm-sync keeps its own files.

``PLLM_SYNC_HOME`` puts every user directory (config, state, cache, logs) under one folder so
tests and scripts can isolate runs; otherwise the platform's user directories are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "pllm-sync"


@dataclass(frozen=True)
class AppDirs:
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
    import platformdirs  # only here: a run under PLLM_SYNC_HOME never loads it

    return AppDirs(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_log_dir(APP)),
    )
