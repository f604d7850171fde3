"""Example tests for each merge rule, written as the situations a user runs into."""

from __future__ import annotations

from typing import Any

import pytest

from pllm_sync.record import Record
from pllm_sync.sync.merge import FieldConflict, MergeResult, merge_paper
from pllm_sync.sync.textmerge import MARKER_PREFIX, has_conflict_markers

CATALOG: Record = {
    "title": "LaMP: When Large Language Models Meet Personalization",
    "method": "LaMP",
    "venue": "ACL 2024",
    "year": 2024,
    "url": "https://arxiv.org/abs/2304.11406",
    "code": None,
    "arxiv": "2304.11406",
    "doi": None,
    "authors": ("Alireza Salemi", "Hamed Zamani"),
    "sections": frozenset({"PLLMs / Benchmarks"}),
    "catalog": "listed",
}
USER: Record = {"tags": frozenset({"to-read"}), "status": "unread", "rating": None, "notes": ""}
BASE: Record = {**CATALOG, **USER}


def synced(**changes: Any) -> Record:
    return {**BASE, **changes}


def merge(**kw: Any) -> MergeResult:
    args: dict[str, Any] = {
        "base": BASE,
        "catalog": CATALOG,
        "catalog_base": CATALOG,
        "zotero": BASE,
        "vault": BASE,
    }
    args.update(kw)
    return merge_paper(**args)


def test_nothing_changed_writes_nothing() -> None:
    r = merge()
    assert r.merged == BASE
    assert not r.has_writes and not r.conflicts and not r.changed_by


def test_new_paper_from_the_catalog_goes_to_both_sides() -> None:
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=None, vault=None)
    assert r.merged == CATALOG
    assert r.to_zotero == CATALOG and r.to_vault == CATALOG
    assert r.changed_by["title"] == {"catalog"}


def test_a_side_without_a_copy_receives_every_merged_field() -> None:
    r = merge(vault=None)
    assert r.to_vault == BASE and r.to_zotero == {}


def test_a_field_changed_on_one_side_goes_to_the_other() -> None:
    r = merge(vault=synced(status="read", rating=4))
    assert r.to_zotero == {"status": "read", "rating": 4}
    assert r.to_vault == {}
    assert r.changed_by == {"status": {"vault"}, "rating": {"vault"}}


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    r = merge(zotero=synced(status="read"), vault=synced(status="read"))
    assert r.merged["status"] == "read" and not r.has_writes and not r.conflicts


def test_clearing_a_value_on_one_side_propagates() -> None:
    r = merge(base=synced(rating=3), zotero=synced(rating=None), vault=synced(rating=3))
    assert r.to_vault == {"rating": None}


# --- the catalog as an upstream -------------------------------------------------------------


def test_a_catalog_change_reaches_both_sides() -> None:
    r = merge(catalog={**CATALOG, "venue": "ACL 2024 Findings"})
    assert r.to_zotero == r.to_vault == {"venue": "ACL 2024 Findings"}
    assert r.changed_by == {"venue": {"catalog"}}


def test_a_users_edit_beats_the_upstream_and_is_reported() -> None:
    r = merge(
        catalog={**CATALOG, "title": "LaMP (v2)"},
        zotero=synced(title="LaMP, my title"),
    )
    assert r.merged["title"] == "LaMP, my title"
    assert r.to_vault == {"title": "LaMP, my title"} and r.to_zotero == {}
    assert r.overridden_upstream == {"title": "LaMP (v2)"}
    assert not r.conflicts


def test_a_user_edit_that_matches_the_upstream_is_not_an_override() -> None:
    r = merge(catalog={**CATALOG, "year": 2023}, vault=synced(year=2023))
    assert r.to_zotero == {"year": 2023}
    assert r.changed_by["year"] == {"catalog", "vault"}
    assert not r.overridden_upstream


def test_a_side_already_holding_the_upstream_value_does_not_conflict_with_a_user_edit() -> None:
    """An interrupted run wrote the catalog's new title to Zotero only; then the user edited
    the title in the vault: the user's edit wins, as it would have without the interruption."""
    r = merge(
        catalog={**CATALOG, "title": "LaMP (v2)"},
        zotero=synced(title="LaMP (v2)"),
        vault=synced(title="My LaMP"),
    )
    assert not r.conflicts and r.merged["title"] == "My LaMP"
    assert r.to_zotero == {"title": "My LaMP"} and r.overridden_upstream == {"title": "LaMP (v2)"}


def test_a_marked_notes_merge_already_on_one_side_is_not_marked_again() -> None:
    base = synced(notes=NOTE)
    z = {**base, "notes": NOTE.replace("Useful baseline.", "Weak baseline.")}
    v = {**base, "notes": NOTE.replace("Useful baseline.", "Strong baseline.")}
    first = merge(base=base, zotero=z, vault=v)
    # the run wrote Zotero, then stopped before the vault and the state
    replay = merge(base=base, zotero={**z, "notes": first.merged["notes"]}, vault=v)
    assert replay.merged["notes"] == first.merged["notes"]
    assert replay.merged["notes"].count(MARKER_PREFIX) == 3
    assert replay.to_vault == {"notes": first.merged["notes"]} and not replay.to_zotero


def test_an_earlier_override_is_not_reverted_by_an_unchanged_catalog() -> None:
    """After the user's title won, the catalog (unchanged since) must not bring its own back."""
    base = synced(title="My title")
    r = merge(base=base, zotero=base, vault=base)
    assert not r.has_writes


def test_a_list_change_replacing_an_earlier_user_value_names_it() -> None:
    """The user's title was agreed at an earlier sync; the list now retitles the paper. The
    list's change applies (title is a list field), and the user's value is reported so the
    replacement is never silent."""
    base = synced(title="My title")
    r = merge(base=base, zotero=base, vault=base, catalog={**CATALOG, "title": "LaMP (v2)"})
    assert r.merged["title"] == "LaMP (v2)"
    assert r.replaced_by_upstream == {"title": "My title"}
    assert not r.overridden_upstream and not r.conflicts


def test_a_list_change_to_a_value_nobody_edited_replaces_nothing() -> None:
    r = merge(catalog={**CATALOG, "venue": "ACL 2025"})
    assert r.merged["venue"] == "ACL 2025" and r.replaced_by_upstream == {}


def test_an_enriched_field_the_user_set_is_not_replaced_and_the_change_is_named() -> None:
    base = synced(authors=("A. Salemi",))
    r = merge(
        base=base,
        zotero=base,
        vault=base,
        catalog={**CATALOG, "authors": ("Alireza Salemi", "Hamed Zamani", "Third")},
    )
    assert r.merged["authors"] == ("A. Salemi",)
    assert r.replaced_by_upstream == {}
    assert r.overridden_upstream == {"authors": ("Alireza Salemi", "Hamed Zamani", "Third")}


def test_with_no_catalog_base_the_catalog_only_fills_empty_fields() -> None:
    """A paper synced before the catalog listed it: its values may be the user's own."""
    base = synced(title="User's title", code=None)
    r = merge(
        base=base,
        zotero=base,
        vault=base,
        catalog={**CATALOG, "code": "https://github.com/LaMP-Benchmark/LaMP"},
        catalog_base=None,
    )
    assert r.merged["title"] == "User's title"
    assert r.to_zotero == r.to_vault == {"code": "https://github.com/LaMP-Benchmark/LaMP"}


def test_a_paper_removed_upstream_is_flagged_on_both_sides() -> None:
    r = merge(catalog={**CATALOG, "catalog": "removed"})
    assert r.to_zotero == r.to_vault == {"catalog": "removed"}


def test_a_paper_without_catalog_entry_merges_between_the_sides() -> None:
    r = merge(catalog=None, catalog_base=None, zotero=synced(title="Edited"))
    assert r.to_vault == {"title": "Edited"}


# --- conflicts and policies -----------------------------------------------------------------


def both_changed(**kw: Any) -> MergeResult:
    return merge(zotero=synced(status="read"), vault=synced(status="skipped"), **kw)


def test_ask_keeps_both_sides_and_records_the_conflict() -> None:
    r = both_changed()
    assert r.conflicts == [FieldConflict("status", "unread", "read", "skipped")]
    assert r.merged["status"] == "unread"  # nothing agreed: the base stays
    assert "status" not in r.to_zotero and "status" not in r.to_vault
    assert r.open_fields == {"status"}


@pytest.mark.parametrize("policy", ["zotero", "vault"])
def test_a_side_policy_takes_that_side(policy: str) -> None:
    r = both_changed(policy=policy)
    want = "read" if policy == "zotero" else "skipped"
    assert r.merged["status"] == want
    assert not r.conflicts
    assert r.auto_resolved == [FieldConflict("status", "unread", "read", "skipped", policy)]
    other = r.to_vault if policy == "zotero" else r.to_zotero
    assert other == {"status": want}


def test_newest_takes_the_side_modified_last() -> None:
    r = both_changed(policy="newest", zotero_mtime=100.0, vault_mtime=200.0)
    assert r.merged["status"] == "skipped" and r.to_zotero == {"status": "skipped"}
    r = both_changed(policy="newest", zotero_mtime=300.0, vault_mtime=200.0)
    assert r.merged["status"] == "read"


def test_newest_tie_goes_to_zotero_and_unknown_times_stay_open() -> None:
    assert both_changed(policy="newest", zotero_mtime=5.0, vault_mtime=5.0).merged["status"] == (
        "read"
    )
    r = both_changed(policy="newest", zotero_mtime=5.0)
    assert r.open_fields == {"status"} and not r.has_writes


def test_conflict_with_an_upstream_change_too() -> None:
    r = merge(
        catalog={**CATALOG, "year": 2025},
        zotero=synced(year=2022),
        vault=synced(year=2021),
    )
    assert r.open_fields == {"year"}
    assert r.overridden_upstream == {"year": 2025}
    assert r.merged["year"] == 2024 and "year" not in r.to_zotero


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        merge(policy="random")


# --- set fields -----------------------------------------------------------------------------


def test_tags_added_and_removed_on_either_side_both_survive() -> None:
    base = synced(tags=frozenset({"a", "b", "c"}))
    r = merge(
        base=base,
        zotero={**base, "tags": frozenset({"a", "b", "c", "z-new"})},
        vault={**base, "tags": frozenset({"a", "c", "v-new"})},
    )
    assert r.merged["tags"] == {"a", "c", "z-new", "v-new"}
    assert not r.conflicts
    assert r.to_zotero == {"tags": r.merged["tags"]} and r.to_vault == {"tags": r.merged["tags"]}


def test_a_tag_removed_on_one_side_is_removed_on_the_other() -> None:
    base = synced(tags=frozenset({"keep", "drop"}))
    r = merge(base=base, zotero=base, vault={**base, "tags": frozenset({"keep"})})
    assert r.to_zotero == {"tags": frozenset({"keep"})} and r.to_vault == {}


def test_catalog_tags_only_seed() -> None:
    base = synced(tags=frozenset({"seed", "mine"}))
    cat_old = {**CATALOG, "tags": frozenset({"seed"})}
    r = merge(base=base, zotero=base, vault=base, catalog_base=cat_old, catalog=CATALOG)
    assert r.merged["tags"] == {"seed", "mine"}  # the catalog dropping a seed removes nothing


def test_sections_catalog_additions_apply_and_user_moves_survive() -> None:
    base = synced(sections=frozenset({"A", "B"}))
    cat_old = {**CATALOG, "sections": frozenset({"A", "B"})}
    cat_new = {**CATALOG, "sections": frozenset({"A", "B", "C"})}
    moved = {**base, "sections": frozenset({"A", "Mine"})}  # user moved it from B to Mine
    r = merge(base=base, catalog_base=cat_old, catalog=cat_new, zotero=moved, vault=base)
    assert r.merged["sections"] == {"A", "C", "Mine"}
    assert r.changed_by["sections"] == {"catalog", "zotero"}


def test_a_section_removed_upstream_stays_when_the_user_just_added_it() -> None:
    base = synced(sections=frozenset({"A"}))  # the user had taken it out of B before
    cat_old = {**CATALOG, "sections": frozenset({"A", "B"})}
    cat_new = {**CATALOG, "sections": frozenset({"A"})}  # now the list drops B
    back_in_b = {**base, "sections": frozenset({"A", "B"})}  # and the user puts it back
    r = merge(base=base, catalog_base=cat_old, catalog=cat_new, zotero=back_in_b, vault=base)
    assert r.merged["sections"] == {"A", "B"}
    both = synced(sections=frozenset({"A", "B"}))
    r = merge(base=both, zotero=both, vault=both, catalog_base=cat_old, catalog=cat_new)
    assert r.merged["sections"] == {"A"}  # nobody re-added it: the upstream removal applies


# --- notes ----------------------------------------------------------------------------------

NOTE = "## Summary\nBenchmark of seven tasks.\n\n## Thoughts\nUseful baseline."


def test_notes_edited_on_both_sides_in_different_places_merge_cleanly() -> None:
    base = synced(notes=NOTE)
    z = {**base, "notes": NOTE.replace("seven tasks.", "seven tasks (LaMP-1..7).")}
    v = {**base, "notes": NOTE + "\n\n## Follow-up\nRead LongLaMP."}
    r = merge(base=base, zotero=z, vault=v)
    assert not r.conflicts
    assert "seven tasks (LaMP-1..7)." in r.merged["notes"]
    assert "Read LongLaMP." in r.merged["notes"]
    assert r.to_zotero.keys() == r.to_vault.keys() == {"notes"}


@pytest.mark.parametrize("policy", ["ask", "zotero", "vault", "newest"])
def test_overlapping_notes_keep_both_texts_under_every_policy(policy: str) -> None:
    base = synced(notes=NOTE)
    z = {**base, "notes": NOTE.replace("Useful baseline.", "Weak baseline (zotero).")}
    v = {**base, "notes": NOTE.replace("Useful baseline.", "Strong baseline (vault).")}
    r = merge(base=base, zotero=z, vault=v, policy=policy, zotero_mtime=1.0, vault_mtime=2.0)
    text = r.merged["notes"]
    assert "Weak baseline (zotero)." in text and "Strong baseline (vault)." in text
    assert has_conflict_markers(text) and text.count(MARKER_PREFIX) == 3
    assert r.to_zotero["notes"] == r.to_vault["notes"] == text
    assert [c.field for c in r.conflicts] == ["notes"]
    assert r.conflicts[0].resolution == "both-kept"
    assert r.conflicts[0].zotero == z["notes"] and r.conflicts[0].vault == v["notes"]
    # the next run agrees on the marked text: no new conflict, but the markers still show
    m = r.merged
    again = merge(base=m, zotero=m, vault=m)
    assert not again.conflicts and again.has_marked_notes and not r.open_fields


def test_notes_deleted_on_one_side_and_edited_on_the_other_keep_the_edit() -> None:
    base = synced(notes=NOTE)
    r = merge(
        base=base,
        zotero={**base, "notes": ""},
        vault={**base, "notes": NOTE + "\nmore"},
    )
    assert "more" in r.merged["notes"] and r.conflicts


# --- no base: new papers and a lost state ---------------------------------------------------


def test_state_loss_keeps_every_user_value() -> None:
    z = {**CATALOG, "tags": frozenset({"z"}), "status": "read", "rating": None, "notes": "zn"}
    v = {**CATALOG, "tags": frozenset({"v"}), "status": None, "rating": 5, "notes": "vn"}
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=z, vault=v)
    m = r.merged
    assert m["tags"] == {"z", "v"}
    assert m["status"] == "read" and m["rating"] == 5
    assert "zn" in m["notes"] and "vn" in m["notes"]
    assert [c.field for c in r.conflicts] == ["notes"]  # two unrelated texts: both kept, marked


def test_state_loss_with_one_side_appending_to_notes_is_clean() -> None:
    z = {**CATALOG, "notes": "first"}
    v = {**CATALOG, "notes": "first\nsecond"}
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=z, vault=v)
    assert r.merged["notes"] == "first\nsecond" and not r.conflicts


def test_state_loss_treats_the_catalog_as_base_for_catalog_fields() -> None:
    z = {**CATALOG, "title": "Zotero-edited title"}
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=z, vault=CATALOG)
    assert r.merged["title"] == "Zotero-edited title"
    assert r.to_vault == {"title": "Zotero-edited title"}


def test_state_loss_never_empties_a_field_a_side_left_empty() -> None:
    z = {**CATALOG, "year": None, "venue": None, "title": ""}
    v = {**CATALOG, "venue": "Findings", "authors": ()}
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=z, vault=v)
    assert r.merged["year"] == 2024 and r.merged["venue"] == "Findings"
    assert r.merged["title"] == CATALOG["title"] and r.merged["authors"] == CATALOG["authors"]
    assert not r.conflicts


def test_state_loss_with_two_different_user_values_is_a_conflict() -> None:
    z = {**CATALOG, "status": "read"}
    v = {**CATALOG, "status": "skimmed"}
    r = merge_paper(base=None, catalog=CATALOG, catalog_base=None, zotero=z, vault=v)
    assert r.open_fields == {"status"}
    assert "status" not in r.to_zotero and "status" not in r.to_vault


# --- shape of the input ---------------------------------------------------------------------


def test_a_field_a_side_does_not_report_is_no_change_there() -> None:
    z = {k: v for k, v in BASE.items() if k != "rating"}
    r = merge(base=synced(rating=2), zotero=z, vault=synced(rating=2))
    assert r.merged["rating"] == 2
    assert r.to_zotero == {"rating": 2} and r.to_vault == {}


def test_fields_unknown_to_the_merge_are_merged_as_scalars() -> None:
    r = merge(
        base=synced(extra_field="x"), zotero=synced(extra_field="y"), vault=synced(extra_field="x")
    )
    assert r.to_vault == {"extra_field": "y"}
    assert list(r.merged)[-1] == "extra_field"  # known fields first, in record order


def test_merging_the_result_again_writes_nothing() -> None:
    r = merge(
        catalog={**CATALOG, "title": "New"},
        zotero=synced(tags=frozenset({"a"}), notes="z"),
        vault=synced(status="read"),
    )
    again = merge_paper(
        base=r.merged,
        catalog={**CATALOG, "title": "New"},
        catalog_base={**CATALOG, "title": "New"},
        zotero=r.merged,
        vault=r.merged,
    )
    assert not again.has_writes and not again.conflicts and again.merged == r.merged
