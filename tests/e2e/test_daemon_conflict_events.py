"""The daemon's passes announce the conflicts they open (``conflict.opened`` on the event
stream the plugins read) and nothing stale: the open conflicts are read again only when the
database was written since (an idle poll asks twice and reads nothing), and a resolve made
by another connection meanwhile counts as a write."""

from __future__ import annotations

import pytest

from pllm_sync.api.events import EventBus
from pllm_sync.daemon.loop import Job
from pllm_sync.daemon.runner import PassRunner
from pllm_sync.runtime import open_runtime
from pllm_sync.sync.engine import SyncEngine

from .helpers import Env, NewEnv, edit_frontmatter

LIST = """# Events List

## Alignment

+ **\\[2024 EMNLP\\]** Eventful Paper: A Study. ([Paper](https://arxiv.org/abs/2401.00011))
"""
PID = "arxiv:2401.00011"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"events": LIST})


def _conflict_events(bus: EventBus, since: int) -> list[tuple[str, object]]:
    return [
        (e.type, e.data.get("field")) for e in bus.since(since) if e.type.startswith("conflict")
    ]


def test_passes_announce_the_conflicts_they_open_and_nothing_stale(env: Env) -> None:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    with open_runtime(str(env.config)) as rt:
        assert rt.zotero is not None
        engine = SyncEngine(rt.config, rt.state, rt.vault, rt.zotero, library_ref=rt.library_ref)
        bus = EventBus()
        runner = PassRunner(engine, rt.state, rt.vault, bus)
        jobs = iter(range(1000))

        def run(reason: str, paths: set[str] | None) -> int:
            mark = bus.since(0)[-1].id if bus.since(0) else 0
            runner(Job(id=f"r{next(jobs)}", reason=reason, paths=paths))
            return mark

        run("start", None)
        # the same field edited on both sides since the last sync: a conflict
        item = env.item_by_pid(PID)
        tags = [t for t in item["tags"] if not t["tag"].startswith("status/")]
        env.emu.edit_item(item["key"], {"tags": [*tags, {"tag": "status/read"}]})
        edit_frontmatter(env.note_for(PID), status="reading")
        mark = run("vault change", None)
        assert _conflict_events(bus, mark) == [("conflict.opened", "status")]

        mark = run("zotero poll", set())  # nothing moved: no event, no pass
        assert _conflict_events(bus, mark) == []

        # resolved by `pllm-sync conflicts resolve` (its own connection, as in another process)
        [conflict] = rt.state.list_conflicts(open_only=True)
        code, _, err = env.run("conflicts", "resolve", str(conflict.id), "--take", "vault")
        assert code == 0, err
        # the next pass (one that writes) reads the conflicts as they are when it begins: the
        # other process's commit is seen, so this pass announces no close it did not make
        edit_frontmatter(env.note_for(PID), rating=4)
        mark = run("vault change", None)
        assert _conflict_events(bus, mark) == []
        assert rt.state.list_conflicts(open_only=True) == []
        runner.close()
