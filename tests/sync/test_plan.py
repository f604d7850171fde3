"""The plan's actions list their field changes only when asked: what a dry run and the
journal show must still be the values as they were decided."""

from __future__ import annotations

from pllm_sync.sync.plan import Plan


def test_field_changes_are_the_values_at_the_time_the_action_was_added() -> None:
    plan = Plan()
    new = {"title": "New title", "year": "2024", "notes": "mine"}
    old = {"title": "Old title", "year": "2024"}
    act = plan.add("zotero", "update", "p1", "New title", new, old)
    new.pop("notes")  # the engine drops a field it will not write after deciding
    new["year"] = "1999"
    old["title"] = "changed later"
    assert [(c.field, c.old, c.new) for c in act.changes] == [
        ("notes", None, "mine"),
        ("title", "Old title", "New title"),
        ("year", "2024", "2024"),
    ]


def test_changes_set_by_hand_replace_the_listed_ones() -> None:
    plan = Plan()
    act = plan.add("zotero", "update", "p1", "T", {"notes": "a", "title": "T"}, {})
    act.changes = [c for c in act.changes if c.field != "notes"]
    assert [c.field for c in act.changes] == ["title"]
    assert plan.to_json()["actions"][0]["changes"] == [{"field": "title", "old": None, "new": "T"}]


def test_an_action_without_changes_lists_none() -> None:
    act = Plan().add("vault", "trash", "p1", "T", reason="item gone")
    assert act.changes == [] and act.to_json()["reason"] == "item gone"


def test_actions_compare_by_their_values_as_decided() -> None:
    def one(authors: object, reason: str = "") -> object:
        return Plan().add("zotero", "update", "p1", "T", {"authors": authors}, {}, reason)

    assert one(("A. Author",)) == one(("A. Author",))
    assert one(("A. Author",)) != one(["A. Author"])  # a tuple is not the list it prints as
    assert one(("A. Author",)) != one(("A. Author",), reason="why")
    assert "reason='why'" in repr(one(("A",), reason="why"))
