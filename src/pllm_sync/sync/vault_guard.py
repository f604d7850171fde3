"""The refusals that keep a run from making a new vault where the user's vault should be.

A vault on a drive that is not connected, a folder moved away, a link whose target is gone:
each looks like "no vault yet" to a naive check, and the naive answer (make one from the
template) leaves an empty vault in its place, possibly on the wrong disk, and every later
run then fails on it. Every command that may create the vault asks here first, before it
prints or changes anything."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import SafetyAbort
from ..vault.place import dangling_link_error

_START_OVER = "to start over, delete the state database shown by `pllm-sync status`"


def restore_hint(configured: bool) -> str:
    """The next step for a vault that is away. With no config file (the embedded defaults)
    there is no ``vault.path`` to fix: a moved vault is found again by running from the
    folder that now holds it as ``pllm-vault`` (its state follows it: ``moved_vault``)."""
    if configured:
        return f"mount or restore the vault (or fix vault.path) and run again; {_START_OVER}"
    return (
        "mount or restore the vault and run again; if you moved it, run pllm-sync in the "
        f"folder that now holds it, with the vault named `pllm-vault` there; {_START_OVER}"
    )


def missing_vault(root: Path, known_papers: int, *, configured: bool = True) -> SafetyAbort:
    """The refusal for a vault folder that is gone while the state keeps papers in step with
    it: an unmounted drive or a moved folder, never a wish to start over."""
    return SafetyAbort(
        f"the vault at {root} is missing, but the last sync kept {known_papers} papers in "
        "step with it; nothing was changed",
        hint=restore_hint(configured),
    )


def empty_vault(root: Path, known_notes: int, *, configured: bool = True) -> SafetyAbort:
    """The refusal for a vault folder that holds none of the notes the state keeps there:
    most often a drive not connected, whose mount point is an empty folder."""
    return SafetyAbort(
        f"the vault folder {root} holds none of the {known_notes} notes the last sync left "
        "there (a drive not connected, leaving its empty mount point?); nothing was changed",
        hint=restore_hint(configured),
    )


def check_vault_place(
    root: Path, known_papers: int, note_paths: Sequence[str] = (), *, configured: bool = True
) -> None:
    """Refuse, before anything is made, a vault folder that is missing for a reason a new
    vault would hide: a link whose target is gone, or a folder the state still knows; and
    one that is there but holds none of the notes the state knows (``note_paths``, vault
    paths): an empty mount point, even one where something left a file (Obsidian opened on
    it, say), where a new vault would be written onto the wrong disk."""
    if root.is_dir():
        if note_paths and not any(os.path.lexists(root / rel) for rel in note_paths):
            raise empty_vault(root, len(note_paths), configured=configured)
        return
    err = dangling_link_error(root)
    if err is not None:
        raise err
    if known_papers > 0:
        raise missing_vault(root, known_papers, configured=configured)
