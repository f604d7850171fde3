"""``pllm-sync init``: connect a Zotero library and choose the vault.

Writes the config file (never the key) and stores the API key in the system keyring. Works
interactively or headless (``--library-id``, ``--vault`` and the key from
``$PLLM_SYNC_ZOTERO_API_KEY`` or ``--api-key-stdin``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from ..credentials import ENV_VAR
from ..errors import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="connect your Zotero library and choose the vault folder")
    p.add_argument("--library-id", help="numeric Zotero user or group id")
    p.add_argument("--library-type", choices=("user", "group"), default="user")
    p.add_argument("--vault", help="vault folder (default ./pllm-vault)")
    p.add_argument("--endpoint", default="https://api.zotero.org")
    p.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read the API key from standard input (for scripts)",
    )
    p.add_argument(
        "--no-keyring",
        action="store_true",
        help=f"do not store the key; use ${ENV_VAR} at run time",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing config file")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="do not ask Zotero whether the key and library id work (offline set-up)",
    )
    p.set_defaults(func=run)


def _ask(prompt: str, default: str | None = None) -> str:
    if not sys.stdin.isatty():
        if default is None:
            raise ConfigError(
                f"{prompt} is needed and there is no terminal to ask",
                hint="pass it as an option (see `pllm-sync init --help`)",
            )
        return default
    suffix = f" [{default}]" if default else ""
    answer = input(f"{prompt}{suffix}: ").strip()
    return answer or (default or "")


def _check_access(data: dict[str, Any], key: str) -> None:
    """One request to Zotero: the key is valid, belongs to the library and may write.
    Raises ZoteroError (exit 4) before anything is written."""
    from ..config import parse_config
    from ..zotero.store import ZoteroStore

    cfg = parse_config(data, "init").zotero
    ZoteroStore(cfg, key, attempts=1).check_access(write=True)
    print(f"Zotero accepted the key for {cfg.library_type} library {cfg.library_id}")


def run(args: argparse.Namespace) -> int:
    # Imported here so that `--help` does not pay for YAML and the config machinery.
    import yaml

    from ..config import find_config_path, parse_config
    from ..credentials import store_api_key
    from ..paths import app_dirs

    target = Path(args.config) if args.config else app_dirs().config / "config.yaml"
    existing = (
        find_config_path(args.config)
        if args.config and Path(args.config).exists()
        else (target if target.exists() else None)
    )
    if existing and not args.force:
        raise ConfigError(
            f"a config already exists at {existing}", hint="edit it, or pass --force to replace it"
        )
    library_id = args.library_id or _ask("Zotero library id (zotero.org/settings/keys)")
    vault = args.vault or _ask("Obsidian vault folder", str(Path.cwd() / "pllm-vault"))
    data = {
        "zotero": {
            "library_id": library_id,
            "library_type": args.library_type,
            "endpoint": args.endpoint,
        },
        "vault": {"path": str(Path(vault).expanduser().resolve())},
    }
    parse_config(data, "init")  # validate before writing anything
    key: str | None
    if args.api_key_stdin:
        key = sys.stdin.readline().strip()
    elif os.environ.get(ENV_VAR):
        key = os.environ[ENV_VAR]
    elif sys.stdin.isatty():
        key = getpass.getpass("Zotero API key (input hidden): ").strip()
    else:
        key = None
    if key and not args.no_check:
        _check_access(data, key)
    if key and not args.no_keyring:
        try:
            store_api_key(args.library_type, library_id, key)
        except Exception as exc:
            raise ConfigError(
                f"could not store the API key in the keyring ({type(exc).__name__})",
                hint=f"use --no-keyring and set ${ENV_VAR} when running",
            ) from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            "# written by `pllm-sync init`; see config.example.yaml for every key\n"
            + yaml.safe_dump(data, sort_keys=False),
            encoding="utf-8",
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot write the config file {target}: {exc.strerror or exc}",
            hint="pass a writable path with --config",
        ) from exc
    print(f"config written to {target}")
    if not key:
        print(f"no API key stored: set ${ENV_VAR} or run `pllm-sync init --force` in a terminal")
    elif args.no_keyring:
        print(f"the API key was not stored (--no-keyring): set ${ENV_VAR} when running pllm-sync")
    print("next: `pllm-sync pull --dry-run` to preview, then `pllm-sync pull`")
    return 0
