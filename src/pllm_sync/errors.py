"""Errors a user can act on. Each carries the next step, and the CLI maps it to an exit code."""

from __future__ import annotations


class PllmSyncError(Exception):
    """Base class: a message meant for the user, naming what failed and what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  next step: {self.hint}" if self.hint else self.message


class ConfigError(PllmSyncError):
    """The config file is missing a key, has a bad value, or cannot be read."""

    exit_code = 2


class CatalogError(PllmSyncError):
    """A catalog source cannot be read at all (not: an entry could not be parsed)."""

    exit_code = 3


class ZoteroError(PllmSyncError):
    """Zotero refused or could not be reached."""

    exit_code = 4


class VaultError(PllmSyncError):
    """The vault is missing, unreadable, or a note cannot be written."""

    exit_code = 5


class NoteChangedMeanwhile(VaultError):
    """A note the run was about to rewrite was saved since it was read: not overwritten.

    Not a failure: the user's bytes win and the next run reads them first. A run reports
    these once, together, and exits 0 (typing in Obsidian during a sync once printed two
    error lines per note and exit 1)."""


class SafetyAbort(PllmSyncError):
    """A guard stopped the run before any change (mass delete, vanished vault, lock held)."""

    exit_code = 6


class ConflictsPending(PllmSyncError):
    """The run finished but left conflicts for the user to resolve."""

    exit_code = 7
