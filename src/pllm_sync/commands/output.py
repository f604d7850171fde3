"""Human summaries of a run: counts in words with the right plurals, no Python reprs.

Kept apart from the commands so each wording is table-tested once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .hints import plural

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from typing import Any

    from ..model import CatalogWarning

_APPLIED: dict[str, tuple[str, str, str]] = {
    # key: (singular noun, plural noun, what happened)
    "vault.create": ("note", "notes", "created"),
    "vault.update": ("note", "notes", "updated"),
    "vault.trash": ("note", "notes", "moved to the vault trash"),
    "vault.restore": ("note", "notes", "restored"),
    "vault.index": ("index note", "index notes", "written"),
    "vault.digest": ("digest note", "digest notes", "written"),
    "zotero.create": ("Zotero item", "Zotero items", "created"),
    "zotero.created": ("Zotero item", "Zotero items", "created"),
    "zotero.adopted": ("Zotero item", "Zotero items", "already in the library, taken over"),
    "zotero.existing": ("Zotero item", "Zotero items", "found made by an earlier run"),
    "zotero.unchanged": ("Zotero item", "Zotero items", "already up to date"),
    "zotero.update": ("Zotero item", "Zotero items", "updated"),
    "zotero.updated": ("Zotero item", "Zotero items", "updated"),
    "zotero.trash": ("Zotero item", "Zotero items", "moved to the Zotero trash"),
    "zotero.trashed": ("Zotero item", "Zotero items", "moved to the Zotero trash"),
    "zotero.restore": ("Zotero item", "Zotero items", "restored"),
    "zotero.notes": ("Zotero note", "Zotero notes", "written"),
    "zotero.note": ("Zotero note", "Zotero notes", "written"),
    "zotero.withheld": ("paper", "papers", "not written to Zotero (read-only key)"),
    "conflicts.new": ("conflict", "conflicts", "opened (see `pllm-sync conflicts`)"),
    "zotero.waiting": ("paper", "papers", "with changes waiting for Zotero (vault-only run)"),
}


def saved_meanwhile_summary(paths: Sequence[str], show: int = 5) -> str:
    """One line for the notes the user saved while the run was writing them, however many
    (the run once printed two error lines for each of them, and exited 1)."""
    n = len(paths)
    shown = ", ".join(sorted(paths)[:show]) + (f" and {n - show} more" if n > show else "")
    noun = "note was" if n == 1 else "notes were"
    return (
        f"{n} {noun} saved while this run was writing {'it' if n == 1 else 'them'}: kept as "
        f"saved, not overwritten; the next run syncs {'its' if n == 1 else 'their'} edits "
        f"({shown})"
    )


def applied_summary(applied: Mapping[str, Any]) -> str:
    """``{"vault.create": 2, "zotero.created": 1}`` -> ``2 notes created, 1 Zotero item
    created``; an empty or all-zero mapping -> ``nothing to change``."""
    parts = []
    for key, n in sorted(applied.items()):
        if not isinstance(n, int) or not n:
            continue
        one, many, what = _APPLIED.get(key, (key, key, ""))
        parts.append(f"{plural(n, one, many)} {what}".rstrip())
    return ", ".join(parts) or "nothing to change"


def _kind(w: CatalogWarning) -> str:
    msg = w.message
    if "kept as separate papers" in msg or "listed twice" in msg:
        return "duplicate"
    if "skipped" in msg or "not read" in msg:
        return "unreadable"
    return "repaired"


def catalog_summary(warnings: Iterable[CatalogWarning]) -> str:
    """``2 unreadable entries skipped, 1 duplicate or clashing id, 3 entries read with a
    repair``: the kinds a user acts on differently, counted apart; empty when none."""
    counts = {"unreadable": 0, "duplicate": 0, "repaired": 0}
    for w in warnings:
        counts[_kind(w)] += 1
    parts = []
    if counts["unreadable"]:
        parts.append(
            f"{plural(counts['unreadable'], 'unreadable entry', 'unreadable entries')} skipped"
        )
    if counts["duplicate"]:
        parts.append(
            plural(counts["duplicate"], "duplicate or clashing id", "duplicates or clashing ids")
        )
    if counts["repaired"]:
        parts.append(f"{plural(counts['repaired'], 'entry', 'entries')} read with a repair")
    return ", ".join(parts)
