"""Enrichment is an upstream: it fills in, and a user's own value of an enriched field wins
over it forever after (the merge in ``sync/merge.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from pllm_sync.record import Record
from pllm_sync.sync.merge import merge_paper

OLD = "An abstract as the service first gave it."
NEW = "The service's later, different abstract."
MINE = "My own corrected abstract."


def _rec(**kw: Any) -> Record:
    return {"title": "T", **kw}


def _merge(base: Any, cat_base: Any, cat: Any, z: Any, v: Any, field: str = "abstract") -> Any:
    return merge_paper(
        base=_rec(**{field: base}),
        catalog=_rec(**{field: cat}),
        catalog_base=_rec(**{field: cat_base}),
        zotero=_rec(**{field: z}),
        vault=_rec(**{field: v}),
    )


def test_enrichment_fills_an_empty_field_on_both_sides() -> None:
    r = _merge(None, None, OLD, None, None)
    assert r.merged["abstract"] == OLD
    assert r.to_zotero["abstract"] == OLD and r.to_vault["abstract"] == OLD


def test_a_changed_answer_updates_a_field_nobody_edited() -> None:
    r = _merge(OLD, OLD, NEW, OLD, OLD)
    assert r.merged["abstract"] == NEW


def test_the_users_edit_wins_in_the_run_it_is_made() -> None:
    r = _merge(OLD, OLD, NEW, MINE, OLD)
    assert r.merged["abstract"] == MINE and r.to_vault["abstract"] == MINE
    assert r.overridden_upstream["abstract"] == NEW


@pytest.mark.parametrize("cat", [OLD, NEW])
def test_the_users_edit_wins_forever_after(cat: str) -> None:
    # After the edit settled: the agreed value is the user's, the upstream's last word was OLD.
    r = _merge(MINE, OLD, cat, MINE, MINE)
    assert r.merged["abstract"] == MINE
    assert not r.to_zotero and not r.to_vault


def test_an_abstract_the_user_added_before_enrichment_stays() -> None:
    # The user typed an abstract in Zotero while the service had none; now the service has one.
    r = _merge(MINE, None, NEW, MINE, MINE)
    assert r.merged["abstract"] == MINE and not r.has_writes
    assert r.overridden_upstream["abstract"] == NEW


def test_authors_corrected_in_the_vault_survive_a_re_enrichment() -> None:
    service = ("A. Author", "B. Author")
    mine = ("Alice Author", "Bob Author")
    first = _merge(service, service, service, service, mine, field="authors")
    assert first.merged["authors"] == mine and first.to_zotero["authors"] == mine
    later = _merge(mine, service, ("A. Author", "B. Author", "C. Author"), mine, mine, "authors")
    assert later.merged["authors"] == mine and not later.has_writes


def test_other_catalog_fields_still_follow_the_list() -> None:
    # the stickiness is for enriched fields only: the list's own title fix still applies
    r = merge_paper(
        base={"title": "Mine"},
        catalog={"title": "Fixed"},
        catalog_base={"title": "Old"},
        zotero={"title": "Mine"},
        vault={"title": "Mine"},
    )
    assert r.merged["title"] == "Fixed"
