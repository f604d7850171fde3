"""What the engine needs from the two stores, as small structural interfaces.

The engine is written against these protocols, not against ``VaultStore`` and
``ZoteroStore``: the real stores satisfy them as they are (checked by mypy wherever the engine
is built), and a test can hand the engine an in-memory double with the same methods. The
decisions themselves need neither (``decide.py`` takes plain values); these ports are the
boundary of ``collect`` (reads) and ``apply`` (writes). The engine touches no file and no
HTTP client itself: everything it needs goes through these methods, so the in-memory doubles
of ``pllm_sync.testing.memory_stores`` can stand in for both stores (docs/sync.md, "Doubles").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..model import Paper, Section, SectionPath
from ..record import Record
from ..vault.body import ManagedContent
from ..vault.store import NoteInfo, NoteStat, VaultScan
from ..zotero.store import (
    ItemChange,
    NewItem,
    NoteUpsert,
    Settled,
    WriteReport,
    ZoteroSnapshot,
)


class VaultPort(Protocol):
    """The vault as the engine uses it: scan, read one note, write, trash, restore, index
    notes. ``root`` and ``papers_dir`` only name the vault in messages; every file the engine
    needs to know about is asked for through a method."""

    @property
    def root(self) -> Path: ...

    @property
    def papers_dir(self) -> Path: ...

    def exists(self) -> bool: ...

    def papers_present(self) -> bool: ...

    def holds_notes(self) -> bool: ...

    def has_file(self, rel: str) -> bool: ...

    def placeholder_of(self, rel: str) -> str | None: ...

    def unclosed_properties(self, rel: str) -> int | None: ...

    def placeholders(self) -> list[str]: ...

    def placeholders_alone(self, placeholders: Iterable[str]) -> bool: ...

    def check_writable(self) -> None: ...

    def ensure(self, from_template: bool = True) -> object: ...

    def scan(
        self,
        previous: dict[str, NoteStat] | None = None,
        *,
        progress: bool = False,
        changed: Collection[str] | None = None,
    ) -> VaultScan: ...

    def unchanged_since(
        self, cached: Mapping[str, tuple[int, int, int]], placeholders: Sequence[str] = ()
    ) -> bool: ...

    def read_note(self, rel: str) -> NoteInfo: ...

    def create_note(
        self,
        paper: Paper,
        record: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
    ) -> NoteInfo: ...

    def update_note(
        self,
        note: NoteInfo,
        changes: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
        conflict_flag: bool | None = None,
        pllm_id: str | None = None,
    ) -> NoteInfo | None: ...

    def trash_note(self, note: NoteInfo) -> str: ...

    def restore_trashed(self, pid: str, dest_rel: str | None) -> NoteInfo | None: ...

    def begin_batch(self, expect: int = 0) -> None: ...

    def commit_batch(self) -> list[str]: ...

    def discard_batch(self) -> None: ...

    def register_sections(self, catalog_taxonomies: dict[str, Section]) -> None: ...

    def write_index_notes(
        self,
        catalog_taxonomies: dict[str, Section],
        members: dict[tuple[str, ...], list[str]],
    ) -> int: ...


class ZoteroPort(Protocol):
    """Zotero as the engine uses it: the change feed, reads by key and batched writes."""

    @property
    def request_count(self) -> int: ...

    @property
    def library_version(self) -> int | None: ...

    @property
    def local(self) -> bool: ...

    def check_access(self, write: bool = True) -> None: ...

    def unchanged_since(self, since: int) -> bool: ...

    def read(self, since: int | None, *, expect_unchanged: bool = False) -> ZoteroSnapshot: ...

    def ensure_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]: ...

    def find_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]: ...

    def collection_paths(self, mapping: Mapping[str, str]) -> dict[str, SectionPath]: ...

    def collection_names(self) -> set[str]: ...

    def fetch_items(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def fetch_children(self, parent_key: str) -> list[dict[str, Any]]: ...

    def create_papers(
        self, entries: Iterable[NewItem], *, on_settled: Settled | None = None
    ) -> WriteReport: ...

    def update_items(self, changes: Iterable[ItemChange]) -> WriteReport: ...

    def upsert_notes(self, notes: Iterable[NoteUpsert]) -> WriteReport: ...

    def trash(self, keys: Iterable[str]) -> WriteReport: ...
