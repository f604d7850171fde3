"""The collector setting every run (pull, sync, each daemon pass) works under: off while the
run builds its records, and afterwards the collector as it was, with nothing left frozen, so
the long-running daemon still frees the cycles its passes leave behind."""

from __future__ import annotations

import gc
import weakref

import pytest

from pllm_sync import runtime
from pllm_sync.runtime import one_shot_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_a_run_has_no_collections_and_the_collector_is_restored_after() -> None:
    before = gc.get_threshold()
    assert gc.isenabled()
    with one_shot_gc():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # what lived before the run: out of sight
        cycle = Node()
        ref = weakref.ref(cycle)
        del cycle
    assert gc.isenabled() and gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None  # a cycle the run left is freed by the next collection


def test_what_a_run_kept_is_not_walked_by_the_next_young_collection() -> None:
    with one_shot_gc():
        kept = [[i] for i in range(50_000)]  # the records a run keeps to its end
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert not any(id(x) in young for x in kept[::997])
    assert any(x is kept for x in gc.get_objects(generation=2))


def test_a_run_that_fails_restores_the_collector_too() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), one_shot_gc():
        raise RuntimeError("the run stopped")
    assert gc.isenabled() and gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        with one_shot_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_daemon_pass_frees_the_cycles_made_during_and_between_passes() -> None:
    """The daemon lives on: garbage made between its passes (an API request's connection)
    and during them must be freed without anyone calling ``gc.collect``, pass after pass."""
    refs: list[weakref.ref[Node]] = []
    for _ in range(3):
        between = Node()
        refs.append(weakref.ref(between))
        del between
        with one_shot_gc(sweep=True):
            assert not gc.isenabled()
            during = Node()
            refs.append(weakref.ref(during))
            del during
            kept = Node()  # what a pass keeps (its memos) stays
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert [r() for r in refs] == [None] * len(refs)
    assert kept.me is kept


def test_a_cycle_that_outlived_a_pass_is_freed_by_the_daemons_full_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kept-alive connection outlives a pass and becomes garbage later, in the oldest
    generation: the daemon's own full collection (hourly; here at every pass) frees it."""
    monkeypatch.setattr(runtime, "FULL_COLLECTION_EVERY", 0.0)
    survivor = Node()
    ref = weakref.ref(survivor)
    with one_shot_gc(sweep=True):
        pass
    del survivor  # garbage now, and old
    with one_shot_gc(sweep=True):
        pass
    assert ref() is None
