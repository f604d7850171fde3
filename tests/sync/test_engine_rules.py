"""The trust rules of issue 8, through ``SyncEngine`` on the in-memory doubles.

Each test is a user's story told in a few runs: the engine is the real one, the vault and
Zotero are ``MemoryVault`` and ``MemoryZotero`` (kept honest by ``test_store_contracts.py``),
and every assertion is something the user would see in a note or in Zotero. They run in
milliseconds; the same stories through the CLI, a real vault and the emulator stay in
``tests/e2e/test_trust.py`` and ``test_trust_stores.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.config import (
    CatalogConfig,
    Config,
    SourceConfig,
    SyncConfig,
    VaultConfig,
    ZoteroConfig,
)
from pllm_sync.errors import SafetyAbort
from pllm_sync.sync.engine import RunOptions, RunResult, SyncEngine
from pllm_sync.sync.state import LibraryRef, StateDB
from pllm_sync.testing.memory_stores import MemoryLibrary, MemoryVault, MemoryZotero
from pllm_sync.zotero.mapping import item_pllm_id, item_to_record
from pllm_sync.zotero.store import ItemChange, WriteReport

LIST = """# Trust List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))

## Retrieval

### Dense/Sparse Methods

+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
"""
A, B, C = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"
END = "<!-- pllm-sync:end -->"


@dataclass
class World:
    """One user's setup: a list file, the state database, a vault and a Zotero library."""

    tmp: Path
    lib: MemoryLibrary = field(default_factory=MemoryLibrary)
    vault: MemoryVault = field(default_factory=MemoryVault)
    library_id: str = "1"
    policy: SyncConfig = field(default_factory=lambda: SyncConfig(max_delete_percent=100))
    on_zotero: Callable[[MemoryZotero], None] | None = None

    def __post_init__(self) -> None:
        self.list = self.tmp / "trust.md"
        self.list.write_text(LIST, encoding="utf-8")
        self.state = StateDB.open(self.tmp / "state.sqlite")
        self.vault.ensure(from_template=False)  # the folders; the template adds no rule

    @property
    def config(self) -> Config:
        src = SourceConfig(name="trust", path=self.list)
        return Config(
            catalog=CatalogConfig(sources=(src,), offline=True),
            zotero=ZoteroConfig(library_id=self.library_id, endpoint="memory://zotero"),
            vault=VaultConfig(path=Path("/memory-vault")),
            sync=self.policy,
        )

    def run(self, *, pull: bool = False, dry_run: bool = False, daemon: bool = False) -> RunResult:
        """One CLI run: new stores over the same vault files and library, as `pllm-sync
        sync` (or `pull`) opens them."""
        self.vault = self.vault.reopen()
        zotero = MemoryZotero(self.lib)
        if self.on_zotero is not None:
            self.on_zotero(zotero)
        ref = LibraryRef.from_config(self.config.zotero)
        self.state.bind_library(ref)
        engine = SyncEngine(self.config, self.state, self.vault, zotero, library_ref=ref)
        opts = RunOptions(pull_catalog=pull, dry_run=dry_run, show_progress=False)
        if daemon:  # a watch pass: its deletion grace is over for every note
            opts = replace(opts, hold_vanished=lambda _path: False)
        return engine.run(opts)

    def sync(self) -> RunResult:
        result = self.run()
        assert not result.errors, result.errors
        return result

    # --- what the user sees --------------------------------------------------------------

    def note(self, pid: str) -> str:
        return self.vault.note_of(pid)

    def fm(self, pid: str) -> dict[str, Any]:
        data = yaml.safe_load(self.vault.read(self.note(pid)).split("---", 2)[1])
        assert isinstance(data, dict)
        return data

    def user_text(self, pid: str) -> str:
        return self.vault.read(self.note(pid)).split(END, 1)[1]

    def item(self, pid: str) -> dict[str, Any]:
        (found,) = [d for d in self.lib.get_items().values() if item_pllm_id(d) == pid]
        return found

    def zrecord(self, pid: str) -> dict[str, Any]:
        return dict(item_to_record(self.item(pid), [], {}))

    def items(self) -> list[dict[str, Any]]:
        return [d for d in self.lib.get_items().values() if not d.get("parentItem")]

    # --- what the user does --------------------------------------------------------------

    def edit_note(self, pid: str, **props: Any) -> None:
        """Change some properties in Obsidian (the rest of the note stays as it is)."""
        rel = self.note(pid)
        _, block, body = self.vault.read(rel).split("---", 2)
        data = yaml.safe_load(block)
        data.update(props)
        text = "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---"
        self.vault.write(rel, text + body)

    def append(self, pid: str, text: str) -> None:
        rel = self.note(pid)
        self.vault.write(rel, self.vault.read(rel) + text)

    def tag_in_zotero(self, pid: str, tag: str) -> None:
        item = self.item(pid)
        self.lib.edit_item(item["key"], {"tags": [*item["tags"], {"tag": tag}]})


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    result = w.run(pull=True)
    assert not result.errors and result.applied["zotero.created"] == 3
    return w


def trashes(result: RunResult) -> list[str]:
    return [f"{a.side}:{a.pid}" for a in result.plan.actions if a.kind == "trash"]


# --- the tool's own writes --------------------------------------------------------------


def test_a_sync_after_a_sync_changes_nothing(world: World) -> None:
    files = dict(world.vault.files)
    version = world.lib.version
    result = world.sync()
    assert result.plan.empty, result.plan.render()
    assert world.vault.files == files and world.lib.version == version


def test_the_tools_own_zotero_write_is_not_taken_for_an_edit_made_during_the_run(
    world: World,
) -> None:
    """Item 9: the user edits the note while the sync writes that paper to Zotero."""
    world.tag_in_zotero(A, "from-zotero")
    world.edit_note(A, status="read")

    def user_types_during_the_write(z: MemoryZotero) -> None:
        write = z.update_items

        def and_then(changes: Any) -> WriteReport:
            report = write(changes)
            world.edit_note(A, status="reading")
            return report

        z.update_items = and_then  # type: ignore[method-assign]

    world.on_zotero = user_types_during_the_write
    world.run()
    world.on_zotero = None
    world.sync()
    assert world.fm(A)["status"] == "reading", "the user's newest edit was reverted"
    assert "from-zotero" in world.fm(A)["tags"]
    assert world.zrecord(A)["status"] == "reading"
    assert world.state.list_conflicts(open_only=True) == [], "a spurious conflict"


# --- item 1: copies keep identity by the path the state knows ----------------------------


@pytest.mark.parametrize("copy_name", ["Synthetic Paper One - A Study 1.md", "One.md"])
def test_a_copy_that_sorts_first_never_takes_the_identity(world: World, copy_name: str) -> None:
    """The copy sorts before the original; the second one is also shorter and has no copy
    suffix (made, then renamed): only the path the state knows tells them apart."""
    original = world.note(A)
    copy = "Papers/" + copy_name
    world.vault.copy(original, copy)
    world.sync()
    world.tag_in_zotero(A, "zotero-added")
    world.sync()
    assert "zotero-added" in yaml.safe_load(world.vault.read(original).split("---")[1])["tags"]
    assert "zotero-added" not in world.vault.read(copy), "a copy is left alone"
    world.vault.delete(copy)  # the user tidies up
    world.sync()
    assert not world.item(A).get("deleted"), "deleting a copy trashed the item"
    assert "zotero-added" in {t["tag"] for t in world.item(A)["tags"]}


# --- item 2: absent for one run, then back ------------------------------------------------


def test_a_note_absent_for_one_run_restores_its_item_when_back(world: World) -> None:
    rel = world.note(A)
    away = "Elsewhere/away.txt"  # out of the vault's notes, as a move out would
    world.vault.move(rel, away)
    world.sync()
    assert world.item(A).get("deleted"), "a deleted note trashes its item (recoverably)"
    world.vault.move(away, rel)
    world.sync()
    assert not world.item(A).get("deleted"), "the note came back but its item stayed trashed"
    world.edit_note(A, status="read")
    world.sync()
    assert world.zrecord(A)["status"] == "read", "later edits sync again"


def test_an_item_restored_from_zotero_trash_brings_its_note_back(world: World) -> None:
    world.edit_note(A, **{"my-own-property": "only in the vault"})
    world.append(A, "\nMy own words.\n")
    world.sync()
    rel = world.note(A)
    key = world.item(A)["key"]
    world.lib.trash_item(key)
    world.sync()
    assert world.vault.notes_of(A) == [], "the note went to the vault's trash"
    world.lib.edit_item(key, {"deleted": 0})
    world.sync()
    assert world.note(A) == rel, "back where it was"
    assert "My own words." in world.user_text(A), "with the user's text"
    assert world.fm(A)["my-own-property"] == "only in the vault", "the note itself came back"
    assert world.vault.in_trash() == []


# --- item 11: modify beats delete, children included --------------------------------------


@pytest.mark.parametrize("child", ["attachment", "note"])
def test_deleting_a_note_keeps_an_item_the_user_gave_a_child(world: World, child: str) -> None:
    key = world.item(A)["key"]
    if child == "attachment":
        world.lib.create_item(
            {
                "itemType": "attachment",
                "parentItem": key,
                "linkMode": "imported_file",
                "title": "Full Text PDF",
                "contentType": "application/pdf",
                "filename": "paper.pdf",
            }
        )
    else:
        world.lib.create_item({"itemType": "note", "parentItem": key, "note": "<p>mine</p>"})
    world.sync()
    world.vault.delete(world.note(A))
    world.vault.delete(world.note(B))
    world.sync()
    assert not world.item(A).get("deleted"), "an item with the user's new child was trashed"
    assert world.vault.notes_of(A), "its note is written again"
    assert world.item(B).get("deleted"), "an untouched item still follows its note"


def test_deleting_a_note_keeps_an_item_edited_in_zotero(world: World) -> None:
    world.tag_in_zotero(A, "keep-me")
    world.vault.delete(world.note(A))
    world.sync()
    assert not world.item(A).get("deleted")
    assert "keep-me" in world.fm(A)["tags"]


# --- item 5: identity follows a catalog id change -----------------------------------------

FOUR_PLAIN = "+ **\\[2024 EMNLP\\]** Synthetic Paper Four: Without A Link.\n"
FOUR_LINKED = (
    "+ **\\[2024 EMNLP\\]** Synthetic Paper Four: Without A Link. "
    "([Paper](https://arxiv.org/abs/2401.00004))\n"
)


def test_an_id_change_keeps_the_item_and_the_note(world: World) -> None:
    world.list.write_text(LIST + FOUR_PLAIN, encoding="utf-8")
    world.run(pull=True)
    (old,) = [item_pllm_id(d) for d in world.items() if str(item_pllm_id(d)).startswith("title:")]
    assert old is not None
    rel, key = world.note(old), world.item(old)["key"]
    world.edit_note(old, status="read")
    world.append(old, "\nMy notes on paper four.\n")
    world.tag_in_zotero(old, "zotero-added")
    world.sync()
    world.list.write_text(LIST + FOUR_LINKED, encoding="utf-8")  # the list adds the link
    result = world.run(pull=True)
    assert not result.errors
    new = "arxiv:2401.00004"
    assert world.item(new)["key"] == key, "the same item carries the paper on"
    assert world.note(new) == rel, "the same note carries the paper on"
    fm = world.fm(new)
    assert fm["status"] == "read" and "zotero-added" in fm["tags"] and fm["arxiv"] == "2401.00004"
    assert "My notes on paper four." in world.user_text(new)
    assert len(world.items()) == 4 and not [d for d in world.items() if d.get("deleted")]


# --- item 10: text typed inside the managed region ----------------------------------------


def test_text_typed_in_the_managed_region_survives_its_next_update(world: World) -> None:
    rel = world.note(A)
    world.vault.write(rel, world.vault.read(rel).replace(END, "Typed in the region.\n" + END))
    world.list.write_text(  # an unrelated update: the list adds a code link to the paper
        LIST.replace(
            "(https://arxiv.org/abs/2401.00001))",
            "(https://arxiv.org/abs/2401.00001)) [[Code](https://github.com/x/one)]",
        ),
        encoding="utf-8",
    )
    world.run(pull=True)
    text = world.vault.read(rel)
    assert "github.com/x/one" in text.split(END)[0], "the region was updated"
    assert "Typed in the region." in world.user_text(A), "kept, moved below the region"


# --- item 8: switching the library ---------------------------------------------------------


def test_switching_the_library_plans_no_trash_and_fills_the_new_one(world: World) -> None:
    old_lib, old_items = world.lib, world.lib.get_items()
    notes = {pid: world.note(pid) for pid in (A, B, C)}
    world.lib, world.library_id = MemoryLibrary(), "2"
    dry = world.run(dry_run=True)
    assert trashes(dry) == [], "a switched library plans to trash"
    world.sync()
    assert {item_pllm_id(d) for d in world.items()} == {A, B, C}
    assert {pid: world.note(pid) for pid in (A, B, C)} == notes, "notes stay"
    assert old_lib.get_items() == old_items, "the first library is left alone"


# --- the mass-delete guard ------------------------------------------------------------------


def test_the_mass_delete_guard_stops_before_any_change(tmp_path: Path) -> None:
    w = World(tmp_path, policy=SyncConfig())  # the defaults: 25 papers or 20 %
    w.run(pull=True)
    w.vault.delete(w.note(A))
    w.vault.delete(w.note(B))
    files, version = dict(w.vault.files), w.lib.version
    with pytest.raises(SafetyAbort, match="would move 2 of 3 papers to the trash"):
        w.run()
    assert w.lib.version == version and not [d for d in w.items() if d.get("deleted")]
    assert w.vault.files == files, "nothing was changed"
    w.policy = replace(w.policy, max_delete_percent=100)  # the user confirms: raises the limit
    w.run()
    assert w.item(A).get("deleted") and w.item(B).get("deleted")


def test_the_guard_in_a_daemon_pass_advises_what_works_while_the_daemon_runs(
    tmp_path: Path,
) -> None:
    """Found by the daemon helper: a pass stopped by the guard advised `pllm-sync sync
    --dry-run`, which the daemon's run lock refuses while it runs."""
    w = World(tmp_path, policy=SyncConfig())
    w.run(pull=True)
    w.vault.delete(w.note(A))
    w.vault.delete(w.note(B))
    with pytest.raises(SafetyAbort) as stopped:
        w.run(daemon=True)
    hint = stopped.value.hint or ""
    assert '/v1/sync with {"dry_run": true}' in hint and "stop it" in hint, hint
    assert "sync --dry-run" not in hint
    with pytest.raises(SafetyAbort) as stopped:
        w.run()
    assert "`pllm-sync sync --dry-run`" in (stopped.value.hint or "")


def test_a_dry_run_lists_what_the_mass_delete_guard_counted(tmp_path: Path) -> None:
    """Found by the Zotero helper: the guard's advice is to list the deletions with a dry
    run, but the dry run stopped at the guard too, listing nothing."""
    w = World(tmp_path, policy=SyncConfig())
    w.run(pull=True)
    w.vault.delete(w.note(A))
    w.vault.delete(w.note(B))
    files, version = dict(w.vault.files), w.lib.version
    res = w.run(dry_run=True)
    assert res.guard is not None and "would move 2 of 3 papers" in res.guard.message
    assert sorted(a.pid for a in res.plan.actions if a.kind == "trash") == sorted([A, B])
    assert w.vault.files == files and w.lib.version == version, "a dry run changes nothing"


# --- item 7: the vault goes away ------------------------------------------------------------


def test_a_vault_that_went_away_is_not_taken_for_deleted_notes(world: World) -> None:
    files, version = dict(world.vault.files), world.lib.version
    world.vault.present = False  # an unmounted drive
    with pytest.raises(SafetyAbort, match=r"the vault at .* is missing"):
        world.run()
    assert world.lib.version == version and not [d for d in world.items() if d.get("deleted")]
    assert world.vault.files == files and not world.vault.present, "nothing recreated"
    world.vault.present = True
    world.sync()
    assert not [d for d in world.items() if d.get("deleted")]


# --- a stale write (another device edits during the run) ------------------------------------


def test_a_zotero_edit_racing_the_write_is_merged_next_run_not_overwritten(
    world: World,
) -> None:
    """Zotero's 412: the item changed on another device between the read and the write."""
    world.edit_note(A, tags=["from-vault"])

    def another_device_edits_first(z: MemoryZotero) -> None:
        write = z.update_items

        def racing(changes: Any) -> WriteReport:
            items: list[ItemChange] = list(changes)
            if any(c.key == world.item(A)["key"] for c in items):
                world.tag_in_zotero(A, "from-another-device")
            return write(items)

        z.update_items = racing  # type: ignore[method-assign]

    world.on_zotero = another_device_edits_first
    world.run()
    world.on_zotero = None
    world.sync()
    assert {t["tag"] for t in world.item(A)["tags"]} >= {"from-vault", "from-another-device"}
    assert set(world.fm(A)["tags"]) >= {"from-vault", "from-another-device"}
