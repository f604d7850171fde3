"""Where the vault of the embedded defaults lives, once a run without a config made it.

The embedded defaults name ``./pllm-vault``: relative to the folder a command runs in. After
the quick start's ``pull`` in one folder, a ``sync`` (or a ``watch`` started by a login
service) from any other folder once made a second vault there, with a second state, and the
first vault's edits waited for a run from its own folder. So the first run without a config
that has a vault remembers where it is (in the data dir), and later runs without a config
use that vault, unless the folder they run in holds a ``pllm-vault`` of its own. A vault
moved (its state taken over) or given up (its state deleted) is replaced by the next one
used."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .paths import app_dirs

FILE = "default-vault.json"
log = logging.getLogger(__name__)


def remembered() -> Path | None:
    """The vault runs without a config follow (an absolute path), or None."""
    path = app_dirs().data / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # damaged: forget it (the next run writes it again)
        log.warning("ignoring %s (%s)", path, exc)
        return None
    found = data.get("path") if isinstance(data, dict) else None
    return Path(found) if isinstance(found, str) and os.path.isabs(found) else None


def follow(relative: Path) -> Path:
    """The embedded defaults' vault for this run: ``relative`` when the current folder
    holds it (or it is absolute), else the one remembered, else ``relative``.

    A remembered vault that is not there is still followed while a state knows it (a drive
    not connected: the run then stops and says so, rather than making a second vault
    here); with its state deleted too (the user starting over), it is forgotten."""
    if relative.is_absolute() or relative.is_dir() or relative.is_symlink():
        return relative
    known = remembered()
    if known is None:
        return relative
    if not known.is_dir() and not _state_knows_papers(known):
        return relative  # given up (its state deleted, or never synced): not followed
    log.info("using the vault at %s (made by a run without a config)", known)
    return known


def _state_knows_papers(vault: Path) -> bool:
    """Whether the state of the vault at ``vault`` keeps any paper in step (read-only; a
    state that cannot be read counts as knowing, so the run stops and says why)."""
    import sqlite3

    from .sync.state import connect_read_only, vault_state_file

    path = vault_state_file(vault)
    if not path.exists():
        return False
    try:
        conn = connect_read_only(path)
        try:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM papers)").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return True
    return bool(row and row[0])


def remember(vault: Path) -> None:
    """Record ``vault`` (made or used by a run without a config) unless another one is
    remembered that runs still follow: the first vault stays the one runs from anywhere use
    (a run in a folder with a ``pllm-vault`` of its own does not re-point them). Writes only
    on change."""
    where = Path(os.path.abspath(vault))
    known = remembered()
    if not where.is_dir() or known == where:
        return
    if known is not None and (known.is_dir() or _state_knows_papers(known)):
        return
    from .atomic import atomic_write  # loaded by the runs that write

    data = app_dirs().ensure().data / FILE
    atomic_write(data, (json.dumps({"path": str(where)}, indent=2) + "\n").encode("utf-8"))
