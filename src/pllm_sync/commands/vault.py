"""``pllm-sync vault init [PATH]``: create a vault from the bundled template, or merge the
template into an existing vault without touching any file the user already has."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the vault stack loads only when the command runs
    from pathlib import Path

    from ..config import Config
    from ..vault.template import TemplateReport


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vault",
        help="manage the Obsidian vault",
        description="Manage the Obsidian vault pllm-sync writes paper notes into.",
    )
    sub = parser.add_subparsers(dest="vault_command", metavar="ACTION")
    init = sub.add_parser(
        "init",
        help="create a vault from the template, or add the template to an existing vault",
        description=(
            "Create a new vault from pllm-sync's template, or merge the template into an "
            "existing vault. Existing files are never overwritten; .obsidian/types.json only "
            "gains the property types it lacks."
        ),
    )
    init.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="the vault folder (default: vault.path from the config)",
    )
    init.add_argument(
        "--dry-run", action="store_true", help="show what would be created, write nothing"
    )
    init.set_defaults(func=run_init)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_init(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from ..config import load_config
    from ..errors import VaultError
    from ..vault.store import VaultStore
    from ..vault.template import merge_template

    config = load_config(args.config)
    vault_cfg = config.vault
    if args.path:
        vault_cfg = dataclasses.replace(vault_cfg, path=Path(args.path).expanduser())
    root = vault_cfg.path
    if root.exists() and not root.is_dir():
        raise VaultError(
            f"{root} exists and is not a folder", hint="give the path of a folder for the vault"
        )
    _check_place(dataclasses.replace(config, vault=vault_cfg))
    existed = root.is_dir()
    report: TemplateReport | None
    if args.dry_run:
        report = merge_template(
            root,
            papers_folder=vault_cfg.papers_folder,
            index_folder=vault_cfg.index_folder,
            dry_run=True,
        )
    else:
        report = VaultStore(vault_cfg).ensure(from_template=True)
        if config.path is None and not args.path:  # the embedded defaults' vault
            from ..default_vault import remember

            remember(root)  # later config-less runs, from any folder, use it
    assert report is not None
    _print_report(root, existed, report, args.dry_run)
    return 0


def _check_place(config: Config) -> None:
    """Never make (or fill with the template) a vault where a synced one should be: its
    folder moved away, its drive not connected (a dangling link, an empty mount point).
    Making one there once hid the real vault: the moved one lost its state, and a later
    sync undid edits not synced yet."""
    from ..sync.state import StateDB, default_state_path
    from ..sync.vault_guard import check_vault_place

    path = default_state_path(config)
    papers, notes = 0, []
    if path.exists():
        with StateDB.open(path) as st:
            papers, notes = st.paper_counts()["total"], st.note_paths()
    check_vault_place(config.vault.path, papers, notes, configured=config.path is not None)


def _print_report(root: Path, existed: bool, report: TemplateReport, dry_run: bool) -> None:
    verb = "would create" if dry_run else "created"
    action = "merged the template into" if existed else "created a new vault at"
    if dry_run:
        action = "would merge the template into" if existed else "would create a new vault at"
    print(f"{action} {root}")
    for rel in report.created:
        print(f"  {verb}: {rel}")
    for rel in report.kept:
        print(f"  kept (yours, unchanged): {rel}")
    if report.types_added:
        print(f"  property types added: {', '.join(report.types_added)}")
    if report.types_kept:
        print(f"  property types you set differently (kept): {', '.join(report.types_kept)}")
