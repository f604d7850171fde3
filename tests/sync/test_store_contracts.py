"""One contract, two implementations: every test here runs against the in-memory double
(``pllm_sync.testing.memory_stores``) and against the real store (``VaultStore`` on a vault
in a tmp folder, ``ZoteroStore`` through pyzotero to the emulator), with the same
assertions. A double that drifts from its store fails here, so the fast engine rule tests
(``test_engine_rules.py``) keep meaning what they say about the real thing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import httpx2
import pytest

from pllm_sync.catalog.loader import load_catalog
from pllm_sync.config import CatalogConfig, SourceConfig, VaultConfig, ZoteroConfig
from pllm_sync.errors import VaultError, ZoteroError
from pllm_sync.model import Catalog, Paper
from pllm_sync.record import record_from_paper, section_key
from pllm_sync.sync.ports import VaultPort, ZoteroPort
from pllm_sync.testing.memory_stores import MemoryLibrary, MemoryVault, MemoryZotero
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.vault.body import ManagedContent
from pllm_sync.vault.store import VaultStore
from pllm_sync.zotero.mapping import item_pllm_id
from pllm_sync.zotero.store import ItemChange, NewItem, NoteUpsert, ZoteroStore

LIST = """# Contract List

## Alignment

+ **\\[2024 EMNLP\\]** Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001)) [[Code](https://github.com/x/one)]
+ **\\[2024 EMNLP\\]** Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))

## Retrieval

### Dense Methods

+ **\\[2024 EMNLP\\]** Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = tmp_path_factory.mktemp("list") / "contract.md"
    path.write_text(LIST, encoding="utf-8")
    src = SourceConfig(name="contract", path=path)
    return load_catalog(CatalogConfig(sources=(src,), offline=True))


def paper(catalog: Catalog, n: int) -> Paper:
    return catalog.papers[n]


def new_item(p: Paper, notes: str = "", collections: list[str] | None = None) -> NewItem:
    return NewItem(p, record_from_paper(p), collection_keys=collections or [], notes_md=notes)


# ------------------------------------------------------------------------------ Zotero


class Server(Protocol):
    """What a user does in Zotero: the emulator's direct API, which MemoryLibrary copies."""

    def library_version(self) -> int: ...

    def get_items(self, *, include_trashed: bool = True) -> dict[str, dict[str, Any]]: ...

    def edit_item(self, key: str, changes: dict[str, Any]) -> int: ...

    def create_item(self, data: dict[str, Any]) -> str: ...

    def trash_item(self, key: str) -> int: ...

    def delete_item(self, key: str) -> None: ...


@dataclass
class Z:
    port: ZoteroPort
    server: Server

    def item(self, pid: str) -> dict[str, Any]:
        (found,) = [d for d in self.server.get_items().values() if item_pllm_id(d) == pid]
        return found

    def children(self, key: str) -> list[dict[str, Any]]:
        return [d for d in self.server.get_items().values() if d.get("parentItem") == key]


@pytest.fixture(params=["memory", "real"])
def z(request: pytest.FixtureRequest) -> Iterator[Z]:
    if request.param == "memory":
        lib = MemoryLibrary()
        yield Z(MemoryZotero(lib), lib)
        return
    emu: ZoteroEmulator = request.getfixturevalue("zotero_emulator")
    client = httpx2.Client(trust_env=False, timeout=30)
    cfg = ZoteroConfig(library_id=str(emu.user_id), endpoint=emu.base_url)
    try:
        yield Z(ZoteroStore(cfg, emu.api_key, client=client, sleep=lambda _s: None), emu)
    finally:
        client.close()


@pytest.fixture(params=["memory", "real"])
def read_only(request: pytest.FixtureRequest) -> Iterator[ZoteroPort]:
    """A key that may read but not write."""
    if request.param == "memory":
        yield MemoryZotero(writable=False)
        return
    emu: ZoteroEmulator = request.getfixturevalue("zotero_emulator")
    client = httpx2.Client(trust_env=False, timeout=30)
    cfg = ZoteroConfig(library_id=str(emu.user_id), endpoint=emu.base_url)
    try:
        yield ZoteroStore(cfg, "READONLYKEY", client=client, sleep=lambda _s: None)
    finally:
        client.close()


def test_access_is_checked_before_anything_else(read_only: ZoteroPort) -> None:
    assert read_only.library_version is None, "nothing read yet"
    read_only.check_access(write=False)
    with pytest.raises(ZoteroError, match="write"):
        read_only.check_access(write=True)
    assert read_only.request_count >= 2


def test_create_papers_makes_an_item_with_its_children_once(z: Z, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    rep = z.port.create_papers([new_item(one, notes="My *notes*.")])
    assert rep.ok and rep.results[one.id].action == "created"
    w = rep.results[one.id]
    assert set(w.children) == {"code", "note"}
    kids = {c["itemType"]: c for c in z.children(w.key)}
    assert "My <em>notes</em>" in kids["note"]["note"]
    assert kids["attachment"]["url"] == "https://github.com/x/one"
    assert w.version == z.server.get_items()[w.key]["version"] > 0
    again = z.port.create_papers([new_item(one, notes="My *notes*.")])
    assert again.results[one.id].action == "existing" and again.results[one.id].key == w.key
    assert len(z.server.get_items()) == 3, "no second item, code link or note"


def test_create_papers_settles_each_paper_once_with_the_key_it_reports(
    z: Z, catalog: Catalog
) -> None:
    """``on_settled`` tells the engine each paper's outcome while the writes go on (its
    notes are written meanwhile): once per paper, with the key the report then holds."""
    one = paper(catalog, 0)
    z.port.create_papers([new_item(one, notes="n")])
    settled: list[tuple[str, str | None]] = []
    entries = [new_item(p, notes="n") for p in catalog.papers]
    rep = z.port.create_papers(entries, on_settled=lambda pid, key: settled.append((pid, key)))
    assert rep.ok and rep.results[one.id].action == "existing"
    assert sorted(settled) == sorted((p.id, rep.results[p.id].key) for p in catalog.papers)


def test_create_papers_adopts_a_matching_item_without_an_id(z: Z, catalog: Catalog) -> None:
    two = paper(catalog, 1)
    key = z.server.create_item(
        {
            "itemType": "journalArticle",
            "title": two.title,
            "url": "https://arxiv.org/abs/2401.00002",
        }
    )
    rep = z.port.create_papers([new_item(two)])
    assert rep.results[two.id].action == "adopted" and rep.results[two.id].key == key
    assert item_pllm_id(z.server.get_items()[key]) == two.id


def test_reads_see_every_change_since_a_version_and_nothing_else(z: Z, catalog: Catalog) -> None:
    rep = z.port.create_papers([new_item(p, notes="n") for p in catalog.papers])
    full = z.port.read(None)
    assert full.full and {item_pllm_id(d) for d in full.top_level().values()} == {
        p.id for p in catalog.papers
    }
    v = full.library_version
    assert z.port.unchanged_since(v)
    assert z.port.read(v).unchanged
    one = rep.results[catalog.papers[0].id]
    note_key = one.children["note"][0]
    z.server.edit_item(note_key, {"note": "<p>edited in Zotero</p>"})
    assert not z.port.unchanged_since(v)
    snap = z.port.read(v)
    assert set(snap.items) >= {note_key, one.key}, "a changed child comes with its parent"
    assert snap.library_version == z.server.library_version() > v
    v2 = snap.library_version
    z.server.edit_item(one.key, {"title": "Renamed in Zotero"})
    snap = z.port.read(v2)
    assert {one.key, note_key} <= set(snap.items), "a changed parent comes with its children"
    two = rep.results[catalog.papers[1].id]
    assert two.key not in snap.items


def test_trash_restore_and_delete_are_seen_by_since_reads(z: Z, catalog: Catalog) -> None:
    rep = z.port.create_papers([new_item(p, notes="n") for p in catalog.papers])
    one, two = (rep.results[p.id] for p in catalog.papers[:2])
    v = z.port.read(None).library_version
    trashed = z.port.trash([one.key, one.key])
    assert trashed.ok and trashed.results[one.key].action == "trashed"
    assert z.port.trash([one.key]).results[one.key].action == "unchanged"
    assert z.port.trash(["ZZZZZZZZ"]).failures[0].code == 404
    snap = z.port.read(v)
    assert snap.items[one.key].get("deleted")
    assert z.server.get_items()[one.key].get("deleted"), "trashed, never deleted"
    v = snap.library_version
    z.server.edit_item(one.key, {"deleted": 0})  # restored from Zotero's trash
    snap = z.port.read(v)
    assert not snap.items[one.key].get("deleted")
    v = snap.library_version
    note_key = two.children["note"][0]
    z.server.delete_item(two.key)  # the trash emptied: gone for good, children too
    snap = z.port.read(v)
    assert {two.key, note_key} <= snap.deleted_items
    assert two.key not in z.port.fetch_items([two.key, one.key])
    assert one.key in z.port.fetch_items([two.key, one.key])


def test_a_versioned_update_lands_and_the_version_rises(z: Z, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    w = z.port.create_papers([new_item(one)]).results[one.id]
    z.port.read(None)
    cur = z.server.get_items()[w.key]
    rep = z.port.update_items(
        [ItemChange(w.key, int(cur["version"]), {"title": "New title"}, base=cur)]
    )
    assert rep.ok
    after = z.server.get_items()[w.key]
    assert after["title"] == "New title"
    assert after["version"] > cur["version"] and rep.results[w.key].version == after["version"]
    assert z.port.library_version == z.server.library_version(), "its own write is seen"


def test_a_stale_update_of_a_field_the_user_changed_is_refused_412(z: Z, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    w = z.port.create_papers([new_item(one)]).results[one.id]
    z.port.read(None)
    base = z.server.get_items()[w.key]
    z.server.edit_item(w.key, {"title": "The user's title"})
    rep = z.port.update_items(
        [ItemChange(w.key, int(base["version"]), {"title": "Ours"}, base=base)]
    )
    assert [f.code for f in rep.failures] == [412]
    assert z.server.get_items()[w.key]["title"] == "The user's title", "never overwritten"
    assert z.port.library_version != z.server.library_version(), "the user's edit is unread"


def test_a_stale_update_of_an_untouched_field_still_lands(z: Z, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    w = z.port.create_papers([new_item(one)]).results[one.id]
    base = z.server.get_items()[w.key]
    z.server.edit_item(w.key, {"tags": [{"tag": "from-zotero"}]})
    rep = z.port.update_items(
        [ItemChange(w.key, int(base["version"]), {"title": "Ours"}, base=base)]
    )
    assert rep.ok
    after = z.server.get_items()[w.key]
    assert after["title"] == "Ours" and after["tags"] == [{"tag": "from-zotero"}]


def test_notes_children_are_created_updated_and_guarded(z: Z, catalog: Catalog) -> None:
    one, two = paper(catalog, 0), paper(catalog, 1)
    rep = z.port.create_papers([new_item(one, notes="first"), new_item(two)])
    w1, w2 = rep.results[one.id], rep.results[two.id]
    nkey, nver = w1.children["note"]
    assert "note" not in w2.children, "no empty notes child"
    up = z.port.upsert_notes(
        [NoteUpsert(w1.key, nkey, nver, "second"), NoteUpsert(w2.key, None, None, "new")]
    )
    assert up.ok and len(up.results) == 2
    assert "second" in z.server.get_items()[nkey]["note"]
    (made,) = [c for c in z.children(w2.key) if c["itemType"] == "note"]
    assert "new" in made["note"] and made["key"] in up.results
    assert up.results[made["key"]].ref == w2.key
    z.server.edit_item(nkey, {"note": "<p>the user's</p>"})
    stale = z.port.upsert_notes(
        [NoteUpsert(w1.key, nkey, up.results[nkey].version, "third", base_html="<p>x</p>")]
    )
    assert [f.code for f in stale.failures] == [412]
    assert "the user's" in z.server.get_items()[nkey]["note"]


def test_children_of_an_item_include_the_users_pdf(z: Z, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    w = z.port.create_papers([new_item(one, notes="n")]).results[one.id]
    pdf = z.server.create_item(
        {
            "itemType": "attachment",
            "parentItem": w.key,
            "linkMode": "linked_url",
            "title": "Full Text PDF",
            "url": "https://example.org/a.pdf",
        }
    )
    kids = {c["key"] for c in z.port.fetch_children(w.key)}
    assert kids == {pdf, w.children["note"][0], w.children["code"][0]}


def test_collections_are_made_once_and_map_back_to_sections(z: Z, catalog: Catalog) -> None:
    mapping = z.port.ensure_collections(catalog.taxonomies, {})
    paths = z.port.collection_paths(mapping)
    assert set(paths.values()) == {n.path for n in catalog.section_nodes()}
    v = z.server.library_version()
    assert z.port.ensure_collections(catalog.taxonomies, mapping) == mapping
    assert z.server.library_version() == v, "nothing written the second time"
    assert z.port.find_collections(catalog.taxonomies, {}) == mapping
    sec = {section_key(p): k for k, p in paths.items()}
    one = paper(catalog, 0)
    keys = [sec[section_key(s)] for s in one.sections]
    w = z.port.create_papers([new_item(one, collections=keys)]).results[one.id]
    assert z.server.get_items()[w.key]["collections"] == keys


# ------------------------------------------------------------------------------- vault


class Files(Protocol):
    """What a user does to the vault's files (Obsidian, Finder, a sync client)."""

    def write(self, rel: str, text: str) -> None: ...

    def read(self, rel: str) -> str: ...

    def delete(self, rel: str) -> None: ...

    def copy(self, src: str, dst: str) -> None: ...

    def paths(self, folder: str = "") -> list[str]: ...


@dataclass
class DiskFiles:
    root: Path

    def write(self, rel: str, text: str) -> None:
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.root / rel).write_text(text, encoding="utf-8")

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def delete(self, rel: str) -> None:
        (self.root / rel).unlink()

    def copy(self, src: str, dst: str) -> None:
        shutil.copyfile(self.root / src, self.root / dst)

    def paths(self, folder: str = "") -> list[str]:
        base = self.root / folder if folder else self.root
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())


@dataclass
class V:
    port: VaultPort
    files: Files


def _vault(kind: str, tmp_path: Path) -> V:
    cfg = VaultConfig(path=tmp_path / kind)
    if kind == "memory":
        mem = MemoryVault(cfg)
        mem.ensure(from_template=True)
        return V(mem, mem)
    real = VaultStore(cfg)
    real.ensure(from_template=True)
    return V(real, DiskFiles(cfg.path))


@pytest.fixture(params=["memory", "real"])
def v(request: pytest.FixtureRequest, tmp_path: Path) -> V:
    return _vault(request.param, tmp_path)


def _create(v: V, p: Paper, **rec: Any) -> str:
    return v.port.create_note(p, {**record_from_paper(p), **rec}, zotero_key="ABCD2345").path


def test_both_vaults_write_the_same_bytes(tmp_path: Path, catalog: Catalog) -> None:
    mem, real = _vault("memory", tmp_path), _vault("real", tmp_path)
    for side in (mem, real):
        for p in catalog.papers:
            _create(side, p, notes="Some notes.")
        rel = side.files.paths("Papers")[0]
        text = side.files.read(rel)
        side.files.write(
            rel, text.replace("<!-- pllm-sync:end -->", "typed inside\n<!-- pllm-sync:end -->")
        )
        note = side.port.scan().notes[catalog.papers[0].id]
        side.port.update_note(
            note,
            {"status": "read", "tags": frozenset({"x"}), "notes": "Other notes."},
            managed=ManagedContent(abstract="An abstract.", links=[], provenance=[]),
            conflict_flag=True,
        )
        side.port.write_index_notes(catalog.taxonomies, {("Contract List", "Alignment"): ["A"]})
    assert mem.files.paths() == real.files.paths()
    for rel in real.files.paths():
        assert mem.files.read(rel) == real.files.read(rel), rel


def test_a_scan_finds_notes_copies_hand_added_and_unreadable(v: V, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    rel = _create(v, one)
    v.files.copy(rel, rel.replace(".md", " 1.md"))
    v.files.write("Papers/Mine.md", "---\ntitle: Mine\narxiv: '2402.00009'\n---\nhello\n")
    v.files.write("Papers/Broken.md", "---\ntitle: [unclosed\n---\n")
    v.files.write(".hidden/Skip.md", v.files.read(rel))
    scan = v.port.scan()
    copy = rel.replace(".md", " 1.md")
    assert scan.duplicates[one.id] == sorted([rel, copy]), "both listed, in path order"
    assert scan.notes[one.id].path == copy, "the first by path (the engine picks by state)"
    assert scan.notes[one.id].record["title"] == one.title
    assert [n.path for n in scan.new_notes] == ["Papers/Mine.md"]
    assert [p.path for p in scan.problems] == ["Papers/Broken.md"]
    assert v.port.papers_present() and v.port.has_file("Papers/Broken.md")
    assert not v.port.has_file("Papers/Nothing.md")


def test_the_settled_check_sees_any_file_added_removed_or_rewritten(v: V, catalog: Catalog) -> None:
    """``unchanged_since`` (a settled sync's whole look at the vault) holds exactly when a
    scan would hand back its cached readings unread."""
    rel = _create(v, paper(catalog, 0))
    _create(v, paper(catalog, 1))
    v.files.write(".hidden/Skip.md", "not walked\n")

    def cached() -> dict[str, tuple[int, int, int]]:
        return {r: (s.size, s.mtime_ns, s.ctime_ns) for r, s in v.port.scan().stats.items()}

    stats = cached()
    assert v.port.unchanged_since(stats)
    v.files.write(rel, v.files.read(rel) + "Typed.\n")
    assert not v.port.unchanged_since(stats), "a rewritten note"
    stats = cached()
    assert v.port.unchanged_since(stats)
    v.files.write("Inbox.md", "a note of mine\n")
    assert not v.port.unchanged_since(stats), "an added file"
    v.files.delete("Inbox.md")
    assert v.port.unchanged_since(stats)
    v.files.delete(rel)
    assert not v.port.unchanged_since(stats), "a removed note"


def test_an_update_refuses_a_note_edited_since_the_scan(v: V, catalog: Catalog) -> None:
    rel = _create(v, paper(catalog, 0))
    note = v.port.scan().notes[paper(catalog, 0).id]
    assert v.port.update_note(note, {}) is None, "nothing to change: nothing written"
    v.files.write(rel, v.files.read(rel) + "\nTyped after the scan.\n")
    with pytest.raises(VaultError, match="changed on disk"):
        v.port.update_note(note, {"status": "read"})
    assert "Typed after the scan." in v.files.read(rel)
    fresh = v.port.read_note(rel)
    changed = v.port.update_note(fresh, {"status": "read"})
    assert changed is not None and changed.record["status"] == "read"
    assert "Typed after the scan." in v.files.read(rel)


def test_trash_and_restore_keep_the_users_text(v: V, catalog: Catalog) -> None:
    one = paper(catalog, 0)
    rel = _create(v, one)
    v.files.write(rel, v.files.read(rel) + "\nMine.\n")
    note = v.port.scan().notes[one.id]
    gone = v.port.trash_note(note)
    assert gone.startswith(".pllm-sync-trash/") and rel not in v.files.paths()
    assert one.id not in v.port.scan().notes, "the trash is not scanned"
    with pytest.raises(VaultError):
        v.port.trash_note(note)
    assert v.port.restore_trashed("arxiv:9999.99999", None) is None
    back = v.port.restore_trashed(one.id, rel)
    assert back is not None and back.path == rel and back.pllm_id == one.id
    assert "Mine." in v.files.read(rel)


def test_a_batch_is_seen_only_once_committed(v: V, catalog: Catalog) -> None:
    v.port.begin_batch()
    info = v.port.create_note(paper(catalog, 0), record_from_paper(paper(catalog, 0)))
    assert info.path not in v.files.paths()
    assert v.port.commit_batch() == [] and info.path in v.files.paths()
    v.port.begin_batch()
    dropped = v.port.create_note(paper(catalog, 1), record_from_paper(paper(catalog, 1)))
    v.port.discard_batch()
    assert dropped.path not in v.files.paths()


def test_a_staged_update_never_overwrites_a_save_made_during_the_run(
    v: V, catalog: Catalog
) -> None:
    one, two = paper(catalog, 0), paper(catalog, 1)
    rel1, rel2 = _create(v, one), _create(v, two)
    scan = v.port.scan()
    v.port.begin_batch()
    for pid in (one.id, two.id):
        assert v.port.update_note(scan.notes[pid], {"status": "read"}) is not None
    assert "status: read" not in v.files.read(rel1), "not visible before the commit"
    v.files.write(rel1, v.files.read(rel1) + "\nSaved during the run.\n")
    assert v.port.commit_batch() == [rel1], "the update of the saved note is refused"
    assert "Saved during the run." in v.files.read(rel1)
    assert "status: read" not in v.files.read(rel1)
    assert "status: read" in v.files.read(rel2)


def test_a_name_taken_meanwhile_keeps_the_users_file(v: V, catalog: Catalog) -> None:
    one, two = paper(catalog, 0), paper(catalog, 1)
    v.port.begin_batch()
    staged = v.port.create_note(one, record_from_paper(one))
    v.files.write(staged.path, "the user's own note\n")  # saved while the batch was open
    v.port.commit_batch()
    assert v.files.read(staged.path) == "the user's own note\n"
    assert v.port.scan().notes[one.id].path == staged.path.replace(".md", " (2).md")
    rel = _create(v, two)
    note = v.port.scan().notes[two.id]
    v.port.trash_note(note)
    v.files.write(rel, "a new note of the user's under that name\n")
    back = v.port.restore_trashed(two.id, rel)
    assert back is not None and back.path == rel.replace(".md", " (2).md")
    assert v.files.read(rel) == "a new note of the user's under that name\n"


def test_index_notes_are_rewritten_only_when_they_change(v: V, catalog: Catalog) -> None:
    members: dict[tuple[str, ...], list[str]] = {
        ("Contract List", "Alignment"): ["Paper One - A Study"]
    }
    assert v.port.write_index_notes(catalog.taxonomies, members) > 0
    assert v.port.write_index_notes(catalog.taxonomies, members) == 0
    text = v.files.read("Sections/Contract List/Alignment.md")
    assert "[[Paper One - A Study]]" in text
    v.files.write("Sections/Contract List/Alignment.md", text + "\nMy section notes.\n")
    assert v.port.write_index_notes(catalog.taxonomies, {}) > 0
    assert "My section notes." in v.files.read("Sections/Contract List/Alignment.md")


def test_the_memory_vault_config_is_the_real_ones(tmp_path: Path) -> None:
    cfg = replace(VaultConfig(path=tmp_path), papers_folder="Lit")
    assert MemoryVault(cfg).papers_dir == VaultStore(cfg).papers_dir == tmp_path / "Lit"
