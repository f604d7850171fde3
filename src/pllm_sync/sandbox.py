"""The sandbox Zotero library: where it lives, and whether a config has chosen it.

``pull --zotero sandbox`` lets a new user try the round trip without an account. Once chosen,
the sandbox stays the library of that config (plain ``sync``, ``status``, ``watch`` and
``conflicts`` use it) until the config names a real library (``pllm-sync init``). The choice
is remembered in a small JSON file in the user data dir, keyed by the config file (or the
embedded defaults), because the config file itself belongs to the user.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .atomic import atomic_write
from .config import Config
from .paths import app_dirs

log = logging.getLogger(__name__)

SANDBOX_USER = 1
CHOICE_FILE = "sandbox-choice.json"


def sandbox_db_path() -> Path:
    """The SQLite file holding the sandbox library."""
    return app_dirs().data / "sandbox-zotero.sqlite3"


def sandbox_key_path() -> Path:
    return app_dirs().data / "sandbox.key"


def _config_ident(cfg: Config) -> str:
    return str(cfg.path.resolve()) if cfg.path else "(embedded defaults)"


def _read_choices() -> dict[str, str]:
    path = app_dirs().data / CHOICE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a damaged file only forgets the choice
        log.warning("ignoring %s (%s); run `pllm-sync pull --zotero sandbox` again", path, exc)
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def sandbox_chosen(cfg: Config) -> bool:
    """True when this config has no real library and its user chose the sandbox."""
    return not cfg.zotero.configured and _read_choices().get(_config_ident(cfg)) == "sandbox"


def remember_sandbox(cfg: Config) -> None:
    """Make the sandbox this config's library until a real one is configured."""
    choices = _read_choices()
    ident = _config_ident(cfg)
    if choices.get(ident) == "sandbox":
        return
    choices[ident] = "sandbox"
    path = app_dirs().ensure().data / CHOICE_FILE
    atomic_write(path, (json.dumps(choices, indent=2, sort_keys=True) + "\n").encode())


def forget_sandbox(cfg: Config) -> None:
    """Drop the sandbox choice of this config (it now names a real library)."""
    choices = _read_choices()
    if choices.pop(_config_ident(cfg), None) is None:
        return
    path = app_dirs().ensure().data / CHOICE_FILE
    atomic_write(path, (json.dumps(choices, indent=2, sort_keys=True) + "\n").encode())
