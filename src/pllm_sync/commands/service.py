"""``pllm-sync service install|uninstall|status``: run ``watch`` as a user service.

Linux: a systemd user unit (``systemctl --user``); macOS: a launchd agent. The files are
rendered by ``pllm_sync.daemon.service_files``; this command writes them and tells the
service manager, when there is one to tell.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import PllmSyncError

if TYPE_CHECKING:
    from pathlib import Path


def register(sub: Any) -> None:
    p = sub.add_parser("service", help="run `watch` as a user service (systemd or launchd)")
    p.add_argument(
        "--platform",
        choices=("auto", "linux", "macos"),
        default="auto",
        help="which kind of service file to write (default: this OS)",
    )
    sp = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    i = sp.add_parser("install", help="write the service file and start the daemon at login")
    i.add_argument("--no-start", action="store_true", help="only write the file")
    i.set_defaults(func=run)
    u = sp.add_parser("uninstall", help="stop the service and remove its file")
    u.set_defaults(func=run)
    s = sp.add_parser("status", help="is it installed, is it running, where it logs")
    s.set_defaults(func=run)


def _manager(platform: str, unit: Path, action: str) -> list[list[str]]:
    if platform == "macos":
        return {
            "install": [["launchctl", "load", "-w", str(unit)]],
            "uninstall": [["launchctl", "unload", "-w", str(unit)]],
        }.get(action, [])
    name = unit.name
    return {
        "install": [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", name],
        ],
        "uninstall": [
            ["systemctl", "--user", "disable", "--now", name],
            ["systemctl", "--user", "daemon-reload"],
        ],
    }.get(action, [])


def _tell_manager(cmds: list[list[str]]) -> bool:
    """Run the service manager's commands; False (and how to do it by hand) when it is not
    there or refuses (e.g. no user session bus in a container)."""
    import shutil
    import subprocess

    for cmd in cmds:
        if shutil.which(cmd[0]) is None:
            print(f"{cmd[0]} not found; run by hand: {' '.join(cmd)}")
            return False
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            why = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["failed"]
            print(f"`{' '.join(cmd)}` failed: {why[0]}\n  run it by hand once a user session is up")
            return False
    return True


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..daemon.discovery import read_daemon_file
    from ..daemon.service_files import (
        current_platform,
        launchd_plist,
        service_spec,
        systemd_unit,
        unit_path,
    )

    cfg = load_config(args.config)
    platform = current_platform() if args.platform == "auto" else args.platform
    spec = service_spec(cfg)
    unit, real = unit_path(spec, platform)
    if args.action == "install":
        if not cfg.zotero.configured:
            print("note: no Zotero library in the config; the daemon will sync the vault only")
        unit.parent.mkdir(parents=True, exist_ok=True)
        body = launchd_plist(spec) if platform == "macos" else systemd_unit(spec).encode()
        unit.write_bytes(body)
        unit.chmod(0o644)
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {unit}\nlogs: {spec.log_file}")
        if real and not args.no_start:
            if _tell_manager(_manager(platform, unit, "install")):
                print("started; it starts again at login")
        else:
            print("not started (" + ("--no-start" if real else "custom service dir") + ")")
        return 0
    if args.action == "uninstall":
        if not unit.exists():
            raise PllmSyncError(
                f"no service installed for this config ({unit} is missing)",
                hint="`pllm-sync service status` shows where it would be",
            )
        if real:
            _tell_manager(_manager(platform, unit, "uninstall"))
        unit.unlink()
        print(f"removed {unit}")
        return 0
    running = read_daemon_file(cfg)
    print(f"service file: {unit} ({'installed' if unit.exists() else 'not installed'})")
    print(
        f"daemon: running, pid {running['pid']}, API {running.get('url')}"
        if running
        else "daemon: not running"
    )
    print(f"logs: {spec.log_file}")
    return 0
