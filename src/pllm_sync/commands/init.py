"""``pllm-sync init``: connect a Zotero library and choose the vault.

Writes the config file (never the key) and stores the API key in the system keyring. Works
interactively or headless (``--library-id``, ``--vault`` and the key from
``$PLLM_SYNC_ZOTERO_API_KEY`` or ``--api-key-stdin``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from ..credentials import ENV_VAR
from ..errors import ConfigError
from .hints import suggest

if TYPE_CHECKING:  # loaded when the command runs, so `--help` stays fast
    from pathlib import Path

    from ..config import Config


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="connect your Zotero library and choose the vault folder")
    p.add_argument("--library-id", help="numeric Zotero user or group id")
    p.add_argument(
        "--library-type",
        choices=("user", "group"),
        default="user",
        help="a personal library (user, default) or a shared group library",
    )
    p.add_argument("--vault", help="vault folder (default ./pllm-vault)")
    p.add_argument(
        "--endpoint",
        default="https://api.zotero.org",
        help="the Zotero API base URL (default: the Zotero Web API); `local`: the Zotero "
        "desktop on this computer (Zotero 10 for writes), no account or key needed",
    )
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
    store = ZoteroStore(cfg, key, attempts=1)
    if cfg.library_type == "group":
        store.check_access(write=False)
        if not store.writable():
            print(
                f"the key may only read group library {cfg.library_id}: pllm-sync will mirror "
                "it into your vault one way (your vault edits stay in the vault)"
            )
            return
    else:
        store.check_access(write=True)
    print(f"Zotero accepted the key for {cfg.library_type} library {cfg.library_id}")


def _existing_data(path: Path | None) -> dict[str, Any]:
    """The existing config as a mapping (empty when there is none); init only replaces the
    Zotero library and the vault path in it and keeps every other key."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read the existing config {path}: {exc}",
            hint="fix it, or move it away and run `pllm-sync init` again",
        ) from exc
    return data if isinstance(data, dict) else {}


def run(args: argparse.Namespace) -> int:
    import getpass
    from pathlib import Path

    import yaml

    from ..atomic import atomic_write
    from ..config import (
        LOCAL_ENDPOINT,
        ZoteroConfig,
        default_config,
        find_config_path,
        load_config,
        parse_config,
    )
    from ..credentials import store_api_key
    from ..paths import app_dirs
    from ..sandbox import sandbox_chosen
    from ..vault.place import dangling_link_error

    target = Path(args.config) if args.config else app_dirs().config / "config.yaml"
    existing = (
        find_config_path(args.config)
        if args.config and Path(args.config).exists()
        else (target if target.exists() else None)
    )
    old = _existing_data(existing)
    old_zotero: dict[str, Any] = old["zotero"] if isinstance(old.get("zotero"), dict) else {}
    old_vault: dict[str, Any] = old["vault"] if isinstance(old.get("vault"), dict) else {}
    if existing and old_zotero.get("library_id") is not None and not args.force:
        raise ConfigError(
            f"a config already exists at {existing} and names Zotero library "
            f"{old_zotero.get('library_id')}",
            hint="edit it, or pass --force to replace its Zotero library and vault path",
        )
    local = ZoteroConfig(
        endpoint=LOCAL_ENDPOINT if args.endpoint == "local" else args.endpoint
    ).local
    library_id = args.library_id or (
        "0" if local else _ask("Zotero library id (zotero.org/settings/keys)")
    )
    default_vault = (
        str(load_config(existing).vault.path) if existing else str(Path.cwd() / "pllm-vault")
    )
    vault = args.vault or _ask("Obsidian vault folder", default_vault)
    data = dict(old)
    data["zotero"] = {
        **old_zotero,
        "library_id": library_id,
        "library_type": args.library_type,
        "endpoint": args.endpoint,
    }
    # absolute, but through the links as given: a vault on a drive reached by a link keeps
    # the link in its config, so a run with the drive away names that link (its target,
    # written instead, once read as a folder the run could simply make)
    vault_path = Path(os.path.abspath(Path(vault).expanduser()))
    data["vault"] = {**old_vault, "path": str(vault_path)}
    dangling = dangling_link_error(vault_path)
    if dangling is not None:
        print(f"warning: {dangling.message.replace('; nothing was changed', '')}", file=sys.stderr)
        print(f"  next step: {dangling.hint}", file=sys.stderr)
    parse_config(data, "init")  # validate before writing anything
    key: str | None
    if local:  # the desktop grants write access in its own dialog, per run: no key to keep
        if not args.no_check:
            from ..zotero.store import ZoteroStore

            ZoteroStore(parse_config(data, "init").zotero, "", attempts=1).check_access(write=False)
            print("the Zotero desktop answered; it will ask you to Allow pllm-sync to write")
        key = None
    elif args.api_key_stdin:
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
    previous = load_config(existing) if existing else default_config()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if existing is not None:
            backup = existing.with_name(existing.name + ".bak")
            backup.write_bytes(existing.read_bytes())
        atomic_write(
            target,
            (
                "# written by `pllm-sync init`; see config.example.yaml for every key\n"
                + yaml.safe_dump(data, sort_keys=False)
            ).encode("utf-8"),
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot write the config file {target}: {exc.strerror or exc}",
            hint="pass a writable path with --config",
        ) from exc
    print(f"config written to {target.resolve()}")
    if existing is not None:
        print(f"  (the previous version is kept as {backup.resolve()})")
    if sandbox_chosen(previous):
        _leave_sandbox(previous)
    if not key and not local:
        print(f"no API key stored: set ${ENV_VAR} or run `pllm-sync init --force` in a terminal")
    elif args.no_keyring:
        print(f"the API key was not stored (--no-keyring): set ${ENV_VAR} when running pllm-sync")
    print(f"next: `{suggest(args, 'pull --dry-run')}` to preview, then `{suggest(args, 'pull')}`")
    return 0


def _leave_sandbox(previous: Config) -> None:
    """Moving from the sandbox to a real library: plain commands stop using the sandbox. The
    state keeps each paper's Zotero side per library, so the next pull files every paper into
    the new library (adopted by its pllm-sync id, never duplicated) and never reads the
    sandbox items' absence as deletions. Notes and the sandbox library itself are kept."""
    from ..sandbox import forget_sandbox, sandbox_db_path

    forget_sandbox(previous)
    print(
        "left the sandbox: the next pull adds every paper to your library; your notes stay "
        f"as they are and the sandbox library stays in {sandbox_db_path().parent}"
    )
