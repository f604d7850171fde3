"""What ``pllm-sync service install`` writes: a systemd user unit (Linux) or a launchd agent
(macOS) that runs ``pllm-sync watch`` for one config, restarts it on failure, and logs to a
rotating file in the user log dir.

The API key is never written into these files: the service reads it from the keyring like
any other run (``$PLLM_SYNC_ZOTERO_API_KEY`` is deliberately not copied).
"""

from __future__ import annotations

import os
import plistlib
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..paths import app_dirs

SERVICE_DIR_ENV = "PLLM_SYNC_SERVICE_DIR"
"""Write unit files here instead of the OS's folder (tests, packaging); the service manager
is then not called."""

COPIED_ENV = ("PLLM_SYNC_HOME",)
"""Environment that must reach the daemon for it to find the same files; never secrets."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # systemd unit stem / launchd label
    argv: tuple[str, ...]
    log_file: Path
    env: tuple[tuple[str, str], ...]
    description: str


def service_spec(cfg: Config) -> ServiceSpec:
    log_file = app_dirs().logs / f"watch-{cfg.state_name}.log"
    argv: list[str] = [sys.executable, "-m", "pllm_sync.cli"]
    if cfg.path is not None:
        argv += ["--config", str(cfg.path.resolve())]
    argv += ["watch", "--log-file", str(log_file)]
    env = tuple((k, os.environ[k]) for k in COPIED_ENV if os.environ.get(k))
    where = str(cfg.path.resolve()) if cfg.path else "the default config"
    return ServiceSpec(
        name=f"pllm-sync-{cfg.state_name}",
        argv=tuple(argv),
        log_file=log_file,
        env=env,
        description=f"pllm-sync watch: Zotero <-> Obsidian ({where})",
    )


def _systemd_quote(arg: str) -> str:
    """One ExecStart word: double-quoted, with backslash, quote, ``%`` and ``$`` escaped."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def systemd_unit(spec: ServiceSpec) -> str:
    exec_start = " ".join(_systemd_quote(a) for a in spec.argv)
    env_lines = "".join(f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in spec.env)
    return (
        "[Unit]\n"
        f"Description={spec.description}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        f"{env_lines}"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "# SIGTERM lets the running pass finish; watch then exits 143.\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=120\n"
        "SuccessExitStatus=130 143\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(spec: ServiceSpec) -> bytes:
    data: dict[str, object] = {
        "Label": f"org.pllm-sync.{spec.name.removeprefix('pllm-sync-')}",
        "ProgramArguments": list(spec.argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "ExitTimeOut": 120,
        # watch writes its own rotating log; these catch only a crash before logging starts
        "StandardOutPath": str(spec.log_file.with_suffix(".out")),
        "StandardErrorPath": str(spec.log_file.with_suffix(".out")),
    }
    if spec.env:
        data["EnvironmentVariables"] = dict(spec.env)
    return plistlib.dumps(data)


def service_dir(platform: str) -> tuple[Path, bool]:
    """Where unit files go, and whether that is the OS's own folder (then the service
    manager is told about them)."""
    override = os.environ.get(SERVICE_DIR_ENV)
    if override:
        return Path(override), False
    if platform == "macos":
        return Path.home() / "Library" / "LaunchAgents", True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user", True


def unit_path(spec: ServiceSpec, platform: str) -> tuple[Path, bool]:
    folder, real = service_dir(platform)
    if platform == "macos":
        label = f"org.pllm-sync.{spec.name.removeprefix('pllm-sync-')}"
        return folder / f"{label}.plist", real
    return folder / f"{spec.name}.service", real


def current_platform() -> str:
    return "macos" if sys.platform == "darwin" else "linux"
