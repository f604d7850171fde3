"""The daemon's own writes (``PassRunner.is_own_write``): a note holding exactly what the
daemon wrote causes no pass, but bytes the daemon once wrote, coming back after the note
held others, are the user's edit however the daemon learnt of those others."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pllm_sync.api.events import EventBus
from pllm_sync.daemon.loop import Job
from pllm_sync.daemon.runner import PassRunner
from pllm_sync.errors import SafetyAbort
from pllm_sync.runtime import open_runtime
from pllm_sync.sync.engine import SyncEngine

from .helpers import Env, NewEnv, edit_frontmatter

LIST = """# Own List

## Alignment

+ **\\[2024 EMNLP\\]** Own Paper: A Study. ([Paper](https://arxiv.org/abs/2401.00021))
"""
PID = "arxiv:2401.00021"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"own": LIST})


def _zotero_status(env: Env, status: str) -> None:
    item = env.item_by_pid(PID)
    tags = [t for t in item["tags"] if not t["tag"].startswith("status/")]
    env.emu.edit_item(item["key"], {"tags": [*tags, {"tag": f"status/{status}"}]})


@contextmanager
def _daemon(env: Env, **kw: Any) -> Iterator[PassRunner]:
    """A daemon's pass runner over ``env`` after its start pass (``kw``: PassRunner's)."""
    with open_runtime(str(env.config)) as rt:
        assert rt.zotero is not None
        engine = SyncEngine(rt.config, rt.state, rt.vault, rt.zotero, library_ref=rt.library_ref)
        runner = PassRunner(engine, rt.state, rt.vault, EventBus(), **kw)
        try:
            runner(Job(id="r0", reason="start", paths=None))
            yield runner
        finally:
            runner.close()


@contextmanager
def _daemon_wrote_status_read(env: Env) -> Iterator[PassRunner]:
    """A daemon's pass runner after its start pass and a Zotero change it wrote into the
    note (``status: read``)."""
    with _daemon(env) as runner:
        _zotero_status(env, "read")
        runner(Job(id="r1", reason="zotero poll", paths=set()))
        yield runner


def test_an_undo_to_the_daemons_bytes_after_a_full_pass_read_the_edit_is_the_users(
    env: Env,
) -> None:
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    with _daemon_wrote_status_read(env) as runner:
        note = env.note_for(PID)
        rel = note.relative_to(env.vault).as_posix()
        ours = note.read_bytes()
        assert b"status: read" in ours and runner.is_own_write(rel)
        # the user's edit, read by a full pass (no event went through the check)
        edit_frontmatter(note, status="reading")
        runner(Job(id="r2", reason="vault change", paths=None))
        assert any(t["tag"] == "status/reading" for t in env.item_by_pid(PID)["tags"])
        note.write_bytes(ours)  # an undo, back to the daemon's bytes
        assert not runner.is_own_write(rel), "the user's undo"


def test_the_daemons_writes_in_a_folder_linked_into_the_vault_are_its_own(
    env: Env, tmp_path: Path
) -> None:
    """A note in a symlinked ``Papers/`` lies outside the vault once its path is resolved:
    the daemon's writes there were never remembered, and each came back as a user edit."""
    elsewhere = tmp_path / "Dropbox" / "Papers"
    elsewhere.mkdir(parents=True)
    env.vault.mkdir()
    (env.vault / "Papers").symlink_to(elsewhere, target_is_directory=True)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    assert list(elsewhere.glob("*.md")), "the notes are in the linked folder"
    with _daemon_wrote_status_read(env) as runner:
        [note] = list((env.vault / "Papers").glob("*.md"))
        rel = f"Papers/{note.name}"
        assert b"status: read" in note.read_bytes()
        assert rel in runner.written, "remembered under the path the vault reads it by"


def test_a_deletion_waiting_out_its_grace_is_in_the_daemons_log_once(new_env: NewEnv) -> None:
    """Found by the daemon helper: a pass's warnings (here, a deleted note whose deletion
    waits out ``watch.delete_grace_seconds``) were only in ``/v1/status``: the log file
    showed nothing pending. Logged now, once while it lasts, not once a poll."""
    import logging

    second = (
        "+ **\\[2024 EMNLP\\]** Other Paper: A Study. ([Paper](https://arxiv.org/abs/2401.00022))\n"
    )
    env = new_env({"own": LIST + second})  # (a vault left without notes stops every run)
    code, _, err = env.run("pull", "--no-progress")
    assert code == 0, err
    with _daemon(env, delete_grace=60.0) as runner:
        rel = env.note_for(PID).relative_to(env.vault).as_posix()
        env.note_for(PID).unlink()
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Keep(logging.WARNING)
        logging.getLogger("pllm_sync.daemon.runner").addHandler(handler)
        try:
            for i in range(3):
                runner(Job(id=f"r{i + 1}", reason="vault change", paths={rel}))
        finally:
            logging.getLogger("pllm_sync.daemon.runner").removeHandler(handler)
    waits = [r for r in records if "its deletion waits" in r.getMessage()]
    assert len(waits) == 1, [r.getMessage() for r in records]
    assert PID in waits[0].getMessage() and waits[0].levelname == "WARNING"
    assert not env.items(trashed=True), "the grace holds the deletion"


def test_the_daemons_dry_run_lists_what_the_mass_delete_guard_stops(new_env: NewEnv) -> None:
    """The guard's advice in a daemon pass is a dry run through the API: it lists the
    deletions and says a real pass stops there (it stopped at the guard, listing none)."""
    more = "".join(
        f"+ **\\[2024 EMNLP\\]** Guard Paper {i}: A Study. ([Paper](https://arxiv.org/abs/2403.{i:05d}))\n"
        for i in range(1, 6)
    )
    env = new_env({"own": LIST + more})
    assert env.run("pull", "--no-progress")[0] == 0
    with _daemon(env) as runner:
        for i in (1, 2):  # 2 of 6: over the default 20 %
            env.note_for(f"arxiv:2403.{i:05d}").unlink()
        job = Job(id="r1", reason="api", paths=None, dry_run=True)
        runner(job)
    plan = job.plan
    assert plan is not None
    trashes = [a for a in plan["actions"] if a["kind"] == "trash"]
    assert len(trashes) == 2, plan
    assert any("would move 2 of 6 papers" in w for w in plan["warnings"]), plan
    assert not env.items(trashed=True), "a dry run changes nothing"


def test_a_daemons_catalog_refresh_over_a_cut_list_stops_and_advises_a_pull(
    new_env: NewEnv,
) -> None:
    """A catalog refresh that would retire most of a list stops before any change, and its
    advice works while the daemon runs: the API's dry run reads no catalog, so it names
    `pllm-sync pull --dry-run` with the daemon stopped. The passes after it go on."""
    more = "".join(
        f"+ **\\[2024 EMNLP\\]** Cut Paper {i}: A Study. ([Paper](https://arxiv.org/abs/2403.{i:05d}))\n"
        for i in range(1, 10)
    )
    env = new_env({"own": LIST + more})
    assert env.run("pull", "--no-progress")[0] == 0
    with _daemon(env, delete_grace=60.0) as runner:  # watch.delete_grace_seconds' default
        before = env.snapshot()
        env.lists["own"].write_text(LIST, encoding="utf-8")  # the nine papers cut off
        with pytest.raises(SafetyAbort) as stopped:
            runner(Job(id="r1", reason="catalog refresh", paths=None, pull=True))
        assert "list 'own' dropped 9 of its 10 papers" in stopped.value.message
        hint = stopped.value.hint or ""
        assert "stop the daemon and run `pllm-sync pull --dry-run`" in hint, hint
        assert env.snapshot() == before, "nothing was changed"
        _zotero_status(env, "read")
        runner(Job(id="r2", reason="zotero poll", paths=set()))  # a sync pass goes on
    assert "status: read" in env.note_for(PID).read_text(encoding="utf-8")
    assert not any("pllm/removed" in {t["tag"] for t in d["tags"]} for d in env.items().values())
