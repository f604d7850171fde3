"""A list's collection deleted in Zotero ("Delete Collection", items kept).

The collections mirror the list's sections, so the run that notices the deletion makes the
collection again and files its papers back, and says so (to drop a section for good, the
list's ``exclude`` does it). Before, the collection came back empty: Zotero drops the
memberships without bumping the items' versions, the state still held the old ones, so no
run ever saw a change and the notes listed a section their items were no longer in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, frontmatter, make_env

LIST = """# Filing List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))

## Retrieval

+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
ALIGNED = ("arxiv:2401.00001", "arxiv:2401.00002")
OTHER = "arxiv:2401.00003"


def _run(env: Env, *args: str) -> str:
    code, out, err = env.run(*args, "--no-progress")
    assert code == 0, (out, err)
    return out + err


def _collection(env: Env, name: str) -> str:
    [key] = [k for k, c in env.emu.get_collections().items() if c["name"] == name]
    return key


def _assert_filed_back(env: Env, old: str) -> None:
    new = _collection(env, "Alignment")
    assert new != old
    for pid in ALIGNED:
        assert new in env.item_by_pid(pid)["collections"], pid
        assert any("Alignment" in str(s) for s in frontmatter(env.note_for(pid))["sections"])
    assert new not in env.item_by_pid(OTHER)["collections"]
    # settled: the next sync changes nothing on either side
    before, version = env.snapshot(), env.emu.library_version()
    _run(env, "sync")
    assert env.snapshot() == before and env.emu.library_version() == version


def _delete_alignment(env: Env) -> str:
    _run(env, "pull")
    old = _collection(env, "Alignment")
    env.emu.delete_collection(old)
    assert not any(old in env.item_by_pid(p)["collections"] for p in ALIGNED)
    return old


def test_the_pull_after_a_deleted_collection_files_its_papers_back(new_env: NewEnv) -> None:
    env = new_env({"filing": LIST})
    old = _delete_alignment(env)
    out = _run(env, "pull")
    assert "section 'Alignment' was deleted; it is back, and its 2 papers filed" in out, out
    _assert_filed_back(env, old)


def test_a_sync_names_the_deleted_collection_and_the_next_pull_files_back(
    new_env: NewEnv,
) -> None:
    """A sync reads no list, so it cannot make the collection: it says so, changes nothing
    (the notes keep their section), and the pull after it files the papers back."""
    env = new_env({"filing": LIST})
    old = _delete_alignment(env)
    notes = {p: env.note_for(p).read_bytes() for p in ALIGNED}
    out = _run(env, "sync")
    assert "section 'Alignment' was deleted; the next `pllm-sync pull`" in out, out
    assert {p: env.note_for(p).read_bytes() for p in ALIGNED} == notes
    out = _run(env, "sync")  # said again while it lasts
    assert "section 'Alignment' was deleted" in out, out
    out = _run(env, "pull")
    assert "its 2 papers filed in it again" in out, out
    _assert_filed_back(env, old)


def test_a_list_renaming_its_title_deletes_no_collection(new_env: NewEnv) -> None:
    """A new H1 renames the list's root and so every section key of it; the collections are
    the same ones (their slug paths did not move), so nothing is taken for made again."""
    env = new_env({"filing": LIST})
    _run(env, "pull")
    keys = set(env.emu.get_collections())
    env.lists["filing"].write_text(LIST.replace("# Filing List", "# Filing List, Renamed"))
    out = _run(env, "pull")
    assert "was deleted" not in out and "filed in it again" not in out, out
    assert set(env.emu.get_collections()) == keys


def test_a_dry_run_names_the_deleted_collection(new_env: NewEnv) -> None:
    env = new_env({"filing": LIST})
    _delete_alignment(env)
    for command in ("sync", "pull"):
        _code, out, err = env.run(command, "--dry-run", "--no-progress")
        assert "section 'Alignment' was deleted" in out + err, (command, out, err)
    out = _run(env, "pull")  # the dry runs kept nothing: the pull still files them back
    assert "its 2 papers filed in it again" in out, out


def test_a_deleted_collection_excluded_then_listed_again_files_its_papers(
    new_env: NewEnv,
) -> None:
    """The warning's advice taken (``exclude``), then undone: the section comes back with
    its papers, not as an empty collection while the notes list it."""
    env = new_env({"filing": LIST})
    old = _delete_alignment(env)
    env.write_config(max_delete=10, max_delete_percent=100)  # its papers leave the catalog
    cfg = env.config.read_text(encoding="utf-8")
    env.config.write_text(
        cfg.replace("name: filing", "name: filing\n    exclude: [Alignment]"), encoding="utf-8"
    )
    out = _run(env, "pull")
    assert "was deleted" not in out, out  # nothing to make again: the list leaves it out
    for pid in ALIGNED:
        assert frontmatter(env.note_for(pid))["catalog"] == "removed"
    env.write_config()  # the exclude taken back
    _run(env, "pull")
    _assert_filed_back(env, old)


def test_a_second_device_syncing_after_the_first_filed_back_keeps_its_sections(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Device one's pull makes the deleted collection again and files the items back;
    device two then runs a plain sync (no list read). The items' new collection is in its
    change feed: it is the section made again, not the papers taken out of it (which once
    emptied device two's notes' sections for good)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = make_env(tmp_path / "one", zotero_emulator, capsys, monkeypatch, {"filing": LIST})
    two = make_env(tmp_path / "two", zotero_emulator, capsys, monkeypatch, {"filing": LIST})
    _run(one, "pull")
    _run(two, "pull")
    zotero_emulator.delete_collection(_collection(one, "Alignment"))
    _run(one, "pull")
    _run(two, "sync")
    for pid in ALIGNED:
        sections = frontmatter(two.note_for(pid))["sections"]
        assert any("Alignment" in str(s) for s in sections), (pid, sections)
    new = _collection(two, "Alignment")
    assert all(new in two.item_by_pid(p)["collections"] for p in ALIGNED)
    before, version = two.snapshot(), zotero_emulator.library_version()
    _run(two, "sync")
    _run(two, "pull")
    assert two.snapshot() == before and zotero_emulator.library_version() == version
