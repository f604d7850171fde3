"""The collector tuning every run (pull, sync, each daemon pass) works under: cheap while the
run builds its records, and afterwards the collector as it was, with nothing left frozen, so
the long-running daemon still frees the cycles its passes leave behind."""

from __future__ import annotations

import gc
import weakref

import pytest

from pllm_sync.runtime import one_shot_gc


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_a_run_is_tuned_and_the_collector_restored_after() -> None:
    before = gc.get_threshold()
    with one_shot_gc():
        assert gc.get_threshold() == (100_000, 50, 100)
        assert gc.get_freeze_count() > 0  # what lived before the run: out of sight
        cycle = Node()
        ref = weakref.ref(cycle)
        del cycle
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None  # a cycle the run left is freed by the next collection


def test_a_run_that_fails_restores_the_collector_too() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), one_shot_gc():
        raise RuntimeError("the run stopped")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
