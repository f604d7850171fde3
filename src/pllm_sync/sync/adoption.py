"""What to remember about an item a pull adopted: the user's own copy of a listed paper.

A library item with no pllm-sync id that matches a new paper (arXiv id, DOI or title) is
adopted when the items are created: it gets the id and the list's collections, and nothing
else of it is written. The note, written in the same run, holds the list's record. So after
the run the two sides hold different things (the user's authors, abstract and tags in the
item; the list's venue in the note), and no sync has agreed on either.

Recording both sides as holding the note's record (as for an item the run created) hid
the item's own values: they reached the note only after the item was edited again. Here
the item is recorded as it is, and the base is chosen so that the next run's three-way
merge fills each side from the other without a conflict:

- a field the item leaves empty: base empty, so the note's value is the change, sent to
  Zotero (the list's venue reaches the item);
- a field the item fills: base = the note's value, so the item's value is the change,
  brought to the note (the user's authors, abstract, title, reading status);
- tags: base = the tags both hold, so each side's own tags are added to the other (a union;
  nothing is removed).

What the run itself wrote or added to the item (its collections, its code link, its notes
child) is recorded as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..record import SET_FIELDS, Record, complete_record
from ..zotero import mapping as zmap
from .merge import is_empty

WRITTEN_BY_THE_RUN = ("sections", "code", "notes", "catalog")
"""Fields the adopting run set on the item itself (memberships, attachments, children)."""


def adopted_sides(merged: Record, item: Mapping[str, Any]) -> tuple[Record, Record]:
    """``(zotero_record, base)`` for a paper whose note holds ``merged`` and whose adopted
    item's data is ``item`` (after the adoption's write)."""
    held: Record = dict(zmap.item_to_record(item, [], {}))
    for f in WRITTEN_BY_THE_RUN:
        if f in merged:
            held[f] = merged[f]
    base: Record = {}
    for f, value in complete_record(merged).items():
        mine = held.get(f)
        if f in SET_FIELDS:
            base[f] = frozenset(value or ()) & frozenset(mine or ())
        elif is_empty(mine):
            base[f] = mine
        else:
            base[f] = value
    return complete_record(held), complete_record(base)
