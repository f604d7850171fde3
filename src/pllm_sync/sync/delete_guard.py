"""The mass-delete guard's decision (pure): does a planned run remove too many papers at once?

Two kinds of removal count, per paper, against the same limits (``sync.max_delete`` papers,
``sync.max_delete_percent`` of the library):

- **trash**: an item moved to Zotero's trash or a note moved to the vault's trash (a note or
  item the user deleted, or a vault that is not the one it was);
- **retire**: a paper that left the catalog, marked ``catalog: removed`` in its note and
  ``pllm/removed`` on its item. A list served cut off (a download cut short, a commit that
  dropped half of it) looks to the catalog exactly like its maintainer removing every paper
  after the cut, so a run must not retire them without the user's word.

A paper that left because the user stopped following its list (``lists remove``, or the
source taken out of the config) is the user's own act, announced by ``lists remove``: it
does not count. Such a paper is one whose every section root (a list's title) belongs to no
list followed now, in a run whose state knows a list the config no longer names.

The engine gathers plain values (which papers the plan trashes and retires, the lists each
was in), asks ``judge``, and raises the ``SafetyAbort`` it builds from the verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ListDrop:
    """One followed list that lost papers this run: its name, how many left, how many it had."""

    name: str
    dropped: int
    had: int

    def describe(self) -> str:
        return f"list {self.name!r} dropped {self.dropped} of its {self.had} papers"


@dataclass(frozen=True)
class Verdict:
    """A run over the limits: what it would remove."""

    trashed: int
    retired: int
    removing: int  # distinct papers (one may be trashed on one side, retired on the other)
    total: int
    max_delete: int
    max_percent: float
    drops: tuple[ListDrop, ...] = ()

    @property
    def percent(self) -> float:
        return 100.0 * self.removing / max(self.total, 1)

    @property
    def message(self) -> str:
        limit = (
            f"above the limit (sync.max_delete={self.max_delete}, "
            f"sync.max_delete_percent={self.max_percent:g})"
        )
        if not self.retired:
            return (
                f"this run would move {self.trashed} of {self.total} papers to the trash "
                f"({self.percent:.0f}%), {limit}"
            )
        what = f"retire {self.retired} of {self.total} papers that left the catalog"
        if self.trashed:
            n = f"{self.trashed} paper{'' if self.trashed == 1 else 's'}"
            what = f"move {n} to the trash and {what}"
        lists = "".join(f"; {d.describe()}" for d in self.drops)
        return f"this run would {what} ({self.percent:.0f}%{lists}), {limit}"


def judge(
    *,
    trashed: Collection[str],
    retiring: Mapping[str, Collection[str]],
    listed_before: Mapping[str, Collection[str]],
    followed: Mapping[str, str],
    unfollowed: bool,
    total: int,
    max_delete: int,
    max_percent: float,
) -> Verdict | None:
    """The verdict on one planned run, or None when it stays within the limits.

    ``trashed``: the ids the plan moves to a trash. ``retiring``: the ids the plan retires
    (leaving the catalog), each with the list titles (section roots) it was listed under.
    ``listed_before``: every id listed at the last sync, with its list titles (to say how
    many papers a list had). ``followed``: list title -> name, for the lists followed now.
    ``unfollowed``: a list the state knows is no longer in the config; papers of no followed
    list then left by the user's act and do not count. ``total``: the papers of this run.
    """
    counted: dict[str, Collection[str]] = {
        pid: roots
        for pid, roots in retiring.items()
        if not (unfollowed and roots and not any(r in followed for r in roots))
    }
    removing = len(set(trashed) | counted.keys())
    if not removing:
        return None
    pct = 100.0 * removing / max(total, 1)
    if removing <= max_delete and pct <= max_percent:
        return None
    dropped: Counter[str] = Counter()
    for roots in counted.values():
        for r in set(roots):
            if r in followed:
                dropped[r] += 1
    had: Counter[str] = Counter()
    for roots in listed_before.values():
        for r in set(roots):
            if r in dropped:
                had[r] += 1
    drops = tuple(
        ListDrop(followed[r], n, max(had[r], n))
        for r, n in sorted(dropped.items(), key=lambda kv: (-kv[1], followed[kv[0]]))
    )
    return Verdict(
        trashed=len(set(trashed)),
        retired=len(counted),
        removing=removing,
        total=total,
        max_delete=max_delete,
        max_percent=max_percent,
        drops=drops,
    )
