"""Where the vault folder is, when that place is a link whose target is gone.

``~/Vault -> /Volumes/Drive/Vault`` with the drive away resolves to a folder that does not
exist, so a naive run offers to create the vault there (through the link, or beside it) and
the user's notes, once the drive is back, sit behind an empty vault. Every path that may
create the vault refuses such a place first, and says which link to fix."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import VaultError


def dangling_link(root: Path) -> tuple[Path, str] | None:
    """The link on the way to ``root`` (itself or a parent folder) whose target is missing,
    with that target as the link spells it; None when there is none."""
    for p in (root, *root.parents):
        if p.is_symlink() and not p.exists():
            try:
                return p, os.readlink(p)
            except OSError:  # removed meanwhile: nothing to name
                return None
    return None


def dangling_link_error(root: Path) -> VaultError | None:
    """The refusal for a vault reached through a link whose target is gone, or None."""
    found = dangling_link(root)
    if found is None:
        return None
    where, target = found
    link = "is a link" if where == root else f"goes through the link {where}"
    return VaultError(
        f"vault.path {root} {link} to {target}, which does not exist (a drive not "
        "connected?); nothing was changed",
        hint="connect the drive or restore the folder the link points to, or fix the link "
        "or vault.path, then run again",
    )
