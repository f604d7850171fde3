"""The SQLite state: records round-trip exactly, migrations keep data, transactions are atomic,
conflicts have a lifecycle, and the lock keeps two runs apart."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pllm_sync.config import default_config
from pllm_sync.errors import SafetyAbort
from pllm_sync.record import Record
from pllm_sync.sync.state import (
    LARGE_CACHE_KIB,
    SCHEMA_VERSION,
    LibraryRef,
    PaperState,
    ScanEntry,
    SourceMeta,
    StateDB,
    StateError,
    decode_record,
    decode_value,
    default_state_path,
    encode_record,
    encode_value,
    vault_state_name,
)

RECORD: Record = {
    "title": "LaMP: When Large Language Models Meet Personalization",
    "authors": ("Alireza Salemi", "Hamed Zamani"),
    "tags": frozenset({"benchmark", "to-read"}),
    "sections": frozenset(),
    "year": 2024,
    "rating": None,
    "notes": "línea 1\n\n- ünïcode",
}
LIB = LibraryRef("user", "123", "http://127.0.0.1:9999")


@pytest.fixture
def db(tmp_path: Path) -> Any:
    with StateDB.open(tmp_path / "state.sqlite3") as d:
        yield d


# --- encoding -------------------------------------------------------------------------------


def test_records_round_trip_with_canonical_types() -> None:
    back = decode_record(encode_record(RECORD))
    assert back == RECORD
    assert isinstance(back["tags"], frozenset) and isinstance(back["authors"], tuple)
    assert back["rating"] is None


def test_encoding_is_deterministic_whatever_the_set_order() -> None:
    a = {"tags": frozenset(["b", "a", "c"]), "title": "x"}
    b = {"title": "x", "tags": frozenset(["c", "a", "b"])}
    assert encode_record(a) == encode_record(b)


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.frozensets(st.text(max_size=3) | st.integers(), max_size=4)
        | st.tuples(inner, inner)
        | st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6))
def test_any_record_value_round_trips(rec: Record) -> None:
    assert decode_record(encode_record(rec)) == rec
    for v in rec.values():
        assert decode_value(encode_value(v)) == v


def test_unstorable_values_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot store"):
        encode_record({"x": object()})


# --- papers and the rest --------------------------------------------------------------------


def test_paper_state_round_trips(db: StateDB) -> None:
    p = PaperState(
        "arxiv:2304.11406",
        base=RECORD,
        catalog_base={"title": "LaMP", "sections": frozenset({"A / B"})},
        zotero_key="ABCD2345",
        zotero_version=17,
        zotero_note_key="NOTE2345",
        zotero_note_version=18,
        note_path="Papers/LaMP.md",
        note_size=1234,
        note_mtime_ns=1_700_000_000_123_456_789,
        note_sha256="0" * 64,
        tombstone=True,
    )
    db.put_paper(p)
    got = db.get_paper("arxiv:2304.11406")
    assert got == p and got is not None and got.updated_at is not None
    assert db.all_papers() == {p.pllm_id: p}
    db.delete_paper(p.pllm_id)
    assert db.get_paper(p.pllm_id) is None and db.all_papers() == {}


def test_papers_put_together_round_trip_and_unchanged_rows_are_not_written(
    db: StateDB,
) -> None:
    """``put_papers`` (a pull's commit) stores what ``put_paper`` does; a Zotero record equal
    to the base but not of the same types is still stored as itself."""
    papers = [
        PaperState(
            f"arxiv:{i}",
            base=dict(RECORD, year=2024),
            catalog_base={"title": RECORD["title"], "year": 2024},
            zotero_record=dict(RECORD, year=2024) if i % 2 else dict(RECORD, year=2024.0),
            note_path=f"Papers/{i}.md",
        )
        for i in range(5)
    ]
    db.put_papers(papers)
    assert all(p.updated_at is not None for p in papers)
    got = db.all_papers()
    assert got == {p.pllm_id: p for p in papers}
    assert [type(got[p.pllm_id].zotero_record["year"]) for p in papers] == [  # type: ignore[index]
        float,
        int,
        float,
        int,
        float,
    ]
    before = db.changes()
    db.put_papers(list(got.values()))  # as read: nothing to write
    assert db.changes() == before
    got["arxiv:3"].note_path = "Papers/moved.md"
    db.put_papers(list(got.values()))
    assert db.changes()[0] == before[0] + 1  # the one row that moved
    moved = db.get_paper("arxiv:3")
    assert moved is not None and moved.note_path == "Papers/moved.md"


FIELD_VALUES = st.sampled_from(  # few values, so that records share them and look-alikes
    [
        *(None, 0, 1, False, True, 0.0, -0.0, "", "a", (), ("a",), (0,), (False,)),
        *(frozenset(), frozenset({"a"}), frozenset({1}), frozenset({True})),
        *([0], [False], {"a": 1}, {"a": True}),
    ]
) | st.text(max_size=2)
SOME_RECORDS = st.dictionaries(st.sampled_from("abcdef"), FIELD_VALUES, max_size=6)


@given(SOME_RECORDS, SOME_RECORDS, st.sets(st.sampled_from("abcdef")))
@example(  # equal to the base's values, but stored differently
    {"a": 1, "b": 0.0, "c": (0,), "d": frozenset({1}), "e": [0], "f": {"a": 1}},
    {"a": True, "b": -0.0, "c": (False,), "d": frozenset({True}), "e": [False], "f": {"a": True}},
    set(),
)
@example({"a": 1, "b": ("a",), "c": None}, {"a": 1, "b": ("a",)}, set())  # equal, one dropped
def test_records_stored_against_their_base_read_back_exactly(
    base: Record, other: Record, keep: set[str]
) -> None:
    """Catalog and Zotero records are stored as their differences from the row's base:
    they read back equal, value for value of the same type (``True`` is not ``1``,
    ``-0.0`` is not ``0.0``), whatever they share with the base."""
    record = {k: v for k, v in base.items() if k in keep} | {
        k: v for k, v in other.items() if k not in keep
    }
    with StateDB.open(":memory:") as db:
        db.put_paper(PaperState("p", base=base, catalog_base=record, zotero_record=base))
        db.put_paper(PaperState("q", base=record, catalog_base=base, zotero_record=record))
        got = db.all_papers()
    assert (got["p"].base, got["p"].catalog_base, got["p"].zotero_record) == (base, record, base)
    assert (got["q"].base, got["q"].catalog_base, got["q"].zotero_record) == (record, base, record)
    for read, written in ((got["p"].catalog_base, record), (got["q"].catalog_base, base)):
        assert read is not None and list(read) == sorted(written)  # as a full record reads
        assert encode_record(read) == encode_record(written)  # the same types


def test_a_version_5_database_is_rewritten_in_the_compact_form(tmp_path: Path) -> None:
    """Schema 6 stores each paper's catalog and Zotero records against its base: an older
    database is rewritten on opening, reads the same, and a sync that changes nothing
    afterwards writes nothing."""
    path = tmp_path / "v5.sqlite3"
    catalog = {k: v for k, v in RECORD.items() if k not in ("tags", "rating", "notes")}
    edited = dict(RECORD, title="Edited in Zotero")
    with StateDB.open(path) as db:  # rows as version 5 wrote them: every record in full
        db._conn.execute("PRAGMA user_version = 5")
        for pid, zotero in (("a", RECORD), ("b", edited), ("c", None)):
            db._conn.execute(
                "INSERT INTO papers (pllm_id, base, catalog_base, zotero_record, tombstone) "
                "VALUES (?, ?, ?, ?, 0)",
                (pid, encode_record(RECORD), encode_record(catalog), _enc(zotero)),
            )
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 6
        stored = db._conn.execute(
            "SELECT catalog_base, zotero_record FROM papers ORDER BY pllm_id"
        ).fetchall()
        assert stored[0][1] == "=" and stored[2][1] is None
        assert all(len(c) < 50 for c, _ in stored)  # the keys it lacks, not a copy
        papers = db.all_papers()
        assert [p.zotero_record for p in papers.values()] == [RECORD, edited, None]
        assert all(p.base == RECORD and p.catalog_base == catalog for p in papers.values())
        before = db.changes()
        db.put_papers(papers.values())
        assert db.changes() == before


def _enc(record: Record | None) -> str | None:
    return None if record is None else encode_record(record)


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path) as db:
        db.put_paper(PaperState("doi:10.1/x", base=RECORD))
        db.set_library_version(LIB, 42)
    with StateDB.open(path) as db:
        paper = db.get_paper("doi:10.1/x")
        assert paper is not None and paper.base == RECORD
        assert db.get_library_version(LIB) == 42
        assert db.schema_version == SCHEMA_VERSION


def test_wal_mode(db: StateDB) -> None:
    assert db._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_library_versions_and_collections_are_per_library(db: StateDB) -> None:
    other = LibraryRef("group", "123", "http://127.0.0.1:9999")
    assert db.get_library_version(LIB) is None
    db.set_library_version(LIB, 5)
    db.set_library_version(LIB, 9)
    assert db.get_library_version(LIB) == 9 and db.get_library_version(other) is None
    db.set_collection_keys(LIB, {"A": "COLLAAAA", "A / B": "COLLBBBB"}, {"A": 3})
    assert db.get_collection_keys(LIB) == {"A": "COLLAAAA", "A / B": "COLLBBBB"}
    assert db.get_collections(LIB)["A"].version == 3
    assert db.get_collection_keys(other) == {}
    db.set_collection_keys(LIB, {"C": "COLLCCCC"})  # replaces the whole map
    assert db.get_collection_keys(LIB) == {"C": "COLLCCCC"}


def test_library_ref_from_config() -> None:
    cfg = default_config().zotero
    assert LibraryRef.from_config(cfg).endpoint == "https://api.zotero.org"


def test_source_meta(db: StateDB) -> None:
    assert db.get_source_meta("jiahongliu21") is None
    meta = SourceMeta(
        "jiahongliu21",
        etag='W/"abc"',
        last_modified="Mon, 06 Jan 2025 10:00:00 GMT",
        sha256="f" * 64,
        fetched_at="2025-01-06T10:00:01+00:00",
    )
    db.set_source_meta(meta)
    assert db.get_source_meta("jiahongliu21") == meta


def test_scan_cache(db: StateDB) -> None:
    e1 = ScanEntry("Papers/a.md", 10, 123, "a" * 64, "arxiv:1", RECORD)
    e2 = ScanEntry("Papers/b.md", 11, 124, "b" * 64)
    db.put_scan_cache(e1, e2)
    assert db.get_scan_cache() == {"Papers/a.md": e1, "Papers/b.md": e2}
    assert db.get_scan_entry("Papers/a.md") == e1
    db.delete_scan_cache("Papers/a.md")
    assert set(db.get_scan_cache()) == {"Papers/b.md"}
    db.clear_scan_cache()
    assert db.get_scan_cache() == {}


def test_default_path_is_per_vault() -> None:
    p = default_state_path(default_config())
    assert p.name == f"state-vault-{vault_state_name(default_config().vault.path)}.sqlite3"
    assert "pllm-home" in str(p)  # under the isolated PLLM_SYNC_HOME


def test_a_database_at_the_old_per_config_place_is_moved_to_the_vaults(tmp_path: Path) -> None:
    from dataclasses import replace

    from pllm_sync.config import VaultConfig
    from pllm_sync.paths import app_dirs

    cfg = replace(
        default_config(), path=tmp_path / "c.yaml", vault=VaultConfig(path=tmp_path / "v")
    )
    legacy = app_dirs().data / f"state-{cfg.state_name}.sqlite3"
    with StateDB.open(legacy) as db:
        db.put_paper(PaperState("kept", base={"title": "T"}))
    path = default_state_path(cfg)
    assert path != legacy and not legacy.exists()
    with StateDB.open(path) as db:
        assert db.get_paper("kept") is not None


# --- transactions ---------------------------------------------------------------------------


def test_a_failed_transaction_leaves_no_trace(db: StateDB) -> None:
    db.put_paper(PaperState("keep", base={"title": "before"}))
    with pytest.raises(RuntimeError), db.transaction():
        db.put_paper(PaperState("keep", base={"title": "after"}))
        db.put_paper(PaperState("new"))
        db.set_library_version(LIB, 77)
        raise RuntimeError("the Zotero write failed")
    paper = db.get_paper("keep")
    assert paper is not None and paper.base == {"title": "before"}
    assert db.get_paper("new") is None and db.get_library_version(LIB) is None


def test_nested_transaction_rolls_back_only_its_part(db: StateDB) -> None:
    with db.transaction():
        db.put_paper(PaperState("outer"))
        with pytest.raises(ValueError), db.transaction():
            db.put_paper(PaperState("inner"))
            raise ValueError
    assert db.get_paper("outer") is not None and db.get_paper("inner") is None


def test_a_large_transaction_gives_its_page_cache_back(db: StateDB) -> None:
    """A pull's commit gets a page cache big enough not to spill (and rewrite) pages
    mid-transaction; the daemon that keeps the connection open afterwards keeps the small
    default, whether the transaction committed or failed."""

    def cache_kib() -> int:
        return -int(db._conn.execute("PRAGMA cache_size").fetchone()[0])

    small = cache_kib()
    with db.transaction(large=True):
        assert cache_kib() == LARGE_CACHE_KIB > small
        with db.transaction(large=True):  # nested: a savepoint, the cache stays
            db.put_paper(PaperState("p", base=RECORD))
        assert cache_kib() == LARGE_CACHE_KIB
    assert cache_kib() == small
    with pytest.raises(RuntimeError), db.transaction(large=True):
        db.put_paper(PaperState("q", base=RECORD))
        raise RuntimeError("the vault batch failed")
    assert cache_kib() == small and db.get_paper("q") is None
    assert db.get_paper("p") is not None


def test_uncommitted_writes_are_invisible_to_other_readers(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path) as writer, StateDB.open(path) as reader:
        with writer.transaction():
            writer.put_paper(PaperState("p"))
            assert reader.get_paper("p") is None
        assert reader.get_paper("p") is not None


# --- migrations -----------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE papers (pllm_id TEXT PRIMARY KEY, base TEXT, catalog_base TEXT, zotero_key TEXT,
  zotero_version INTEGER, zotero_note_key TEXT, zotero_note_version INTEGER, note_path TEXT,
  note_size INTEGER, note_mtime_ns INTEGER, note_sha256 TEXT,
  tombstone INTEGER NOT NULL DEFAULT 0, updated_at REAL);
CREATE TABLE libraries (library TEXT PRIMARY KEY, since INTEGER);
CREATE TABLE collections (library TEXT NOT NULL, path TEXT NOT NULL, key TEXT NOT NULL,
  version INTEGER, PRIMARY KEY (library, path));
CREATE TABLE sources (name TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, sha256 TEXT,
  fetched_at TEXT);
CREATE TABLE scan_cache (relpath TEXT PRIMARY KEY, size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL, pllm_id TEXT, record TEXT);
CREATE TABLE conflicts (id INTEGER PRIMARY KEY, pllm_id TEXT NOT NULL, field TEXT NOT NULL,
  base TEXT, zotero TEXT, vault TEXT, created_at REAL NOT NULL, resolved_at REAL,
  resolution TEXT);
"""


def test_a_version_1_database_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO papers (pllm_id, base, zotero_key, tombstone) VALUES (?, ?, ?, 0)",
        ("arxiv:1", encode_record(RECORD), "KEY23456"),
    )
    conn.execute(
        "INSERT INTO conflicts (pllm_id, field, base, zotero, vault, created_at) "
        "VALUES ('arxiv:1', 'status', 'null', '\"read\"', '\"skimmed\"', 1.0)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION
        paper = db.get_paper("arxiv:1")
        assert paper is not None and paper.base == RECORD and paper.zotero_key == "KEY23456"
        (c,) = db.list_conflicts()
        assert (c.field, c.zotero, c.vault) == ("status", "read", "skimmed")
        run = db.start_run("sync", {"n": 1})  # a table version 2 added
        last = db.last_run()
        assert last is not None and last.id == run


def test_version_3_rows_get_the_only_library_they_ever_saw(tmp_path: Path) -> None:
    """Schema 4 ties a paper's Zotero half to one library (issue 8, item 8): an old database
    that only ever synced one library keeps its keys for that library, and another library
    reads them as absent instead of as deleted items."""
    path = tmp_path / "v3.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    old_lib = LibraryRef("user", "1", "sandbox")
    with StateDB.open(path) as db:  # build a version-3 database the way version 3 wrote it
        db._conn.execute("DROP TABLE papers")
        db._conn.execute(
            "CREATE TABLE papers (pllm_id TEXT PRIMARY KEY, base TEXT, catalog_base TEXT, "
            "zotero_key TEXT, zotero_version INTEGER, zotero_note_key TEXT, "
            "zotero_note_version INTEGER, note_path TEXT, note_size INTEGER, "
            "note_mtime_ns INTEGER, note_sha256 TEXT, tombstone INTEGER NOT NULL DEFAULT 0, "
            "updated_at REAL, zotero_record TEXT, zotero_retired INTEGER NOT NULL DEFAULT 0, "
            "vault_retired INTEGER NOT NULL DEFAULT 0)"
        )
        db._conn.execute(
            "INSERT INTO papers (pllm_id, base, zotero_key, zotero_retired, note_path) "
            "VALUES ('p', ?, 'KEY23456', 1, 'Papers/p.md')",
            (encode_record(RECORD),),
        )
        db.set_library_version(old_lib, 7)
        db._conn.execute("PRAGMA user_version = 3")
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 4
        db.bind_library(old_lib)
        p = db.get_paper("p")
        assert p is not None and p.zotero_key == "KEY23456" and p.zotero_retired
        db.bind_library(LibraryRef("user", "42", "https://api.zotero.org"))
        p = db.get_paper("p")
        assert p is not None and p.zotero_key is None and not p.zotero_retired
        assert p.base == RECORD and p.note_path == "Papers/p.md"  # the vault half stays


def test_upgrading_to_schema_9_reads_the_vault_again(tmp_path: Path) -> None:
    """Readings cached before schema 9 hold ``abstract: None`` for a note without its
    managed region, which a sync took for the user clearing the abstract (and wrote to
    Zotero); the upgrade drops them, so the next scan reads every note once."""
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path) as db:
        db.put_scan_cache(ScanEntry("Papers/p.md", 10, 1, "x" * 64, "p", None))
        db._conn.execute("PRAGMA user_version = 8")
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 9
        assert db.get_scan_cache() == {}
        db.put_scan_cache(ScanEntry("Papers/p.md", 10, 1, "x" * 64, "p", None))
    with StateDB.open(path) as db:  # once: later opens keep what is cached
        assert list(db.get_scan_cache()) == ["Papers/p.md"]


@pytest.mark.parametrize(
    ("runs", "completed"),
    [
        ([], False),
        ([("pull", None)], False),  # killed: never finished
        ([("pull", "aborted")], False),  # Ctrl-C
        ([("pull", "failed")], False),  # finished with errors: some papers not reached
        ([("sync", "ok")], False),
        ([("pull", "aborted"), ("pull", "ok")], True),
    ],
)
def test_a_pull_counts_as_completed_only_when_it_ended_ok(
    db: StateDB, runs: list[tuple[str, str | None]], completed: bool
) -> None:
    """Until a first import ran to its end, a pull's new notes are no news ("What's new"
    listed the papers an interrupted or failed first import had not reached)."""
    for command, status in runs:
        rid = db.start_run(command)
        if status is not None:
            db.finish_run(rid, status)
    assert db.pull_completed() is completed


def test_zotero_state_is_kept_per_library(db: StateDB) -> None:
    a, b = LibraryRef("user", "1", "sandbox"), LibraryRef("user", "2", "https://x")
    db.bind_library(a)
    db.put_paper(PaperState("p", base={"title": "T"}, zotero_key="AAAAAAAA", zotero_version=3))
    db.bind_library(b)
    assert db.all_papers()["p"].zotero_key is None
    db.bind_library(None)  # vault only: rows as they are, and writing keeps their library
    p = db.all_papers()["p"]
    assert p.zotero_key == "AAAAAAAA"
    db.put_paper(p)
    db.bind_library(b)
    assert db.all_papers()["p"].zotero_key is None


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer") as exc:
        StateDB.open(path)
    assert exc.value.hint and "upgrade" in exc.value.hint


def test_a_file_that_is_not_a_database_gives_a_next_step(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="damaged") as exc:
        StateDB.open(path)
    assert exc.value.hint and str(path) in exc.value.hint


# --- conflicts ------------------------------------------------------------------------------


def test_conflict_lifecycle(db: StateDB) -> None:
    cid = db.add_conflict("arxiv:1", "tags", frozenset({"a"}), frozenset({"a", "b"}), None)
    (c,) = db.list_conflicts()
    assert c.id == cid and c.open and c.zotero == frozenset({"a", "b"}) and c.vault is None
    # the next run sees the same disagreement: still one open conflict, values refreshed
    assert db.add_conflict("arxiv:1", "tags", frozenset(), frozenset({"c"}), None) == cid
    (c,) = db.list_conflicts()
    assert c.zotero == frozenset({"c"})
    db.resolve_conflict(cid, "vault")
    assert db.list_conflicts() == []
    (c,) = db.list_conflicts(open_only=False)
    assert not c.open and c.resolution == "vault"
    # a new disagreement on the same field after resolution is a new conflict
    assert db.add_conflict("arxiv:1", "tags", None, 1, 2) != cid


def test_stale_conflicts_are_closed_when_the_sides_agree(db: StateDB) -> None:
    db.add_conflict("p", "status", None, "read", "skimmed")
    db.add_conflict("p", "rating", None, 1, 2)
    db.add_conflict("q", "rating", None, 1, 2)
    assert db.resolve_stale_conflicts("p", still_open={"rating"}) == 1
    assert {(c.pllm_id, c.field) for c in db.list_conflicts()} == {("p", "rating"), ("q", "rating")}
    assert [c.field for c in db.list_conflicts(pllm_id="p")] == ["rating"]


def test_resolving_an_unknown_conflict_says_where_to_look(db: StateDB) -> None:
    with pytest.raises(StateError) as exc:
        db.resolve_conflict(999, "zotero")
    assert exc.value.hint and "pllm-sync conflicts" in exc.value.hint


def test_an_id_past_sqlites_range_is_an_unknown_conflict(db: StateDB) -> None:
    """A typo or a fuzzer's id (2**63) must read as "no such conflict", not crash the CLI
    or the API with SQLite's OverflowError."""
    assert db.get_conflict(2**63) is None and db.get_conflict(-1) is None
    with pytest.raises(StateError):
        db.resolve_conflict(2**63, "zotero")


# --- run journal ----------------------------------------------------------------------------


def test_run_journal(db: StateDB) -> None:
    assert db.last_run() is None
    rid = db.start_run("sync", {"counts": {"zotero.create": 3}})
    run = db.last_run()
    assert run is not None and run.status == "running" and run.finished_at is None
    db.finish_run(rid, "ok", {"created": frozenset({"a"})})
    run = db.last_run()
    assert run is not None and run.status == "ok" and run.applied == {"created": frozenset({"a"})}
    assert run.plan == {"counts": {"zotero.create": 3}}
    rid2 = db.start_run("watch")
    assert [r.id for r in db.list_runs()] == [rid2, rid]
    with pytest.raises(ValueError):
        db.finish_run(rid2, "weird")


# --- lock -----------------------------------------------------------------------------------


_HOLD_LOCK = """
import sys, time
from pllm_sync.sync.state import StateDB
db = StateDB.open(sys.argv[1])
db.acquire_lock("watch")
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_keeps_a_second_run_out_and_dies_with_its_holder(tmp_path: Path) -> None:
    """An OS lock: a run elsewhere is refused with its name; when that process dies (kill -9,
    a reboot), the lock is free without anyone clearing it (issue 8, item 16)."""
    path = tmp_path / "s.sqlite3"
    StateDB.open(path).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with StateDB.open(path) as db:
            holder = db.lock_holder()
            assert holder is not None and holder.owner == "watch" and holder.pid == child.pid
            with pytest.raises(SafetyAbort, match="another pllm-sync") as exc:
                db.acquire_lock("sync")
            assert "watch" in str(exc.value) and exc.value.hint
    finally:
        child.kill()
        child.wait()
    with StateDB.open(path) as db:
        assert db.lock_holder() is None
        db.acquire_lock("sync")  # no manual clean-up needed
        holder = db.lock_holder()
        assert holder is not None and holder.owner == "sync" and holder.pid == os.getpid()


_TAKE_THEN_NAME = """
import fcntl, json, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(0.03)  # the instant between taking the lock and writing who holds it
os.write(fd, json.dumps({"owner": sys.argv[2], "pid": os.getpid(),
                         "hostname": socket.gethostname(), "at": time.time()}).encode())
time.sleep(60)
"""


@pytest.mark.parametrize(
    ("owner", "hint"),
    [
        ("watch", "syncs this vault by itself; to run this command instead, stop it first"),
        ("sync", "wait for that `sync` to finish, then run this again"),
    ],
)
def test_a_run_refused_as_the_lock_is_taken_names_the_holder(
    tmp_path: Path, owner: str, hint: str
) -> None:
    """Two runs started together: the refused one read the lock file in the instant before
    the holder wrote its name, and said "another process" (7 of 20 tries in a helper's
    run); and it told the user to stop "a pllm-sync watch daemon, say" whoever held it."""
    from pllm_sync.runlock import RunLock

    lock = tmp_path / "run.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", _TAKE_THEN_NAME, str(lock), owner],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(SafetyAbort) as exc:
            RunLock(lock).acquire("sync")
        assert f"({owner}, pid {child.pid} on " in exc.value.message, exc.value.message
        assert exc.value.hint is not None and hint in exc.value.hint, exc.value.hint
        assert (owner == "watch") == (f"pid {child.pid}" in exc.value.hint)
    finally:
        child.kill()
        child.wait()


def test_lock_is_reentrant_within_one_process(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path) as a, StateDB.open(path) as b:
        a.acquire_lock("watch")
        b.acquire_lock("sync")
        b.release_lock()
        assert a.lock_holder() is not None
        a.release_lock()
        assert a.lock_holder() is None


def test_closing_releases_our_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path) as db:
        db.acquire_lock("watch")
    with StateDB.open(path) as db:
        assert db.lock_holder() is None


_OPEN = """
import sys, time
from pllm_sync.sync.state import StateDB
start = float(sys.argv[2])
while time.time() < start:
    pass
StateDB.open(sys.argv[1]).close()
"""


def test_concurrent_first_runs_do_not_call_a_healthy_database_damaged(tmp_path: Path) -> None:
    """Two first runs create the schema at once: the loser waits and finds it done
    (issue 8, item 16)."""
    import time

    for attempt in range(3):
        path = tmp_path / f"s{attempt}.sqlite3"
        start = time.time() + 1.0
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN, str(path), str(start)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
        with StateDB.open(path) as db:
            assert db.schema_version == SCHEMA_VERSION


def test_one_database_shared_by_threads(db: StateDB) -> None:
    """The daemon's watcher and worker threads may share the handle."""
    import threading

    def work(t: int) -> None:
        for i in range(50):
            with db.transaction():
                db.put_paper(PaperState(f"t{t}-{i}", base={"n": i}))
                assert db.get_paper(f"t{t}-{i}") is not None

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(db.all_papers()) == 200


def test_status_counts_come_from_count_queries(db: StateDB) -> None:
    """``status`` counts without loading every paper; the counts match the rows."""
    assert db.paper_counts() == {"total": 0, "in_zotero": 0, "in_vault": 0, "removed_upstream": 0}
    with db.transaction():
        db.put_paper(PaperState("a", zotero_key="K1", note_path="Papers/a.md"))
        db.put_paper(PaperState("b", zotero_key="K2"))
        db.put_paper(PaperState("c", note_path="Papers/c.md", tombstone=True))
        db.put_paper(PaperState("d"))
    assert db.paper_counts() == {"total": 4, "in_zotero": 2, "in_vault": 2, "removed_upstream": 1}
    assert db.count_open_conflicts() == 0
    first = db.add_conflict("a", "title", "x", "y", "z")
    db.add_conflict("b", "year", 1, 2, 3)
    db.resolve_conflict(first, "zotero")
    assert db.count_open_conflicts() == len(db.list_conflicts(open_only=True)) == 1


def test_a_put_that_changes_nothing_writes_nothing(db: StateDB) -> None:
    """A no-op run puts every paper back as it was: no row may be written for that."""
    with db.transaction():
        db.put_paper(PaperState("a", base=RECORD, zotero_key="K1", note_path="Papers/a.md"))
        db.put_paper(PaperState("b", tombstone=True))
    papers = db.all_papers()
    stamp = papers["a"].updated_at
    changes = db._conn.total_changes
    with db.transaction():
        for p in papers.values():
            db.put_paper(p)
    assert db._conn.total_changes == changes
    assert db.get_paper("a") == papers["a"] and papers["a"].updated_at == stamp

    papers["a"].zotero_version = 7
    db.put_paper(papers["a"])
    assert db._conn.total_changes == changes + 1
    got = db.get_paper("a")
    assert got is not None and got.zotero_version == 7


def test_a_rolled_back_put_is_written_again(db: StateDB) -> None:
    db.put_paper(PaperState("a", zotero_key="K1"))
    paper = db.all_papers()["a"]
    paper.zotero_key = "K2"
    with pytest.raises(RuntimeError), db.transaction():
        db.put_paper(paper)
        raise RuntimeError("crash before commit")
    kept = db.get_paper("a")
    assert kept is not None and kept.zotero_key == "K1"
    db.put_paper(paper)
    again = db.get_paper("a")
    assert again is not None and again.zotero_key == "K2"


@given(st.frozensets(st.text(max_size=6), max_size=8))
def test_set_encoding_orders_as_json_text_does(value: frozenset[str]) -> None:
    """Stored bytes never change with the implementation: sets stay sorted by their JSON."""
    import json

    reference = sorted(value, key=lambda x: json.dumps(x, ensure_ascii=False))
    assert json.loads(encode_value(value)) == {"$set": reference}
    assert decode_value(encode_value(value)) == value
    assert decode_record(encode_record({"tags": value})) == {"tags": value}


def test_held_paper_states_stay_small(tmp_path: Path) -> None:
    """The daemon holds every paper's state between passes (three records each): decoded
    records share their strings and equal values, and the put-skip check keeps a digest,
    not the stored row. Measured by tracemalloc (deterministic, no timing): about 2.3 KB a
    paper; 9 KB before the records shared anything."""
    n = 2000

    def record(i: int) -> Record:
        return {
            "title": f"Paper {i}: On Personalization Number {i}",
            "authors": (f"Author {i}", "Hamed Zamani"),
            "tags": frozenset(),
            "sections": frozenset({"Synthetic List / Section 3"}),
            "year": 2024,
            "venue": "EMNLP 2024",
            "url": f"https://arxiv.org/abs/2401.{i:05d}",
            "arxiv": f"2401.{i:05d}",
            "doi": None,
            "status": None,
            "catalog": "listed",
            "notes": "",
        }

    path = tmp_path / "state.sqlite3"
    with StateDB.open(path) as db, db.transaction():
        for i in range(n):
            base = record(i)
            listed = {k: v for k, v in base.items() if k not in ("notes", "status", "tags")}
            db.put_paper(
                PaperState(
                    f"arxiv:2401.{i:05d}",
                    base=base,
                    catalog_base=listed,
                    zotero_record=dict(base),
                    zotero_key=f"K{i:07d}",
                    note_path=f"Papers/Paper {i}.md",
                    note_sha256="a" * 64,
                )
            )
    with StateDB.open(path) as db:
        gc.collect()
        tracemalloc.start()
        try:
            papers = db.all_papers()
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(papers) == n and papers["arxiv:2401.00007"].base == record(7)
        assert held / n < 4000, f"{held / n:.0f} bytes held per paper state"
        db.put_paper(papers["arxiv:2401.00007"])  # unchanged: the digest says so
        assert (
            db.all_papers()["arxiv:2401.00007"].updated_at == papers["arxiv:2401.00007"].updated_at
        )


def test_the_last_run_summary_holds_the_plans_counts_and_warnings_only(db: StateDB) -> None:
    """``status`` reads the last run's counts and warnings without decoding its actions."""
    assert db.last_run_summary() is None
    plan = {
        "counts": {"vault.create": 2, "conflicts": 0},
        "actions": [{"pid": f"p{i}", "changes": [{"field": "tags"}]} for i in range(3)],
        "warnings": ["p1: 2 notes carry this paper's id"],
    }
    run = db.start_run("pull", plan)
    db.finish_run(run, "ok", {"vault.create": 2})
    full, summary = db.last_run(), db.last_run_summary()
    assert full is not None and summary is not None
    assert summary.plan == {"counts": plan["counts"], "warnings": plan["warnings"]}
    assert (summary.id, summary.status, summary.applied) == (full.id, "ok", {"vault.create": 2})
    db.start_run("sync", None)
    summary = db.last_run_summary()
    assert summary is not None and summary.plan == {"counts": None, "warnings": None}


def test_status_counts_come_from_indexes_not_from_the_paper_rows(db: StateDB) -> None:
    """A paper row holds records many pages long: ``status`` must not read every row."""
    for i in range(3):
        db.put_paper(
            PaperState(
                pllm_id=f"p{i}", base=RECORD, zotero_key=f"K{i}" if i else None, note_path="n"
            )
        )
    seen: list[str] = []
    db._conn.set_trace_callback(seen.append)
    assert db.paper_counts() == {"total": 3, "in_zotero": 2, "in_vault": 3, "removed_upstream": 0}
    db._conn.set_trace_callback(None)
    assert seen
    for sql in seen:
        plan = " ".join(str(r) for r in db._conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "COVERING INDEX" in plan, (sql, plan)


def test_the_settled_mark_is_refused_after_any_write_since_the_run_began(
    db: StateDB, tmp_path: Path
) -> None:
    """A run leaves the mark only when nothing wrote the database since it read it: not this
    connection, and not another one (a `conflicts resolve` runs without the run lock)."""
    start = db.changes()
    assert db.set_settled("fp", unchanged_since=start) and db.settled() == "fp"
    start = db.changes()
    db.put_paper(PaperState(pllm_id="p", base=RECORD))
    assert db.settled() is None, "the trigger dropped it"
    assert not db.set_settled("fp", unchanged_since=start) and db.settled() is None
    start = db.changes()
    other = sqlite3.connect(tmp_path / "state.sqlite3")
    other.execute("UPDATE papers SET note_path = 'x'")
    other.commit()
    other.close()
    assert not db.set_settled("fp", unchanged_since=start) and db.settled() is None
    assert db.set_settled("fp", unchanged_since=db.changes()) and db.settled() == "fp"
