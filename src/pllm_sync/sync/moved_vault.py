"""Finding the state of a vault that was moved to another path.

A vault's state is named by a hash of the vault's real path (one state and one run lock per
vault, whatever config names it). Moving the vault folder (into iCloud Drive, onto another
disk, a rename) and pointing ``vault.path`` at the new place therefore used to start an
empty state: every paper was merged as after a lost state (a union), so an edit made
before the move and not yet synced came undone (a tag removed came back, a cleared status
returned), and every note was rewritten.

Each state records its vault's real path and its folder's identity, device and inode
(``meta.vault``, ``meta.vault_id``). A vault with no state of its own takes over another
vault's state when all of these hold:

- it is that very folder (the same device and inode): the vault was renamed or moved
  within its filesystem. A copy is another folder, a second vault, and starts its own
  state, as before; so does a vault moved to another disk (its files were copied) and a
  copy made while the original's drive is unplugged (the original, once back, keeps its
  state);
- the recorded vault path no longer exists;
- no run holds that state's lock: a daemon still running on the old path stops this run
  with a message (starting an empty state instead would undo an edit not yet synced);
- the new vault holds that state's notes: of up to ``SAMPLE`` notes the state knows, at
  least half are at the same relative path with the same content hash (some may have been
  edited since);
- exactly one state qualifies.

Otherwise nothing is adopted, and the vault starts its own state as before.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat as stat_mod
from pathlib import Path

from ..atomic import file_sha256
from ..errors import SafetyAbort
from ..runlock import RunLock
from .state import connect_read_only

log = logging.getLogger(__name__)

STATE_NAME = re.compile(r"state-vault-[0-9a-f]{12}\.sqlite3")
"""A vault's state database's name (``state.vault_state_name``)."""

SAMPLE = 50
"""How many of a state's notes are compared with the new vault's files."""


def _read_candidate(db: Path) -> tuple[str, str, list[tuple[str, str]]] | None:
    """The recorded vault path and identity and a sample of (note path, hash) of the state
    at ``db``; None when it records no vault or cannot be read."""
    try:
        conn = connect_read_only(db, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if "vault" not in meta or "vault_id" not in meta:
            return None
        notes = conn.execute(
            "SELECT note_path, note_sha256 FROM papers WHERE note_path IS NOT NULL "
            "AND note_sha256 IS NOT NULL AND tombstone = 0 ORDER BY pllm_id LIMIT ?",
            (SAMPLE,),
        ).fetchall()
        return str(meta["vault"]), str(meta["vault_id"]), [(str(p), str(h)) for p, h in notes]
    except sqlite3.Error:  # an older schema (no meta table), or not a state database
        return None
    finally:
        conn.close()


def moved_vault_state(vault_path: Path, target: Path) -> tuple[Path, str] | None:
    """The state database (and the path its vault had) that the vault now at
    ``vault_path`` should take over, whose own state would be ``target``; None when no
    state qualifies (see the module doc)."""
    real = os.path.realpath(vault_path.expanduser())
    try:
        st = os.stat(real)
    except OSError:
        return None
    identity = f"{st.st_dev}:{st.st_ino}"
    if not stat_mod.S_ISDIR(st.st_mode):
        return None
    found: list[tuple[Path, str]] = []
    for db in sorted(target.parent.glob("state-vault-*.sqlite3")):
        if db.name == target.name or not STATE_NAME.fullmatch(db.name):
            continue  # not a vault's state (the ``….moved-to-…`` a takeover leaves, say)
        got = _read_candidate(db)
        if got is None:
            continue
        old_vault, old_id, sample = got
        if old_id != identity or not sample or old_vault == real or os.path.lexists(old_vault):
            continue
        same = sum(1 for rel, sha in sample if file_sha256(os.path.join(real, rel)) == sha)
        if same * 2 < len(sample):
            continue
        holder = RunLock(db.with_name(db.name + ".lock")).holder()
        if holder is not None:  # a daemon still running on the old path, say
            raise SafetyAbort(
                f"the vault at {real} is the one that was at {old_vault}, whose state a "
                f"running pllm-sync holds ({holder.owner}, pid {holder.pid}); nothing was "
                "changed",
                hint=f"stop it (kill {holder.pid}, or Ctrl-C where it runs), then run again: the "
                "state follows the vault (a run now would start an empty one, and an edit "
                "not yet synced would come undone)",
            )
        found.append((db, old_vault))
    if len(found) > 1:
        log.warning(
            "the vault at %s holds the notes of several vaults that are gone (%s); "
            "it starts a state of its own",
            real,
            ", ".join(v for _db, v in found),
        )
        return None
    return found[0] if found else None
