"""``pllm-sync status``: last run, counts, pending conflicts, daemon state, where things live."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="show the last run, paper counts, conflicts and the daemon")
    p.add_argument("--json", action="store_true", help="print the status as JSON on stdout")
    p.set_defaults(func=run)


def _when(ts: float | None) -> str | None:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).isoformat(timespec="seconds") if ts else None


def _daemon(cfg: Any, lock_pid: int | None) -> dict[str, Any]:
    """What a front end needs to find the running daemon (from its daemon.json)."""
    from ..daemon.discovery import read_daemon_file

    found = read_daemon_file(cfg)
    return {
        "running": found is not None or lock_pid is not None,
        "pid": found["pid"] if found else lock_pid,
        "api_url": found.get("url") if found else None,
        "api_token_file": found.get("api_token_file") if found else None,
    }


def run(args: argparse.Namespace) -> int:
    from ..config import find_config_path, load_config
    from ..sandbox import sandbox_chosen, sandbox_db_path
    from ..sync.state import StateDB, default_state_path
    from .hints import suggest

    cfg = load_config(args.config)
    path = default_state_path(cfg)
    cfg_path = find_config_path(args.config)
    info: dict[str, Any] = {
        "config": str(cfg_path.absolute()) if cfg_path else "(embedded defaults)",
        "state": str(path.absolute()),
        "vault": str(cfg.vault.path.absolute()),
        "zotero": (
            f"{cfg.zotero.library_type} {cfg.zotero.library_id} at {cfg.zotero.endpoint}"
            if cfg.zotero.configured
            else "the sandbox library (chosen with `pull --zotero sandbox`; "
            f"`{suggest(args, 'init')}` connects your own)"
            if sandbox_chosen(cfg)
            else f"not connected (run `{suggest(args, 'init')}`)"
        ),
    }
    sandbox = sandbox_db_path()
    if sandbox.exists():
        info["sandbox"] = f"{sandbox} (browse it: `{suggest(args, 'sandbox serve')}`)"
    if path.exists():
        with StateDB.open(path) as st:
            last = st.last_run_summary()
            lock = st.lock_holder()
            info["papers"] = st.paper_counts()
            info["last_run"] = (
                None
                if last is None
                else {
                    "id": last.id,
                    "command": last.command,
                    "status": last.status,
                    "started": _when(last.started_at),
                    "finished": _when(last.finished_at),
                    "planned": (last.plan or {}).get("counts")
                    if isinstance(last.plan, dict)
                    else last.plan,
                    "applied": last.applied,
                }
            )
            info["conflicts"] = st.count_open_conflicts()
            warnings = (
                (last.plan or {}).get("warnings") if last and isinstance(last.plan, dict) else None
            )
            if warnings:
                # e.g. copies of a note carrying one id: listed until the user tidies up
                info["warnings"] = {str(i + 1): w for i, w in enumerate(warnings[:50])}
            info["daemon"] = _daemon(cfg, lock.pid if lock and lock.owner == "watch" else None)
    else:
        info["last_run"] = None
        info["daemon"] = _daemon(cfg, None)
        info["conflicts"] = 0
    if args.json:
        import json

        json.dump(info, sys.stdout, indent=2, default=str)
        print()
        return 0
    for k, v in info.items():
        if isinstance(v, dict):
            print(f"{k}:")
            for k2, v2 in v.items():
                print(f"  {k2}: {_human(k2, v2)}")
        else:
            print(f"{k}: {_human(k, v)}")
    return 0


def _human(key: str, value: Any) -> str:
    """A status value as a person reads it: counts in words, never a Python repr."""
    from .output import applied_summary

    if value is None:
        return "never" if key == "last_run" else "-"
    if isinstance(value, dict):
        if key == "applied":
            return applied_summary(value)
        return ", ".join(f"{k} {v}" for k, v in value.items() if v) or "nothing"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "-"
    return str(value)
