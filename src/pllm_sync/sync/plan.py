"""What a sync run intends to do, as plain values: built by the engine, shown by ``--dry-run``,
stored in the run journal, then applied.

Keeping the plan separate from applying it means a dry run and a real run take exactly the
same decisions, and the journal records what was planned next to what was applied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..record import Record


def _show(value: Any) -> Any:
    """A JSON-friendly, stable rendering of a record value."""
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _human(value: Any) -> str:
    """A value as a person reads it in a dry run: no Python reprs (``None``, ``['a']``)."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def cut_title(title: str, width: int = 70) -> str:
    """A title shortened at a word boundary, with an ellipsis when it was cut."""
    if len(title) <= width:
        return title
    cut = title[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:-") + "…"


_NOTHING: Record = {}


@dataclass(slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": _show(self.old), "new": _show(self.new)}

    def render(self) -> str:
        old, new = _show(self.old), _show(self.new)
        if self.field == "notes":
            return f"    notes: {len(str(old or ''))} -> {len(str(new or ''))} chars"
        return f"    {self.field}: {_human(old)} -> {_human(new)}"


class Action:
    """One change to one side for one paper.

    Its field changes are listed only when asked for (a dry run, the journal's first
    actions): a pull adds two actions of some fifteen fields for every paper, and building
    them all cost a first pull of 5,000 papers 6% of its CPU. The values are copied when
    the action is made, so later changes to the dicts passed in do not show."""

    __slots__ = ("_changes", "_new", "_old", "kind", "pid", "reason", "side", "title")

    def __init__(
        self,
        side: str,  # "zotero" | "vault"
        kind: str,  # "create" | "update" | "trash" | "tombstone" | "restore"
        pid: str,
        title: str,
        changes: list[FieldChange] | None = None,
        reason: str = "",
        *,
        new: Record | None = None,
        old: Record | None = None,
    ) -> None:
        self.side, self.kind, self.pid, self.title, self.reason = side, kind, pid, title, reason
        self._changes = changes
        self._new = dict(new) if new and changes is None else None
        self._old = dict(old) if old and self._new is not None else None

    @property
    def changes(self) -> list[FieldChange]:
        if self._changes is None:
            new, was = self._new, (self._old or _NOTHING).get
            self._changes = [FieldChange(k, was(k), new[k]) for k in sorted(new)] if new else []
            self._new = self._old = None
        return self._changes

    @changes.setter
    def changes(self, value: list[FieldChange]) -> None:
        self._changes, self._new, self._old = value, None, None

    def _fields(self) -> tuple[Any, ...]:
        return (self.side, self.kind, self.pid, self.title, self.changes, self.reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Action):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaced

    def __repr__(self) -> str:
        names = ("side", "kind", "pid", "title", "changes", "reason")
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, self._fields(), strict=True))
        return f"Action({inner})"

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "kind": self.kind,
            "id": self.pid,
            "title": self.title,
            "changes": [c.to_json() for c in self.changes],
            "reason": self.reason,
        }


@dataclass
class ConflictNote:
    pid: str
    title: str
    field: str
    base: Any
    zotero: Any
    vault: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.pid,
            "title": self.title,
            "field": self.field,
            "base": _show(self.base),
            "zotero": _show(self.zotero),
            "vault": _show(self.vault),
        }


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    conflicts: list[ConflictNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the warnings (each also in ``warnings``) that a known note is evicted to the cloud,
    # only its placeholder here: the one warning a settled run may carry (``settled.py``)
    evicted: list[str] = field(default_factory=list)
    collections_to_create: int = 0
    index_notes: int = 0

    def add(
        self,
        side: str,
        kind: str,
        pid: str,
        title: str,
        changes: Record | None = None,
        old: Record | None = None,
        reason: str = "",
    ) -> Action:
        act = Action(side, kind, pid, title, None, reason, new=changes, old=old)
        self.actions.append(act)
        return act

    def counts(self) -> dict[str, int]:
        c: Counter[str] = Counter(f"{a.side}.{a.kind}" for a in self.actions)
        out = dict(sorted(c.items()))
        out["conflicts"] = len(self.conflicts)
        return out

    @property
    def empty(self) -> bool:
        return not self.actions and not self.conflicts and not self.collections_to_create

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        """The plan as JSON; ``limit``: only the first that many actions (the counts still
        count them all), so a journal entry of a 50,000-paper pull stays cheap to make."""
        return {
            "counts": self.counts(),
            "actions": [a.to_json() for a in self.actions[:limit]],
            "conflicts": [c.to_json() for c in self.conflicts],
            "warnings": self.warnings,
            "collections_to_create": self.collections_to_create,
        }

    def render(self, limit: int = 200) -> str:
        """The human-readable plan for ``--dry-run``: per side, creates/updates with field diffs."""
        lines: list[str] = []
        for side in ("zotero", "vault"):
            acts = [a for a in self.actions if a.side == side]
            summary = Counter(a.kind for a in acts)
            head = ", ".join(f"{n} {k}" for k, n in sorted(summary.items())) or "no changes"
            lines.append(f"{side}: {head}")
            for a in acts[:limit]:
                why = f" ({a.reason})" if a.reason else ""
                lines.append(f"  {a.kind} {a.pid}: {cut_title(a.title)}{why}")
                if a.kind != "create":
                    lines.extend(c.render() for c in a.changes)
            if len(acts) > limit:
                lines.append(f"  ... and {len(acts) - limit} more")
        if self.collections_to_create:
            lines.append(f"zotero: {self.collections_to_create} collections to create")
        lines.append(f"conflicts: {len(self.conflicts)}")
        for c in self.conflicts:
            lines.append(
                f"  {c.pid} {c.field}: zotero={_show(c.zotero)!r} vault={_show(c.vault)!r}"
            )
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)
