"""``pllm-sync doctor [--json]``: check the set-up, one line per check, ok or the fix.

Read-only: it opens the state database read-only, asks Zotero one question (who the key
belongs to and what it may do) and writes nothing but a probe file it removes at once. The
exit code is that of the first failed check's kind (2 config, 4 Zotero, 5 vault or folders,
6 lock or a vault not where the state saw it, as ``sync`` stops for it, 8 state database);
warnings do not fail.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

from .hints import plural, suggest

if TYPE_CHECKING:
    from pathlib import Path


class Check(NamedTuple):
    """One line of the report. A named tuple rather than a dataclass: registering the
    command (every start, ``--help`` too) then loads no dataclass machinery."""

    name: str
    status: str  # "ok", "warn", "fail"
    detail: str
    fix: str | None = None
    exit_code: int = 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="check config, key, Zotero, vault, limits, state, lock, daemon, cache and logs",
        description="Check the set-up one item at a time and print ok or the fix for each. "
        "Changes nothing.",
    )
    p.add_argument("--json", action="store_true", help="print the checks as a JSON array")
    p.set_defaults(func=run)


def _writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder``, else why not."""
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".pllm-doctor-", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(name)
    return None


def check_folder(name: str, folder: Path, *, create_hint: str) -> Check:
    if not folder.exists():
        return Check(name, "ok", f"{folder} (not created yet; {create_hint})")
    if not folder.is_dir():
        return Check(name, "fail", f"{folder} is not a folder", "move the file away", 5)
    why = _writable(folder)
    if why:
        return Check(name, "fail", f"{folder} is not writable ({why})", "fix its permissions", 5)
    return Check(name, "ok", f"{folder} (writable)")


def check_vault(
    vault: Any, args: argparse.Namespace, state: Path, *, configured: bool = True
) -> Check:
    """The vault folder as ``sync`` will find it: a link to a drive not connected, a folder
    moved away or an empty mount point while the state keeps papers there fail here as
    they stop ``sync`` (doctor once called them fine, or advised creating the folder)."""
    from ..errors import PllmSyncError
    from ..sync.vault_guard import check_vault_place

    root: Path = vault.path
    papers, notes = _known(state)
    try:
        check_vault_place(root, papers, notes, configured=configured)
    except PllmSyncError as exc:
        from ..cli import with_config  # the next step as printed works with this --config

        hint = with_config(exc.hint, args.config) if exc.hint else None
        # the code sync stops with for this vault (6: the guard), so a script checking
        # doctor before a sync sees the same
        return Check("vault", "fail", exc.message, hint, exc.exit_code)
    root = root.resolve()
    if not root.exists():
        if not root.parent.is_dir():
            return Check(
                "vault",
                "fail",
                f"{root} and its parent folder do not exist",
                "fix vault.path in the config (a typo?) or create the parent folder",
                5,
            )
        return Check("vault", "ok", f"{root} (not created yet: `{suggest(args, 'pull')}` makes it)")
    return check_folder("vault", root, create_hint="")


def _known(path: Path) -> tuple[int, list[str]]:
    """How many papers the state keeps in step, and their notes' vault paths (read-only;
    none when unreadable: the state check reports that)."""
    import sqlite3

    from ..sync.state import NOTE_PATHS_SQL, connect_read_only

    if not path.exists():
        return 0, []
    try:
        conn = connect_read_only(path)
        try:
            (papers,) = conn.execute("SELECT COUNT(*) FROM papers").fetchone()
            notes = [str(r[0]) for r in conn.execute(NOTE_PATHS_SQL)]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0, []
    return int(papers), notes


def check_inotify(root: Path) -> Check:
    """The watch daemon needs one inotify watch per vault folder (Linux)."""
    from pathlib import Path

    limit_file = Path("/proc/sys/fs/inotify/max_user_watches")
    if not sys.platform.startswith("linux") or not limit_file.exists():
        return Check("inotify", "ok", "not Linux: no inotify limit applies")
    try:
        limit = int(limit_file.read_text().strip())
    except (OSError, ValueError):
        return Check("inotify", "warn", f"cannot read {limit_file}")
    folders = sum(1 for _ in root.rglob("*") if _.is_dir()) + 1 if root.is_dir() else 1
    if limit < folders * 2 + 1000:
        return Check(
            "inotify",
            "warn",
            f"max_user_watches is {limit} for a vault of {plural(folders, 'folder')} (shared with "
            "every "
            "other program watching files)",
            "raise it: sudo sysctl fs.inotify.max_user_watches=524288 (and in /etc/sysctl.conf)",
        )
    if not root.is_dir():
        return Check("inotify", "ok", f"max_user_watches {limit} (no vault folder to count)")
    return Check(
        "inotify", "ok", f"max_user_watches {limit}, vault has {plural(folders, 'folder')}"
    )


def check_state(path: Path) -> tuple[Check, Check, Check]:
    """Integrity, lock and daemon, from the state database opened read-only and the run
    lock's file (an OS lock: held exactly while its process lives)."""
    import sqlite3

    from ..runlock import RunLock
    from ..sync.state import connect_read_only

    if not path.exists():
        none = f"{path} (no sync has run yet)"
        return (
            Check("state", "ok", none),
            Check("lock", "ok", "free"),
            Check("daemon", "ok", "not running"),
        )
    move = f"move {path} aside and run a sync: the state is rebuilt from Zotero and the vault"
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as exc:
        return (
            Check("state", "fail", f"{path} cannot be opened ({exc})", move, 8),
            Check("lock", "warn", "unknown (state unreadable)"),
            Check("daemon", "warn", "unknown (state unreadable)"),
        )
    try:
        try:
            result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            result = [str(exc)]
        if result != ["ok"]:
            return (
                Check("state", "fail", f"{path} is damaged: {'; '.join(result[:3])}", move, 8),
                Check("lock", "warn", "unknown (state damaged)"),
                Check("daemon", "warn", "unknown (state damaged)"),
            )
        state = Check("state", "ok", f"{path} (integrity ok)")
    finally:
        conn.close()
    held = RunLock(path.with_name(path.name + ".lock")).holder()
    if held is None:
        return state, Check("lock", "ok", "free"), Check("daemon", "ok", "not running")
    owner, pid, host = held.owner, held.pid, held.hostname
    lock = Check("lock", "ok", f"held by {owner} (pid {pid} on {host})")
    daemon = (
        Check("daemon", "ok", f"running (pid {pid} on {host})")
        if owner == "watch"
        else Check("daemon", "ok", f"not running ({owner} is running)")
    )
    return state, lock, daemon


def check_zotero(cfg: Any, args: argparse.Namespace) -> list[Check]:
    from ..credentials import ENV_VAR, get_api_key
    from ..errors import PllmSyncError
    from ..sandbox import sandbox_chosen, sandbox_db_path
    from ..zotero.store import ZoteroStore

    if not cfg.zotero.configured:
        if sandbox_chosen(cfg):
            db = sandbox_db_path()
            return [
                Check("key", "ok", "the sandbox has its own local key"),
                Check("zotero", "ok", f"the sandbox library ({db})"),
            ]
        return [
            Check("key", "ok", "no Zotero library configured (vault only)"),
            Check(
                "zotero",
                "warn",
                "not connected: syncs reach the vault only",
                f"`{suggest(args, 'init')}` connects your library; "
                f"`{suggest(args, 'pull --zotero sandbox')}` tries one offline",
            ),
        ]
    lib = f"{cfg.zotero.library_type} library {cfg.zotero.library_id}"
    if cfg.zotero.local:
        key_check = Check(
            "key", "ok", "none needed: Zotero asks you to Allow pllm-sync when a run writes"
        )
        try:
            ZoteroStore(cfg.zotero, "", attempts=1).check_access(write=False)
        except PllmSyncError as exc:
            return [key_check, Check("zotero", "fail", exc.message, exc.hint, exc.exit_code)]
        return [key_check, Check("zotero", "ok", f"the Zotero desktop at {cfg.zotero.endpoint}")]
    key = get_api_key(cfg.zotero.library_type, str(cfg.zotero.library_id), required=False)
    if not key:
        return [
            Check(
                "key",
                "fail",
                f"no API key for {lib}",
                f"`{suggest(args, 'init --force')}` stores it in the keyring, or set ${ENV_VAR}",
                2,
            ),
            Check("zotero", "warn", "not checked (no key)"),
        ]
    where = f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the keyring"
    store = ZoteroStore(cfg.zotero, key, attempts=1)
    try:
        store.check_access(write=False)
    except PllmSyncError as exc:
        return [
            Check("key", "ok", f"found in {where}"),
            Check("zotero", "fail", exc.message, exc.hint, exc.exit_code),
        ]
    try:
        store.check_access(write=True)
    except PllmSyncError as exc:
        return [
            Check("key", "warn", f"found in {where}; it may read {lib} but not write", exc.hint),
            Check("zotero", "ok", f"{cfg.zotero.endpoint} reachable"),
        ]
    return [
        Check("key", "ok", f"found in {where}; it may read and write {lib}"),
        Check("zotero", "ok", f"{cfg.zotero.endpoint} reachable"),
    ]


def run_checks(args: argparse.Namespace) -> list[Check]:
    from ..config import find_config_path, load_config
    from ..errors import PllmSyncError
    from ..paths import app_dirs
    from ..sync.state import default_state_path

    dirs = app_dirs()
    try:
        cfg = load_config(args.config)
    except PllmSyncError as exc:
        return [Check("config", "fail", exc.message, exc.hint, exc.exit_code)]
    source = find_config_path(args.config)
    checks = [Check("config", "ok", f"{source.resolve() if source else 'embedded defaults'}")]
    checks += check_zotero(cfg, args)
    checks.append(
        check_vault(cfg.vault, args, default_state_path(cfg), configured=source is not None)
    )
    checks.append(check_inotify(cfg.vault.path))
    checks += check_state(default_state_path(cfg))
    checks.append(check_folder("cache", dirs.cache, create_hint="made on first use"))
    checks.append(check_folder("logs", dirs.logs, create_hint="made on first use"))
    return checks


def run(args: argparse.Namespace) -> int:
    checks = run_checks(args)
    if args.json:
        import json

        json.dump([c._asdict() for c in checks], sys.stdout, indent=2)
        print()
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{c.status:<4}  {c.name:<{width}}  {c.detail}")
            if c.fix and c.status != "ok":
                print(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    failed = [c for c in checks if c.status == "fail"]
    return failed[0].exit_code or 1 if failed else 0
