"""Next-step hints that work as printed: a command suggested to the user carries the same
``--config`` the current run was given, so copying it runs against the same setup."""

from __future__ import annotations

import argparse
import sys

from ..errors import VaultError

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from pathlib import Path


def suggest(args: argparse.Namespace, command: str) -> str:
    """``pllm-sync [--config PATH] COMMAND`` for this run's config, shell-quoted."""
    import shlex

    config = getattr(args, "config", None)
    prefix = f"pllm-sync --config {shlex.quote(str(config))}" if config else "pllm-sync"
    return f"{prefix} {command}"


def announce_new_vault(
    root: Path,
    *,
    dry_run: bool,
    quiet: bool = False,
    known_papers: int = 0,
    configured: bool = True,
) -> None:
    """Say so before a run creates the vault folder, and refuse when even its parent is
    missing: that is more likely a typo in ``vault.path`` than a wish for new folders.

    Refuse too, before saying anything, a vault that is missing for a reason a new one would
    hide: a link whose target is gone, or a folder the state (``known_papers``) still keeps
    in step (an unmounted drive, a moved folder)."""
    if root.is_dir():
        return
    from ..sync.vault_guard import check_vault_place

    check_vault_place(root, known_papers, configured=configured)
    where = root.resolve()
    if root.exists():
        raise VaultError(
            f"vault.path {where} exists and is not a folder",
            hint="point vault.path in the config at a folder",
        )
    if not where.parent.is_dir():
        raise VaultError(
            f"neither the vault folder {where} nor its parent {where.parent} exists",
            hint="check vault.path in the config for a typo, or create the parent folder",
        )
    if not quiet:
        verb = "a real run would create it" if dry_run else "this run creates it"
        print(f"the vault folder {where} (vault.path) does not exist yet: {verb}", file=sys.stderr)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 paper``, ``2 papers``; ``many`` for irregular plurals (``entry``/``entries``)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
