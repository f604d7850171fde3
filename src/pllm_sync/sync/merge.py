"""The three-way merge of one paper: pure values in, decisions out, no IO.

The engine hands over, for one paper, the last agreed record (``base``), the catalog's record
now and at the last sync (``catalog``/``catalog_base``), and what Zotero and the vault hold
now. Every field is decided on its own against ``base``:

- a field changed on one side only takes that change; the same change on several sides is no
  conflict;
- the catalog is an upstream: its changes (``catalog`` vs ``catalog_base``) apply unless a
  user changed the field in Zotero or the vault, in which case the user's edit wins and the
  upstream value is reported in ``overridden_upstream``; an upstream change to a field the
  user had set earlier (the agreed value is not the catalog's last one) replaces it, except
  for the enriched fields, and the user's value is reported in ``replaced_by_upstream``
  (the engine warns about both, so no edit is replaced, or ignored, without a word);
- ``tags`` and ``sections`` are merged as sets (additions and removals from every side
  survive; an addition beats a removal of the same element) and never conflict;
- ``notes`` are merged as text (``textmerge.merge3``); an overlap keeps both texts between
  marker lines, under every policy, so no written word is ever lost;
- other fields changed differently in Zotero and the vault are conflicts, settled by the
  policy: ``ask`` leaves both sides as they are and records the conflict; ``zotero``/``vault``
  take that side; ``newest`` takes the side with the newer modification time.

A field missing from a side's record means that side said nothing about it (no change); a
side record of None means that side has no copy yet, so every merged field is written to it.
With no base at all (a new paper, or a lost state database) the merge takes the union of what
exists so that nothing a user wrote is lost. Deletions of whole papers are the engine's job.
See ``docs/merge.md`` for the table of rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..record import ENRICHED_FIELDS, SYNCED_FIELDS, Record, canonical_notes
from .textmerge import has_conflict_markers, merge3, merge_union, split_lines

Policy = Literal["ask", "zotero", "vault", "newest"]
POLICIES: tuple[str, ...] = get_args(Policy)

Side = Literal["catalog", "zotero", "vault"]

NOTES = "notes"
SET_MERGED = frozenset({"tags", "sections"})
CATALOG_SEEDS_ONLY = frozenset({"tags"})
"""Set fields the catalog may only add to (it seeds a few tags; it never removes a user's)."""


class _Missing:
    """A side that said nothing about a field (no record, or no such key)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldConflict:
    """Zotero and the vault changed one field to different values since ``base``.

    ``resolution`` is None for an open conflict (both sides keep their values), ``"both-kept"``
    for notes merged with both texts marked (written to both sides; the user tidies up), or the
    side a policy picked (``"zotero"``/``"vault"``) for an auto-resolved one.
    """

    field: str
    base: Any
    zotero: Any
    vault: Any
    resolution: str | None = None


@dataclass
class MergeResult:
    """What one paper's merge decided.

    ``merged`` is the new agreed value of every field any side has (for an open conflict, the
    base value: nothing was agreed). ``to_zotero``/``to_vault`` hold the fields whose merged
    value differs from what that side holds now (open conflicts excluded), so applying them
    makes both sides equal ``merged`` on every settled field.
    """

    merged: Record
    to_zotero: Record
    to_vault: Record
    conflicts: list[FieldConflict] = field(default_factory=list)
    """Conflicts the user must look at: open ones (``ask``) and notes kept both (marked)."""
    auto_resolved: list[FieldConflict] = field(default_factory=list)
    """Conflicts the policy settled; the losing value is here for the journal."""
    overridden_upstream: dict[str, Any] = field(default_factory=dict)
    """Field -> the catalog's new value that a user's edit beat."""
    replaced_by_upstream: dict[str, Any] = field(default_factory=dict)
    """Field -> the user's earlier value (agreed at the last sync, not the catalog's) that
    the catalog's change replaced."""
    changed_by: dict[str, frozenset[str]] = field(default_factory=dict)
    """Field -> the sides (``catalog``, ``zotero``, ``vault``) whose change made ``merged``
    differ from ``base`` (for a paper with no base: the sides the value came from)."""

    @property
    def has_writes(self) -> bool:
        return bool(self.to_zotero or self.to_vault)

    @property
    def conflicted_fields(self) -> frozenset[str]:
        return frozenset(c.field for c in self.conflicts)

    @property
    def has_marked_notes(self) -> bool:
        """The merged notes still hold conflict markers (from this run or an earlier one the
        user has not tidied up): the engine keeps the notes conflict listed while this holds."""
        return has_conflict_markers(str(self.merged.get(NOTES) or ""))

    @property
    def open_fields(self) -> frozenset[str]:
        """Fields left unsettled (neither side written)."""
        return frozenset(c.field for c in self.conflicts if c.resolution is None)


def _get(rec: Record | None, name: str) -> Any:
    if rec is None:
        return MISSING
    return rec.get(name, MISSING)


def _field_order(records: Iterable[Record | None]) -> list[str]:
    present: set[str] = set()
    for r in records:
        if r is not None:
            present.update(r)
    known = [f for f in SYNCED_FIELDS if f in present]
    return known + sorted(present - set(SYNCED_FIELDS))


@dataclass
class _Decision:
    value: Any
    sides: frozenset[str] = frozenset()
    conflict: FieldConflict | None = None
    open: bool = False  # an open conflict: write neither side
    overridden: Any = MISSING
    replaced: Any = MISSING  # the user's agreed value the catalog's change replaced


def is_empty(x: Any) -> bool:
    """A field's value that says nothing: None, or an empty text, tuple or set."""
    return x is None or (isinstance(x, str | tuple | frozenset | set) and not x)


def _catalog_proposal(new: Any, old: Any) -> Any:
    """The catalog's change for a field, or MISSING when it did not change it."""
    if new is MISSING:
        return MISSING
    if old is not MISSING and new == old:
        return MISSING
    return new


def _pick(
    name: str,
    base: Any,
    z: Any,
    v: Any,
    policy: Policy,
    zotero_mtime: float | None,
    vault_mtime: float | None,
) -> _Decision:
    """Settle a scalar changed differently on both sides according to the policy."""
    winner: str | None = None
    if policy in ("zotero", "vault"):
        winner = policy
    elif policy == "newest" and zotero_mtime is not None and vault_mtime is not None:
        winner = "zotero" if zotero_mtime >= vault_mtime else "vault"
    if winner is None:
        return _Decision(base, conflict=FieldConflict(name, base, z, v), open=True)
    value = z if winner == "zotero" else v
    return _Decision(
        value, frozenset({winner}), conflict=FieldConflict(name, base, z, v, resolution=winner)
    )


def _merge_scalar(
    name: str,
    base: Any,
    cat_new: Any,
    cat_old: Any,
    z: Any,
    v: Any,
    policy: Policy,
    zotero_mtime: float | None,
    vault_mtime: float | None,
) -> _Decision:
    proposal = _catalog_proposal(cat_new, cat_old)
    sticky: Any = MISSING
    no_base = base is MISSING
    from_catalog = False
    if no_base:
        # No agreed value: the catalog's current value stands in for the base, so a side that
        # differs from the catalog counts as a user's edit (``catalog_base`` is ignored: it is
        # only meaningful together with the base it was stored with).
        if cat_new is not MISSING:
            base, proposal, from_catalog = cat_new, MISSING, cat_new is not None
        else:
            base, proposal = None, MISSING
    elif cat_old is MISSING and not is_empty(base):
        # The catalog's previous value is unknown (the paper was synced before the catalog
        # listed it): we cannot tell an upstream change from a user's earlier edit, so the
        # catalog may only fill an empty field, never overwrite one.
        proposal = MISSING
    elif name in ENRICHED_FIELDS and cat_old is not MISSING and base != cat_old:
        # The agreed value is not what the upstream said last time: a user's own value
        # stands (an abstract fixed in Zotero, authors corrected in the vault). Enrichment
        # never replaces it, however its answer changes later.
        if proposal is not MISSING:
            sticky = proposal
        proposal = MISSING

    def change(x: Any) -> Any:
        if x is MISSING or x == base or (no_base and is_empty(x)):
            return MISSING  # with no base, an empty value loses nothing by being filled in
        return x

    zc, vc = change(z), change(v)
    if proposal is not MISSING and zc is not MISSING and vc is not MISSING and zc != vc:
        # A side holding the catalog's new value carries the upstream change (perhaps written
        # by an interrupted run), not an edit of its own: the other side's edit is the user's.
        if zc == proposal:
            zc = MISSING
        elif vc == proposal:
            vc = MISSING
    if zc is not MISSING and vc is not MISSING and zc != vc:
        d = _pick(name, base, z, v, policy, zotero_mtime, vault_mtime)
        if proposal is not MISSING and proposal != d.value:
            d.overridden = proposal
        return d
    user = zc if zc is not MISSING else vc
    if user is not MISSING:
        sides = {s for s, c in (("zotero", zc), ("vault", vc)) if c is not MISSING}
        d = _Decision(user, frozenset(sides))
        if proposal is not MISSING:
            if proposal == user:
                d.sides = d.sides | {"catalog"}
            else:
                d.overridden = proposal
        return d
    if proposal is not MISSING and proposal != base:
        d = _Decision(proposal, frozenset({"catalog"}))
        if cat_old is not MISSING and base != cat_old and not is_empty(base):
            d.replaced = base  # the user had set it (agreed, not the list's last value)
        return d
    d = _Decision(base, frozenset({"catalog"}) if from_catalog else frozenset())
    if sticky is not MISSING and sticky != base:
        d.overridden = sticky
    return d


def _as_set(x: Any) -> frozenset[Any]:
    return frozenset(x or ())


def _merge_set(name: str, base: Any, cat_new: Any, cat_old: Any, z: Any, v: Any) -> _Decision:
    """merged = base ∪ additions − removals; an addition by any side beats a removal."""
    adds: dict[str, frozenset[Any]] = {}
    removes: dict[str, frozenset[Any]] = {}
    if base is MISSING:
        # Nothing agreed yet: the union of what exists (a removal cannot be told apart from
        # an addition without a base, and a union loses nothing).
        base_set: frozenset[Any] = frozenset()
        for side, x in (("catalog", cat_new), ("zotero", z), ("vault", v)):
            if x is not MISSING and x:
                adds[side] = _as_set(x)
    else:
        base_set = _as_set(base)
        if cat_new is not MISSING:
            new = _as_set(cat_new)
            old = base_set if cat_old is MISSING else _as_set(cat_old)
            adds["catalog"] = new - old
            if cat_old is not MISSING and name not in CATALOG_SEEDS_ONLY:
                removes["catalog"] = old - new
        for side, x in (("zotero", z), ("vault", v)):
            if x is not MISSING:
                adds[side] = _as_set(x) - base_set
                removes[side] = base_set - _as_set(x)
    added = frozenset().union(*adds.values())
    removed = frozenset().union(*removes.values())
    merged = (base_set - (removed - added)) | added
    sides = frozenset(
        s
        for s in ("catalog", "zotero", "vault")
        if (adds.get(s, frozenset()) - base_set) or (removes.get(s, frozenset()) - added)
    )
    return _Decision(merged, sides if merged != base_set or base is MISSING else frozenset())


def _replayed(zt: str, vt: str, base: str) -> str | None:
    """The side's text, if it already is a marked merge of both sides, else None.

    A run that wrote a marked merge to one side and stopped before the other side and the
    state (a crash, a lost connection) leaves that side holding the merge while the base is
    the old one. Merging again would nest markers inside markers. When one text has markers
    the base has not, the other has none, and every line the other side added since the base
    is in it, that text is the merge to keep (nothing of the other side is missing from it).
    """
    if has_conflict_markers(base):
        return None
    for marked, other in ((zt, vt), (vt, zt)):
        if has_conflict_markers(marked) and not has_conflict_markers(other):
            added = Counter(split_lines(other)) - Counter(split_lines(base))
            if not added - Counter(split_lines(marked)):
                return marked
    return None


def _merge_notes(base: Any, z: Any, v: Any) -> _Decision:
    base, z, v = ("" if x is None else x for x in (base, z, v))
    if base is MISSING:
        texts = [(s, x) for s, x in (("zotero", z), ("vault", v)) if x is not MISSING and x]
        if not texts:
            return _Decision("")
        if len(texts) == 1 or texts[0][1] == texts[1][1]:
            return _Decision(texts[0][1], frozenset(s for s, _ in texts))
        r = merge_union(z, v)
        value = _replayed(z, v, "") or canonical_notes(r.text)
        conflict = FieldConflict(NOTES, None, z, v, resolution="both-kept") if r.conflict else None
        return _Decision(value, frozenset({"zotero", "vault"}), conflict=conflict)
    zt = base if z is MISSING else z
    vt = base if v is MISSING else v
    if zt == vt:
        sides = frozenset(s for s, x in (("zotero", zt), ("vault", vt)) if x != base)
        return _Decision(zt, sides)
    if zt == base:
        return _Decision(vt, frozenset({"vault"}))
    if vt == base:
        return _Decision(zt, frozenset({"zotero"}))
    r = merge3(base, zt, vt, tidy=canonical_notes)
    # A side already holding a marked merge of both is that merge, however a fresh merge of
    # it would come out (it could nest markers, or repeat a version the markers hold).
    replayed = _replayed(zt, vt, base)
    value = replayed or r.text
    both_kept = r.conflict or replayed is not None
    conflict = FieldConflict(NOTES, base, zt, vt, resolution="both-kept") if both_kept else None
    return _Decision(value, frozenset({"zotero", "vault"}), conflict=conflict)


_BY_CATALOG = frozenset({"catalog"})


def _catalog_only(catalog: Record) -> MergeResult:
    """What the field-by-field merge gives when only the catalog holds the paper (every
    paper of a first pull), worked out once: each field is the catalog's value (a set field
    as a set), from the catalog where it is not empty, and goes to both sides; notes start
    empty. A first pull of 20,000 papers merged 300,000 fields through the general rules.
    tests/sync/test_merge_properties.py holds the two equal."""
    merged: Record = {}
    changed: dict[str, frozenset[str]] = {}
    for name in _field_order((catalog,)):
        value = catalog[name]
        if name == NOTES:
            value = ""
        elif name in SET_MERGED:
            value = _as_set(value)
            if value:
                changed[name] = _BY_CATALOG
        elif value is not None:
            changed[name] = _BY_CATALOG
        merged[name] = value
    return MergeResult(
        merged=merged, to_zotero=dict(merged), to_vault=dict(merged), changed_by=changed
    )


def merge_paper(
    *,
    base: Record | None,
    catalog: Record | None,
    catalog_base: Record | None,
    zotero: Record | None,
    vault: Record | None,
    policy: Policy = "ask",
    zotero_mtime: float | None = None,
    vault_mtime: float | None = None,
) -> MergeResult:
    """Merge one paper's records field by field (see the module docstring for the rules).

    Pure: the same inputs always give the same result, and merging the result again
    (``base=merged``, both sides ``merged``) writes nothing and raises no conflict.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r} (expected one of {POLICIES})")
    if base is None and zotero is None and vault is None and catalog is not None:
        return _catalog_only(catalog)
    return _merge_fields(
        base=base,
        catalog=catalog,
        catalog_base=catalog_base,
        zotero=zotero,
        vault=vault,
        policy=policy,
        zotero_mtime=zotero_mtime,
        vault_mtime=vault_mtime,
    )


def _merge_fields(
    *,
    base: Record | None,
    catalog: Record | None,
    catalog_base: Record | None,
    zotero: Record | None,
    vault: Record | None,
    policy: Policy,
    zotero_mtime: float | None = None,
    vault_mtime: float | None = None,
) -> MergeResult:
    """:func:`merge_paper` by the rules, one field at a time."""
    result = MergeResult(merged={}, to_zotero={}, to_vault={})
    for name in _field_order((base, catalog, zotero, vault)):
        b = _get(base, name)
        cn, co = _get(catalog, name), _get(catalog_base, name)
        z, v = _get(zotero, name), _get(vault, name)
        if name == NOTES:
            d = _merge_notes(b, z, v)
        elif name in SET_MERGED:
            d = _merge_set(name, b, cn, co, z, v)
        else:
            d = _merge_scalar(name, b, cn, co, z, v, policy, zotero_mtime, vault_mtime)
        result.merged[name] = d.value
        if d.sides:
            result.changed_by[name] = d.sides
        if d.overridden is not MISSING:
            result.overridden_upstream[name] = d.overridden
        if d.replaced is not MISSING:
            result.replaced_by_upstream[name] = d.replaced
        if d.conflict is not None:
            if d.conflict.resolution in (None, "both-kept"):
                result.conflicts.append(d.conflict)
            else:
                result.auto_resolved.append(d.conflict)
        if d.open:
            continue
        if zotero is None or z != d.value:
            result.to_zotero[name] = d.value
        if vault is None or v != d.value:
            result.to_vault[name] = d.value
    return result
