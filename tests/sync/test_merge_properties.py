"""Property tests of the merge: convergence, no loss, idempotence, symmetry, policies.

Records are drawn from small pools so that sides often touch the same fields, tags, sections
and lines: collisions are where a merge goes wrong. The state machine at the end repeats
edit/sync cycles (including a lost state and users resolving conflicts by hand) and checks the
invariants after every sync.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import example, given, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from pllm_sync.record import Record
from pllm_sync.sync.merge import (
    POLICIES,
    FieldConflict,
    MergeResult,
    Policy,
    _catalog_only,
    _merge_fields,
    merge_paper,
)
from pllm_sync.sync.textmerge import MARKER_PREFIX, split_lines

# --- strategies -----------------------------------------------------------------------------

LINE = st.sampled_from(["alpha", "beta", "gamma", "", "- item", "## H", "x", "y"])
NOTES = st.lists(LINE, max_size=8).map("\n".join).map(lambda t: t.strip("\n"))
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "title": st.sampled_from(["T1", "T2", "T3"]),
    "year": st.sampled_from([None, 2023, 2024]),
    "catalog": st.sampled_from(["listed", "removed"]),
    "status": st.sampled_from([None, "unread", "read", "skimmed"]),
    "rating": st.sampled_from([None, 1, 3, 5]),
}
SETS: dict[str, st.SearchStrategy[frozenset[str]]] = {
    "tags": st.frozensets(st.sampled_from(["a", "b", "c", "d"]), max_size=4),
    "sections": st.frozensets(st.sampled_from(["S1", "S2", "S3"]), max_size=3),
}
CATALOG_KEYS = ("title", "year", "catalog", "sections")
USER_SCALARS = ("status", "rating")
USER_DEFAULTS: Record = {"tags": frozenset(), "status": None, "rating": None, "notes": ""}


@st.composite
def records(draw: st.DrawFn) -> Record:
    rec: Record = {k: draw(s) for k, s in SCALARS.items()}
    rec.update({k: draw(s) for k, s in SETS.items()})
    rec["notes"] = draw(NOTES)
    return rec


def catalog_view(rec: Record) -> Record:
    return {k: rec[k] for k in CATALOG_KEYS if k in rec}


@st.composite
def edited_notes(draw: st.DrawFn, text: str) -> str:
    out: list[str] = []
    for ln in split_lines(text):
        op = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace", "insert"]))
        if op == "keep":
            out.append(ln)
        elif op == "replace":
            out.append(draw(LINE))
        elif op == "insert":
            out.extend([draw(LINE), ln])
    out.extend(draw(st.lists(LINE, max_size=2)))
    return "\n".join(out).strip("\n")


@st.composite
def edited(draw: st.DrawFn, rec: Record, keys: tuple[str, ...] | None = None) -> Record:
    """Some fields of ``rec`` changed (sets by toggling elements), rarely one left out."""
    out = dict(rec)
    for k in keys or tuple(rec):
        if draw(st.integers(0, 3)) != 0:
            continue
        if k in SETS:
            flip = draw(SETS[k])
            out[k] = frozenset(rec[k]) ^ flip
        elif k == "notes":
            out[k] = draw(edited_notes(rec[k]))
        else:
            out[k] = draw(SCALARS[k])
    if draw(st.integers(0, 9)) == 0 and out:
        del out[draw(st.sampled_from(sorted(out)))]
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(records())
    catalog_base = draw(st.one_of(st.none(), edited(catalog_view(base))))
    if catalog_base is None:
        catalog = draw(st.one_of(st.none(), st.just(catalog_view(base)).flatmap(edited)))
    else:
        catalog = draw(edited(catalog_base))
    zotero = draw(st.one_of(st.none(), edited(base), edited(base), edited(base)))
    vault = draw(st.one_of(st.none(), edited(base), edited(base), edited(base)))
    lost = draw(st.integers(0, 4)) == 0  # no base: a new paper or a lost state database
    mt = draw(
        st.one_of(
            st.none(),
            st.lists(st.integers(0, 10**6), min_size=2, max_size=2, unique=True),
        )
    )
    return {
        "base": None if lost else base,
        "catalog": catalog,
        "catalog_base": catalog_base,
        "zotero": zotero,
        "vault": vault,
        "policy": draw(st.sampled_from(POLICIES)),
        "zotero_mtime": None if mt is None else float(mt[0]),
        "vault_mtime": None if mt is None else float(mt[1]),
    }


# --- helpers --------------------------------------------------------------------------------


def apply(side: Record | None, writes: Record) -> Record:
    return {**(side or {}), **writes}


def lines(text: Any) -> Counter[str]:
    return Counter(split_lines(text or ""))


def present(rec: Record | None, key: str) -> bool:
    return rec is not None and key in rec


def check_convergence(s: dict[str, Any], r: MergeResult) -> tuple[Record, Record]:
    z2, v2 = apply(s["zotero"], r.to_zotero), apply(s["vault"], r.to_vault)
    for k, val in r.merged.items():
        if k in r.open_fields:
            # an open conflict writes neither side: each keeps its own value
            assert z2.get(k) == s["zotero"].get(k) and v2.get(k) == s["vault"].get(k)
        else:
            assert z2[k] == val and v2[k] == val, k
    return z2, v2


def _from_upstream(s: dict[str, Any], k: str, val: Any) -> bool:
    """A side holding the upstream's new value got it from us (an interrupted run), so it
    is not a user's edit."""
    cat, old = s["catalog"], s["catalog_base"]
    if not present(cat, k) or cat[k] != val:
        return False
    if val is None:
        # the list dropping a value is only known as a change against the list's old value
        return present(old, k) and old[k] is not None
    return not present(old, k) or old[k] != cat[k]


def check_no_loss(s: dict[str, Any], r: MergeResult) -> None:
    base: Record | None = s["base"]
    m = r.merged
    # notes: every line a side has beyond the base survives
    for side in ("zotero", "vault"):
        rec = s[side]
        if present(rec, "notes"):
            was = (base.get("notes") if base else "") or ""
            if rec["notes"].startswith(was) and m["notes"].startswith(rec["notes"]):
                continue  # only added to the base, and all of it is there (a cut copy)
            extra = lines(rec["notes"]) - lines(base.get("notes") if base else "")
            assert not extra - lines(m["notes"]), (side, extra, m["notes"])
    # sets: additions from any side survive; untouched elements stay; lone removals apply
    for k in SETS:
        if k not in m:
            continue
        adds: set[str] = set()
        removes: set[str] = set()
        if base is None or k not in base:
            for rec in (s["catalog"], s["zotero"], s["vault"]):
                if present(rec, k):
                    adds |= rec[k]
            assert m[k] == adds
            continue
        b = base[k]
        for side in ("zotero", "vault"):
            if present(s[side], k):
                adds |= s[side][k] - b
                removes |= b - s[side][k]
        cat, cat_old = s["catalog"], s["catalog_base"]
        if present(cat, k):
            old = cat_old[k] if present(cat_old, k) else b
            adds |= cat[k] - old
            if present(cat_old, k) and k != "tags":
                removes |= old - cat[k]
        assert adds <= m[k]
        assert not (removes - adds) & m[k]
        assert (b - removes) <= m[k]
    # scalars: a value only one side changed is the merged value (a user's edit beats the
    # upstream too)
    for k in (*USER_SCALARS, "year"):
        if k not in m:
            continue
        if base is not None and k in base:
            zc = present(s["zotero"], k) and s["zotero"][k] != base[k]
            vc = present(s["vault"], k) and s["vault"][k] != base[k]
            if zc and vc:
                zc = not _from_upstream(s, k, s["zotero"][k])
                vc = not _from_upstream(s, k, s["vault"][k])
            if zc and not vc:
                assert m[k] == s["zotero"][k]
            if vc and not zc:
                assert m[k] == s["vault"][k]
            if zc and vc and s["zotero"][k] != s["vault"][k]:
                assert k in {c.field for c in r.conflicts + r.auto_resolved}
        else:
            # no base: a value set on one side only is never dropped
            vals = {rec[k] for rec in (s["zotero"], s["vault"]) if present(rec, k)} - {None}
            if len(vals) == 1:
                assert m[k] in vals


# --- properties -----------------------------------------------------------------------------


@given(scenarios())
def test_applying_the_writes_makes_both_sides_equal_the_merge(s: dict[str, Any]) -> None:
    r = merge_paper(**s)
    check_convergence(s, r)


@given(scenarios())
@example(
    {
        "base": {"title": "T1", "year": 2023, "notes": ""},
        "catalog": {"title": "T1", "year": None},
        "catalog_base": {"title": "T1", "year": 2023},
        "zotero": {"title": "T1", "year": None, "notes": ""},
        "vault": {"title": "T1", "year": 2024, "notes": ""},
        "policy": "ask",
        "zotero_mtime": None,
        "vault_mtime": None,
    }
)
def test_nothing_a_user_wrote_is_lost(s: dict[str, Any]) -> None:
    check_no_loss(s, merge_paper(**s))


@given(scenarios())
def test_a_second_merge_writes_nothing(s: dict[str, Any]) -> None:
    r = merge_paper(**s)
    z2, v2 = check_convergence(s, r)
    again = merge_paper(
        base=r.merged,
        catalog=s["catalog"],
        catalog_base=s["catalog"],
        zotero=z2,
        vault=v2,
        policy=s["policy"],
        zotero_mtime=s["zotero_mtime"],
        vault_mtime=s["vault_mtime"],
    )
    assert not again.has_writes
    assert again.open_fields == r.open_fields  # an open conflict stays open, nothing more
    assert {c.field for c in again.conflicts} == r.open_fields
    for k, val in r.merged.items():
        assert again.merged[k] == val


@given(scenarios())
def test_merging_an_agreed_record_is_a_no_op(s: dict[str, Any]) -> None:
    m = merge_paper(**s).merged
    r = merge_paper(base=m, catalog=s["catalog"], catalog_base=s["catalog"], zotero=m, vault=m)
    assert not r.has_writes and not r.conflicts and r.merged == m and not r.changed_by


def _notes_scenario(base: str, zotero: str, vault: str) -> dict[str, Any]:
    rec: Record = {"title": "T1", "notes": base}
    return {
        "base": rec,
        "catalog": {"title": "T1"},
        "catalog_base": {"title": "T1"},
        "zotero": {**rec, "notes": zotero},
        "vault": {**rec, "notes": vault},
        "policy": "ask",
        "zotero_mtime": None,
        "vault_mtime": None,
    }


RUN_OF_ALPHAS = _notes_scenario(
    "\n".join(["alpha"] * 7 + ["beta"]),  # Zotero drops an alpha, the vault drops beta
    "\n".join(["alpha"] * 6 + ["beta"]),
    "\n".join(["alpha"] * 7),
)


@example(RUN_OF_ALPHAS, "zotero")
@example(RUN_OF_ALPHAS, "vault")
@example(_notes_scenario("P1\n\nP2\n\nP3", "P1\n\nP3", "P1\n\nP4\n\nP2\n\nP3"), "zotero")
@example(_notes_scenario("a\na", "a", "a\nb\na\na"), "vault")
@given(scenarios(), st.sampled_from(["zotero", "vault"]))
def test_a_run_interrupted_after_one_side_replays_to_the_same_result(
    s: dict[str, Any], first: str
) -> None:
    """A crash after writing one side, before the other side and the state: the next run
    (same base, one side already written) must reach the same agreed record."""
    r1 = merge_paper(**s)
    other = "vault" if first == "zotero" else "zotero"
    writes = r1.to_zotero if first == "zotero" else r1.to_vault
    replay = {**s, first: apply(s[first], writes)}
    r2 = merge_paper(**replay)
    assert r2.merged == r1.merged
    assert r2.open_fields == r1.open_fields
    assert (r2.to_vault if other == "vault" else r2.to_zotero) == (
        r1.to_vault if other == "vault" else r1.to_zotero
    )
    assert not (r2.to_zotero if first == "zotero" else r2.to_vault)


SWAP = {"zotero": "vault", "vault": "zotero"}


def swapped(c: FieldConflict) -> FieldConflict:
    res = SWAP.get(c.resolution or "", c.resolution)
    return FieldConflict(c.field, c.base, c.vault, c.zotero, res)


def swap_labels(text: str) -> str:
    out = []
    for ln in split_lines(text):
        if ln.startswith(MARKER_PREFIX):
            ln = ln.replace(" zotero version", " \0").replace(" vault version", " zotero version")
            ln = ln.replace(" \0", " vault version")
        out.append(ln)
    return "\n".join(out)


@given(scenarios())
def test_swapping_zotero_and_vault_swaps_the_result(s: dict[str, Any]) -> None:
    policy: Policy = s["policy"]
    if policy == "newest" and s["zotero_mtime"] == s["vault_mtime"] is not None:
        return  # the documented tie-break favours zotero
    r1 = merge_paper(**s)
    s2 = {
        **s,
        "zotero": s["vault"],
        "vault": s["zotero"],
        "zotero_mtime": s["vault_mtime"],
        "vault_mtime": s["zotero_mtime"],
        "policy": SWAP.get(policy, policy),
    }
    r2 = merge_paper(**s2)
    notes_conflict = "notes" in r1.conflicted_fields
    assert notes_conflict == ("notes" in r2.conflicted_fields)

    def strip_notes(rec: Record) -> Record:
        return {k: v for k, v in rec.items() if not (k == "notes" and notes_conflict)}

    assert strip_notes(r2.merged) == strip_notes(r1.merged)
    assert strip_notes(r2.to_zotero) == strip_notes(r1.to_vault)
    assert strip_notes(r2.to_vault) == strip_notes(r1.to_zotero)
    assert r2.to_zotero.keys() == r1.to_vault.keys()
    if notes_conflict and s["base"] is not None:
        # the same lines, the two versions in the other order between the markers
        assert lines(r2.merged["notes"]) == lines(r1.merged["notes"])
    if s["base"] is None and "notes" in r1.merged:
        # with no base the union is computed in a fixed order of the texts: the same text,
        # each version still under its own side's label
        assert r2.merged["notes"] == swap_labels(r1.merged["notes"])
    assert [swapped(c) for c in r1.conflicts] == r2.conflicts
    assert [swapped(c) for c in r1.auto_resolved] == r2.auto_resolved
    assert r1.overridden_upstream == r2.overridden_upstream
    assert {k: {SWAP.get(x, x) for x in v} for k, v in r1.changed_by.items()} == r2.changed_by


@given(scenarios())
def test_policies_decide_scalar_conflicts(s: dict[str, Any]) -> None:
    r = merge_paper(**s)
    policy = s["policy"]
    settled = {c.field: c for c in r.auto_resolved}
    if policy == "ask" or (policy == "newest" and s["zotero_mtime"] is None):
        assert not settled
        for c in r.conflicts:
            if c.field != "notes":
                assert c.resolution is None and r.merged[c.field] == c.base
    else:
        assert r.open_fields == set()
        for f, c in settled.items():
            winner = policy
            if policy == "newest":
                winner = "zotero" if s["zotero_mtime"] >= s["vault_mtime"] else "vault"
            assert c.resolution == winner
            assert r.merged[f] == (c.zotero if winner == "zotero" else c.vault)
    for c in r.conflicts:
        if c.field == "notes":
            assert c.resolution == "both-kept" and MARKER_PREFIX in r.merged["notes"]


@given(scenarios())
def test_an_upstream_change_nobody_edited_reaches_both_sides(s: dict[str, Any]) -> None:
    base, cat, old = s["base"], s["catalog"], s["catalog_base"]
    if base is None or cat is None or old is None:
        return
    r = merge_paper(**s)
    for k in ("title", "year", "catalog"):
        if k not in cat or k not in old or cat[k] == old[k]:
            continue
        untouched = all(
            not present(s[side], k) or s[side][k] == base[k] for side in ("zotero", "vault")
        )
        if untouched and k in base:
            assert r.merged[k] == cat[k]
        elif not untouched and r.merged[k] != cat[k]:
            assert k in r.overridden_upstream or k in r.open_fields


# --- state machine --------------------------------------------------------------------------


class SyncCycles(RuleBasedStateMachine):
    """One paper through many edit/sync rounds, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.base: Record | None = None
        self.catalog: Record = {}
        self.catalog_base: Record | None = None
        self.zotero: Record | None = None
        self.vault: Record | None = None
        self.policy: Policy = "ask"
        self.clock = 0.0
        self.mtimes: dict[str, float] = {"zotero": 0.0, "vault": 0.0}
        self.open: frozenset[str] = frozenset()

    @initialize(rec=records(), policy=st.sampled_from(POLICIES))
    def start(self, rec: Record, policy: Policy) -> None:
        self.catalog = catalog_view(rec)
        self.policy = policy

    def _touch(self, side: str) -> None:
        self.clock += 1
        self.mtimes[side] = self.clock

    @rule(policy=st.sampled_from(POLICIES))
    def change_policy(self, policy: Policy) -> None:
        self.policy = policy

    @precondition(lambda self: self.zotero is not None)
    @rule(data=st.data())
    def edit_zotero(self, data: st.DataObject) -> None:
        assert self.zotero is not None
        self.zotero = data.draw(edited(self.zotero, tuple(k for k in self.zotero)))
        self._touch("zotero")

    @precondition(lambda self: self.vault is not None)
    @rule(data=st.data())
    def edit_vault(self, data: st.DataObject) -> None:
        assert self.vault is not None
        self.vault = data.draw(edited(self.vault, tuple(k for k in self.vault)))
        self._touch("vault")

    @rule(data=st.data())
    def catalog_update(self, data: st.DataObject) -> None:
        self.catalog = data.draw(edited(self.catalog, tuple(self.catalog)))

    @rule()
    def lose_state(self) -> None:
        self.base = None
        self.catalog_base = None

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data())
    def user_settles_a_conflict(self, data: st.DataObject) -> None:
        """The user copies one side's value to the other by hand."""
        assert self.zotero is not None and self.vault is not None
        f = data.draw(st.sampled_from(sorted(self.open)))
        if f in self.zotero:
            self.vault[f] = self.zotero[f]
            self._touch("vault")

    @precondition(
        lambda self: self.vault is not None and MARKER_PREFIX in self.vault.get("notes", "")
    )
    @rule()
    def user_tidies_marked_notes(self) -> None:
        assert self.vault is not None
        kept = [ln for ln in split_lines(self.vault["notes"]) if not ln.startswith(MARKER_PREFIX)]
        self.vault["notes"] = "\n".join(kept).strip("\n")
        self._touch("vault")

    @rule(first=st.sampled_from(["zotero", "vault"]))
    def interrupted_sync(self, first: str) -> None:
        """A run that wrote one side, then died before the other side and the state."""
        r = merge_paper(**self._inputs())
        if first == "zotero":
            self.zotero = {**USER_DEFAULTS, **apply(self.zotero, r.to_zotero)}
        else:
            self.vault = {**USER_DEFAULTS, **apply(self.vault, r.to_vault)}

    def _inputs(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "catalog": self.catalog,
            "catalog_base": self.catalog_base,
            "zotero": self.zotero,
            "vault": self.vault,
            "policy": self.policy,
            "zotero_mtime": self.mtimes["zotero"],
            "vault_mtime": self.mtimes["vault"],
        }

    @rule()
    def sync(self) -> None:
        s = self._inputs()
        r = merge_paper(**s)
        note(f"merge: {r}")
        check_no_loss(s, r)
        z2, v2 = check_convergence(s, r)
        # adapters report every field, the user's ones empty until written
        self.zotero, self.vault = {**USER_DEFAULTS, **z2}, {**USER_DEFAULTS, **v2}
        self.base, self.catalog_base = r.merged, dict(self.catalog)
        self.open = r.open_fields
        again = merge_paper(
            **{
                **s,
                "base": self.base,
                "catalog_base": self.catalog_base,
                "zotero": self.zotero,
                "vault": self.vault,
            }
        )
        assert not again.has_writes
        assert again.open_fields == self.open
        for f in self.open:
            assert self.zotero.get(f) != self.vault.get(f)


TestSyncCycles = SyncCycles.TestCase


@given(records(), st.booleans(), st.sampled_from(POLICIES))
@example({"title": "T", "notes": "from the list", "tags": None, "sections": []}, False, "ask")
def test_a_paper_only_the_catalog_holds_merges_as_the_general_rules_say(
    rec: Record, whole: bool, policy: Policy
) -> None:
    """Every paper of a first pull takes the shortcut: it must decide what the field-by-field
    rules decide, field for field (sides, values, what goes to each side)."""
    catalog = rec if whole else catalog_view(rec)
    fast = _catalog_only(catalog)
    general = _merge_fields(
        base=None, catalog=catalog, catalog_base=None, zotero=None, vault=None, policy=policy
    )
    assert fast == general
    assert list(fast.merged) == list(general.merged)  # the order notes are written in
