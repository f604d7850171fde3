"""The mass-change guard's decision (``sync/delete_guard.judge``), case by case: trashes and
retirements (papers leaving the catalog) count against the same limits."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from pllm_sync.sync.delete_guard import ListDrop, judge

FOLLOWED = {"Alpha List": "alpha", "Beta List": "beta"}


def _listed(n: int, root: str, start: int = 0) -> dict[str, Collection[str]]:
    return {f"{root}:{i}": frozenset({root}) for i in range(start, start + n)}


ALPHA69 = _listed(69, "Alpha List")
BETA10 = _listed(10, "Beta List")
GONE40 = _listed(40, "Gone List")


@pytest.mark.parametrize(
    ("case", "trashed", "retiring", "listed", "unfollowed", "stops"),
    [
        ("first pull: nothing leaves", set(), {}, {}, False, False),
        (
            "a cut list: 40 of 69 leave",
            set(),
            dict(list(ALPHA69.items())[29:]),
            ALPHA69,
            False,
            True,
        ),
        (
            "a clean-up: 5 of 69 leave",
            set(),
            dict(list(ALPHA69.items())[:5]),
            ALPHA69,
            False,
            False,
        ),
        (
            "26 leave: over max_delete",
            set(),
            dict(list(ALPHA69.items())[:26]),
            ALPHA69,
            False,
            True,
        ),
        ("3 of 10: over the percent", set(), dict(list(BETA10.items())[:3]), BETA10, False, True),
        (
            "trash and retire add up",
            {"x", "y"},
            dict(list(BETA10.items())[:1]),
            BETA10,
            False,
            True,
        ),
        ("an unfollowed list: the user's act", set(), GONE40, {**GONE40, **ALPHA69}, True, False),
        (
            "no list unfollowed: an unknown root counts",
            set(),
            GONE40,
            {**GONE40, **ALPHA69},
            False,
            True,
        ),
        (
            "a paper of no section counts",
            set(),
            {f"n{i}": frozenset() for i in range(30)},
            {},
            True,
            True,
        ),
    ],
)
def test_the_guard_counts_trashes_and_retirements(
    case: str,
    trashed: set[str],
    retiring: dict[str, Collection[str]],
    listed: dict[str, Collection[str]],
    unfollowed: bool,
    stops: bool,
) -> None:
    verdict = judge(
        trashed=trashed,
        retiring=retiring,
        listed_before=listed,
        followed=FOLLOWED,
        unfollowed=unfollowed,
        total=max(len(listed), len(trashed), 1),
        max_delete=25,
        max_percent=20.0,
    )
    assert (verdict is not None) == stops, case


def test_the_verdict_names_each_list_and_its_count() -> None:
    retiring = {**dict(list(ALPHA69.items())[29:]), **dict(list(BETA10.items())[:4])}
    # a paper in both lists counts once, for each list it was in
    both = {"both": frozenset({"Alpha List", "Beta List"})}
    verdict = judge(
        trashed={"t"},
        retiring={**retiring, **both},
        listed_before={**ALPHA69, **BETA10, **both},
        followed=FOLLOWED,
        unfollowed=False,
        total=80,
        max_delete=25,
        max_percent=20.0,
    )
    assert verdict is not None
    assert verdict.drops == (ListDrop("alpha", 41, 70), ListDrop("beta", 5, 11))
    assert (verdict.trashed, verdict.retired, verdict.removing) == (1, 45, 46)
    assert verdict.message == (
        "this run would move 1 paper to the trash and retire 45 of 80 papers that left the "
        "catalog (58%; list 'alpha' dropped 41 of its 70 papers; list 'beta' dropped 5 of "
        "its 11 papers), above the limit (sync.max_delete=25, sync.max_delete_percent=20)"
    )


def test_trashes_alone_keep_their_message() -> None:
    verdict = judge(
        trashed={"a", "b"},
        retiring={},
        listed_before={},
        followed=FOLLOWED,
        unfollowed=False,
        total=3,
        max_delete=25,
        max_percent=20.0,
    )
    assert verdict is not None
    assert verdict.message == (
        "this run would move 2 of 3 papers to the trash (67%), above the limit "
        "(sync.max_delete=25, sync.max_delete_percent=20)"
    )
