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
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import Config
from .paths import app_dirs
from .runlock import pid_alive, try_lock

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
    from .atomic import atomic_write  # loaded by the runs that write (status reads only)

    atomic_write(path, (json.dumps(choices, indent=2, sort_keys=True) + "\n").encode())


def forget_sandbox(cfg: Config) -> None:
    """Drop the sandbox choice of this config (it now names a real library)."""
    choices = _read_choices()
    if choices.pop(_config_ident(cfg), None) is None:
        return
    path = app_dirs().ensure().data / CHOICE_FILE
    from .atomic import atomic_write  # loaded by the runs that write (status reads only)

    atomic_write(path, (json.dumps(choices, indent=2, sort_keys=True) + "\n").encode())


SERVE_FILE = "sandbox-serve.json"


@contextmanager
def sandbox_claim(url_if_serving: bool = True) -> Iterator[str | None]:
    """Hold the sandbox library for this process, or find the `sandbox serve` that holds it.

    Two emulators over one SQLite file would each keep their own idea of the library (and its
    version counter) and overwrite each other. So one process serves it at a time: this yields
    None when we hold it (start an emulator), or the URL of a running `pllm-sync sandbox serve`
    to use instead. Raises :class:`SafetyAbort` when another sync holds it."""
    from .errors import SafetyAbort

    data = app_dirs().ensure().data
    fh = open(data / "sandbox.lock", "a+b")  # noqa: SIM115 - held for the whole block
    try:
        if not try_lock(fh.fileno()):
            serving = _read_serve_file(data / SERVE_FILE)
            if url_if_serving and serving is not None:
                yield serving
                return
            raise SafetyAbort(
                "the sandbox library is in use by another pllm-sync process",
                hint="wait for it to finish (or stop `pllm-sync watch` / `pllm-sync sandbox "
                "serve`), then run again",
            ) from None
        yield None
    finally:
        fh.close()


def _read_serve_file(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pid, url = int(data["pid"]), str(data["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if pid_alive(pid) else None


@contextmanager
def serving_sandbox(url: str) -> Iterator[None]:
    """Announce a `sandbox serve` at ``url`` so other pllm-sync runs use it meanwhile."""
    path = app_dirs().ensure().data / SERVE_FILE
    from .atomic import atomic_write

    atomic_write(path, json.dumps({"pid": os.getpid(), "url": url}).encode())
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
