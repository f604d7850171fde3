"""In-memory doubles of the two stores the sync engine is written against (``sync/ports.py``).

``MemoryVault`` is a ``VaultPort`` whose files are bytes in a dict; ``MemoryZotero`` is a
``ZoteroPort`` over a ``MemoryLibrary``, a dict-based Zotero library. With them a
``SyncEngine`` runs a whole sync in milliseconds, so every decision rule can be pinned by a
fast test through the engine (``tests/sync/test_engine_rules.py``); the end-to-end tests keep
running the real stores against a real vault and the emulator.

They are doubles, not mocks: each keeps the contract of the real store, and
``tests/sync/test_store_contracts.py`` runs one set of assertions against both the double and
the real store, so they cannot drift apart. What they share with the real stores rather than
copy: the note text (``VaultStore.render_new_note``, ``_apply``, ``index_note_text``; the
frontmatter and body code under ``vault/``), the item shapes (``zotero/mapping.py``), the
collection planning (``zotero/collections.py``) and the stale-write rules of
``zotero/batch.py``. What they leave out, on purpose: file-system trouble (permissions,
symlinks, pipes, a vanishing mount), the server's normalisation of text (control
characters, trimmed tags), HTTP faults and rate limits. Those stay with the real stores'
own tests.

Both also offer what a user does on the other side of the sync, named as the emulator names
it where there is one: ``MemoryVault.write/read/move/copy/delete`` (Obsidian, Finder) and
``MemoryLibrary.edit_item/create_item/trash_item/delete_item`` (Zotero on another device).
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import VaultConfig
from ..errors import NoteChangedMeanwhile, VaultError
from ..model import Paper, Section, SectionPath, normalize_whitespace
from ..record import Record
from ..vault import frontmatter_block as fb
from ..vault import note as note_mod
from ..vault.body import ManagedContent
from ..vault.names import is_litter, placeholder_path, placeholder_target
from ..vault.sections import HOME_NOTE
from ..vault.store import RACY_NS, NoteInfo, NoteStat, VaultScan, VaultStore, note_names
from ..zotero import errors as zerr
from ..zotero.batch import write_applied, write_untouched
from ..zotero.collections import Node, plan_level, section_paths, tree_nodes
from ..zotero.mapping import (
    EXTRA_ID,
    build_item,
    code_attachment_item,
    find_code_attachment,
    find_pdf_attachment,
    find_pllm_note,
    is_regular_item,
    item_match_keys,
    item_pllm_id,
    new_key,
    note_item,
    paper_match_keys,
    pdf_attachment_item,
    set_extra,
)
from ..zotero.notes_html import note_html
from ..zotero.schema import validate_item
from ..zotero.store import (
    ItemChange,
    NewItem,
    NoteUpsert,
    Settled,
    WriteFailure,
    WriteReport,
    Written,
    ZoteroSnapshot,
)

log = logging.getLogger(__name__)

__all__ = ["MemoryLibrary", "MemoryVault", "MemoryZotero"]

Json = dict[str, Any]

_MARKER = b"pllm-sync-id: "


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _under(rel: str, folder: str) -> bool:
    return bool(folder) and (rel == folder or rel.startswith(folder + "/"))


# ---------------------------------------------------------------------------------- vault


class MemoryVault:
    """A ``VaultPort`` whose files live in ``files`` (vault-relative POSIX path -> bytes).

    Modification times come from a clock that moves one second per write, so every write
    is seen by the next scan, as on a real disk. ``writable = False`` plays a read-only
    mount; ``tool_writes`` counts the files the tool wrote (a no-op sync writes none)."""

    def __init__(
        self,
        config: VaultConfig | None = None,
        library_type: str = "user",
        library_id: str | None = None,
    ) -> None:
        self.config = config or VaultConfig(path=Path("/memory-vault"))
        # The real store, used only for its note text and its parsing: none of the methods
        # called on it below touches the disk (its root is never scanned nor pinned).
        self._text = VaultStore(self.config, library_type, library_id)
        self.files: dict[str, bytes] = {}
        self.mtimes: dict[str, int] = {}
        self.folders: set[str] = set()
        self.present = False
        self.writable = True
        self.tool_writes = 0
        self._now = [1_700_000_000 * 10**9]  # shared with reopen()ed stores: one clock
        self._papers_rel = self._text._papers_rel
        self._index_rel = self._text._index_rel
        self._trash_rel = self._text._trash_rel
        self._scan: VaultScan | None = None
        # Between begin_batch() and commit_batch(): notes staged, by path, as (bytes, their
        # time, the (size, time) of the file they replace, None for a new note).
        self._batch: dict[str, tuple[bytes, int, tuple[int, int] | None]] | None = None
        self._taken: set[str] | None = None

    def reopen(self) -> MemoryVault:
        """The same files seen by a new store, as the next CLI run opens the vault again
        (nothing the last run's store remembered, such as section links, carries over)."""
        other = MemoryVault(self.config, self._text.library_type, self._text.library_id)
        other.files, other.mtimes, other.folders = self.files, self.mtimes, self.folders
        other.present, other.writable = self.present, self.writable
        other._now = self._now
        return other

    # --- paths ---------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self._text.root

    @property
    def papers_dir(self) -> Path:
        return self._text.papers_dir

    @property
    def trash_dir(self) -> Path:
        return self._text.trash_dir

    @property
    def _clock(self) -> int:
        return self._now[0]

    def _tick(self) -> int:
        self._now[0] += 10**9
        return self._now[0]

    def _put(self, rel: str, data: bytes, *, mtime: int | None = None) -> None:
        self.files[rel] = data
        self.mtimes[rel] = self._tick() if mtime is None else mtime

    def _folder_has(self, folder: str) -> bool:
        return any(_under(p, folder) and p != folder for p in (*self.files, *self.folders))

    # --- what a user does (Obsidian, Finder, a sync client) -------------------------------

    def write(self, rel: str, text: str) -> None:
        """A user (or another program) saves ``rel``."""
        self._taken = None
        self.present = True
        self._put(rel, text.encode("utf-8"))

    def read(self, rel: str) -> str:
        return self.files[rel].decode("utf-8")

    def delete(self, rel: str) -> None:
        self._taken = None
        del self.files[rel]
        del self.mtimes[rel]

    def move(self, src: str, dst: str) -> None:
        """A rename keeps the bytes and the modification time, as on disk."""
        self._taken = None
        self.files[dst], self.mtimes[dst] = self.files.pop(src), self.mtimes.pop(src)

    def copy(self, src: str, dst: str) -> None:
        """A copy ("Make a copy", a cloud conflict copy) is a new file."""
        self._taken = None
        self._put(dst, self.files[src])

    def paths(self, folder: str = "") -> list[str]:
        """Every file under ``folder`` (the whole vault by default), sorted."""
        return sorted(p for p in self.files if not folder or _under(p, folder))

    def notes_of(self, pid: str) -> list[str]:
        """The notes outside the trash that carry ``pid``."""
        marker = f"pllm-sync-id: {pid}\n".encode()
        return [
            p for p in self.paths() if marker in self.files[p] and not _under(p, self._trash_rel)
        ]

    def note_of(self, pid: str) -> str:
        (only,) = self.notes_of(pid)
        return only

    def in_trash(self) -> list[str]:
        return self.paths(self._trash_rel)

    # --- VaultPort: the vault -------------------------------------------------------------

    def exists(self) -> bool:
        return self.present

    def ensure(self, from_template: bool = True) -> object:
        self.present = True
        self.folders |= {self._papers_rel, self._index_rel}
        if from_template:
            from ..vault.template import template_files

            for rel, res in template_files():
                if rel not in self.files:
                    self._put(rel, res.read_bytes())
        return None

    def papers_present(self) -> bool:
        return self._folder_has(self._papers_rel)

    def holds_notes(self) -> bool:
        return self.present and any(self._listed(p) for p in self.files)

    def has_file(self, rel: str) -> bool:
        return rel in self.files or rel in self.folders or self._folder_has(rel)

    def unclosed_properties(self, rel: str) -> int | None:
        data = self.files.get(rel)
        if data is None:
            return None
        return fb.unclosed_properties(data.decode("utf-8", errors="replace"))

    def placeholder_of(self, rel: str) -> str | None:
        stub = placeholder_path(rel)
        return stub if stub in self.files else None

    def placeholders(self) -> list[str]:
        return sorted(p for p in self.files if placeholder_target(p) is not None)

    def _walked_placeholders(self) -> list[str]:
        """The placeholders the real store's walk passes (hidden folders and the trash
        aside), sorted."""
        return [
            p
            for p in self.placeholders()
            if not any(part.startswith(".") for part in PurePosixPath(p).parts[:-1])
            and not _under(p, self._trash_rel)
        ]

    def placeholders_alone(self, placeholders: Iterable[str]) -> bool:
        for rel in placeholders:
            target = placeholder_target(rel)
            if target is None or self.has_file(target):
                return False
        return True

    def check_writable(self) -> None:
        if not self.writable:
            raise VaultError(
                f"the vault folder {self.papers_dir} is not writable; nothing was changed",
                hint="check the folder's permissions or mount, or point vault.path elsewhere",
            )

    # --- VaultPort: scanning --------------------------------------------------------------

    def _listed(self, rel: str) -> bool:
        """Whether the real store's walk would read ``rel``."""
        parts = PurePosixPath(rel).parts
        if not rel.endswith(".md") or is_litter(parts[-1]):
            return False
        if any(p.startswith(".") for p in parts[:-1]):
            return False
        return not _under(rel, self._trash_rel)

    def scan(
        self,
        previous: dict[str, NoteStat] | None = None,
        *,
        progress: bool = False,
        changed: Collection[str] | None = None,
    ) -> VaultScan:
        if not self.present:
            raise VaultError(
                f"vault folder not found: {self.root}",
                hint="run `pllm-sync vault init` or fix vault.path in the config",
            )
        previous = previous or {}
        result = VaultScan(previous=previous)
        names = [p for p in self.files if self._listed(p)]
        if changed is not None:  # the daemon's pass: the last scan's files and the changed
            names = [p for p in names if p in previous or p in changed]
        else:
            result.placeholders = self._walked_placeholders()
        now = self._clock
        for rel in sorted(names):
            data, mtime = self.files[rel], self.mtimes[rel]
            prev = previous.get(rel)
            if prev is not None and (prev.size, prev.mtime_ns) == (len(data), mtime):
                result.stats[rel] = prev
                continue
            result.stats[rel] = self._text._classify(rel, data, len(data), mtime, now + RACY_NS)
            result.reread += 1
        self._text._collect(result)
        self._scan = result
        return result

    def unchanged_since(
        self, cached: Mapping[str, tuple[int, int, int]], placeholders: Sequence[str] = ()
    ) -> bool:
        """The real store's settled check: exactly the files of ``cached``, each with the
        size and time it was read at (no ctime here: every reading holds 0), and exactly the
        placeholders ``placeholders``, each alone."""
        if not self.present:
            return False
        found = self._walked_placeholders()
        if found != list(placeholders) or not self.placeholders_alone(found):
            return False
        names = [p for p in self.files if self._listed(p)]
        if len(names) != len(cached):
            return False
        return all(cached.get(rel) == (len(self.files[rel]), self.mtimes[rel], 0) for rel in names)

    # --- VaultPort: reading and writing notes ---------------------------------------------

    def _info(
        self, rel: str, data: bytes, *, written: bool = False, mtime: int | None = None
    ) -> NoteInfo:
        parsed = self._text._parse(rel, data)
        raw = parsed.raw
        if parsed.pllm_id is None and not raw.get("title"):
            raw = {**raw, "title": normalize_whitespace(PurePosixPath(rel).stem)}
        if mtime is None:
            mtime = self.mtimes.get(rel, self._clock)
        if written and self._scan is not None:
            base = NoteStat(len(data), mtime, _sha256(data), "other", trusted=False)
            self._scan.stats[rel] = self._text._stat_of(
                rel, parsed, base, _under(rel, self._papers_rel)
            )
        return NoteInfo(
            path=rel,
            pllm_id=parsed.pllm_id,
            record=note_mod.resolve_sections(raw, self._text.links.key_for),
            zotero_key=parsed.zotero_key,
            size=len(data),
            mtime_ns=mtime,
            sha256=_sha256(data),
            conflict_flag=parsed.conflict_flag,
        )

    def _data(self, rel: str) -> bytes:
        try:
            return self.files[rel]
        except KeyError:
            raise VaultError(
                f"{rel}: the note is gone (moved or deleted since the scan)",
                hint="run the sync again; the next scan finds it wherever it went",
            ) from None

    def read_note(self, rel: str) -> NoteInfo:
        return self._info(rel, self._data(rel))

    def create_note(
        self,
        paper: Paper,
        record: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
    ) -> NoteInfo:
        self.check_writable()
        data, _parsed, stem = self._text.render_new_note(
            paper, record, zotero_key=zotero_key, managed=managed
        )
        prefix = f"{self._papers_rel}/" if self._papers_rel else ""
        taken = self._taken_names(prefix)
        for fname in note_names(stem, paper.id):
            if fname.casefold() in taken:
                continue
            rel = prefix + fname
            taken.add(fname.casefold())
            if self._batch is not None:
                self._batch[rel] = (data, self._tick(), None)
                return self._info(rel, data, written=True, mtime=self._batch[rel][1])
            self._put(rel, data)
            self.tool_writes += 1
            return self._info(rel, data, written=True)
        raise VaultError(
            f"no free file name for {paper.id} ({stem!r}) in {self.papers_dir}",
            hint="rename or remove the notes with that name, then run again",
        )

    def _taken_names(self, prefix: str) -> set[str]:
        """The names in the papers folder (files and folders, case-folded), listed once per
        run as the real store lists them; a user's change to the files forgets the list."""
        if self._taken is None:
            self._taken = {
                p[len(prefix) :].split("/", 1)[0].casefold()
                for p in (*self.files, *(self._batch or {}))
                if p.startswith(prefix)
            }
        return self._taken

    def update_note(
        self,
        note: NoteInfo,
        changes: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
        conflict_flag: bool | None = None,
        pllm_id: str | None = None,
    ) -> NoteInfo | None:
        rel = note.path
        staged = self._batch.get(rel) if self._batch is not None else None
        data = staged[0] if staged is not None else self._data(rel)
        if _sha256(data) != note.sha256:
            raise NoteChangedMeanwhile(
                f"{rel}: changed on disk since it was scanned; not overwritten",
                hint="run the sync again; it will pick up the edit first",
            )
        parsed = self._text._parse(rel, data)
        new = self._text._apply(rel, parsed, changes, zotero_key, managed, conflict_flag, pllm_id)
        new_data = new.encode("utf-8")
        if new_data == data:
            return None
        self.check_writable()
        if self._batch is not None:  # made visible by commit_batch, unless the user saved
            old = staged[2] if staged is not None else (len(data), self.mtimes[rel])
            self._batch[rel] = (new_data, self._tick(), old)
            return self._info(rel, new_data, written=True, mtime=self._batch[rel][1])
        self._put(rel, new_data)
        self.tool_writes += 1
        return self._info(rel, new_data, written=True)

    def trash_note(self, note: NoteInfo) -> str:
        if note.path not in self.files:
            raise VaultError(
                f"{note.path}: cannot trash a note that is not there",
                hint="run the sync again; the next scan sees where it went",
            )
        if _sha256(self._data(note.path)) != note.sha256:
            raise NoteChangedMeanwhile(
                f"{note.path}: changed on disk since it was scanned; not moved to the trash",
                hint="run the sync again; it will pick up the edit first",
            )
        dest = PurePosixPath(self._trash_rel, note.path)
        stem, n = dest.stem, 2
        while dest.as_posix() in self.files:
            dest = dest.with_name(f"{stem} ({n}).md")
            n += 1
        self.move(note.path, dest.as_posix())
        if self._scan is not None:
            self._scan.stats.pop(note.path, None)
        return dest.as_posix()

    def restore_trashed(self, pid: str, dest_rel: str | None) -> NoteInfo | None:
        marker = f"pllm-sync-id: {pid}\n".encode()
        hits = [p for p in self.in_trash() if p.endswith(".md") and marker in self.files[p]]
        if not hits:
            return None
        found = max(hits, key=lambda p: self.mtimes[p])
        name = PurePosixPath(found).name
        dest = PurePosixPath(dest_rel or found[len(self._trash_rel) + 1 :])
        if dest.as_posix() in self.files:
            dest = PurePosixPath(self._papers_rel, name)
        n = 2
        while dest.as_posix() in self.files:
            dest = dest.with_name(f"{PurePosixPath(found).stem} ({n}).md")
            n += 1
        self.move(found, dest.as_posix())
        return self.read_note(dest.as_posix())

    def begin_batch(self, expect: int = 0) -> None:
        self._batch = {}

    def commit_batch(self) -> list[str]:
        """Make the staged notes visible, as the real store does: a name a user took
        meanwhile keeps the user's file and the new note goes under a free name; an update
        whose note the user saved during the run is not written, and its path returned."""
        staged, self._batch = self._batch or {}, None
        refused: list[str] = []
        for rel, (data, mtime, old) in staged.items():
            if old is not None:
                if rel not in self.files or (len(self.files[rel]), self.mtimes[rel]) != old:
                    log.info("%s: changed on disk while being updated; not overwritten", rel)
                    if self._scan is not None:
                        self._scan.stats.pop(rel, None)
                    refused.append(rel)
                    continue
                self.files[rel], self.mtimes[rel] = data, mtime
                self.tool_writes += 1
                continue
            dest = PurePosixPath(rel)
            n = 2
            while dest.as_posix() in self.files:
                dest = dest.with_name(f"{PurePosixPath(rel).stem} ({n}).md")
                n += 1
            self.tool_writes += 1
            if dest.as_posix() == rel:
                self.files[rel], self.mtimes[rel] = data, mtime
                continue
            log.warning("%s appeared while being written; the new note is %s", rel, dest.name)
            self._put(dest.as_posix(), data)
            self._taken = None
            stat = self._scan.stats.pop(rel, None) if self._scan is not None else None
            if stat is not None and self._scan is not None:
                self._scan.stats[dest.as_posix()] = replace(
                    stat, mtime_ns=self.mtimes[dest.as_posix()]
                )
        return refused

    def discard_batch(self) -> None:
        self._batch = None

    def register_sections(self, catalog_taxonomies: dict[str, Section]) -> None:
        self._text.register_sections(catalog_taxonomies)

    def write_index_notes(
        self,
        catalog_taxonomies: dict[str, Section],
        members: dict[tuple[str, ...], list[str]],
    ) -> int:
        regions, summaries = self._text.index_regions(catalog_taxonomies, members)
        written = 0
        for key, rel, region in regions:
            old = self.files.get(rel)
            new = self._text.index_note_text(key, rel, region, old)
            if new is not None and new != old:
                self._put(rel, new)
                self.tool_writes += 1
                written += 1
        home = self.files.get(HOME_NOTE)
        if home is not None:
            new = self._text.home_text(home, summaries)
            if new is not None and new != home:
                self._put(HOME_NOTE, new)
                self.tool_writes += 1
                written += 1
        return written


# ---------------------------------------------------------------------------------- zotero


class MemoryLibrary:
    """A Zotero library in memory: the server side of ``MemoryZotero``.

    As on the server, every object written takes a new library version (so versions rise
    on every write), trashing is ``deleted: 1``, a permanent delete is logged (with its
    children) for ``since`` reads, and children are notes and attachments naming a regular
    ``parentItem``. The user-side methods carry the emulator's names and meaning."""

    def __init__(self) -> None:
        self.items: dict[str, Json] = {}
        self.collections: dict[str, Json] = {}
        self.version = 0
        self.deleted: dict[str, dict[str, int]] = {"items": {}, "collections": {}}
        self._day = 0

    def _stamp(self) -> str:
        """A ``dateAdded``/``dateModified`` that sorts in write order (one second apart)."""
        self._day += 1
        h, rest = divmod(self._day, 3600)
        return f"2026-01-{1 + h // 24:02d}T{h % 24:02d}:{rest // 60:02d}:{rest % 60:02d}Z"

    def bump(self) -> int:
        self.version += 1
        return self.version

    def _kind(self, kind: str) -> dict[str, Json]:
        return self.items if kind == "items" else self.collections

    def put(self, kind: str, data: Json) -> tuple[str, int]:
        """Write one object (a create for a new key, else a PATCH); refuses what the server
        refuses with ``ValueError("<code>: <message>")``."""
        objs = self._kind(kind)
        data = copy.deepcopy(data)
        key = str(data.get("key") or new_key(set(objs)))
        cur = objs.get(key)
        if kind == "items":
            merged = {**(cur or {}), **data}
            parent = merged.get("parentItem")
            if parent:
                p = self.items.get(str(parent))
                if p is None:
                    raise ValueError(f"409: Parent item {parent} not found")
                if not is_regular_item(p):
                    raise ValueError("409: Parent item cannot be a note or attachment")
            for c in merged.get("collections") or ():
                if c not in self.collections:
                    raise ValueError(f"409: Collection {c} not found")
            for t in merged.get("tags") or ():
                if len(str(t.get("tag", "")).strip()) > 255:
                    raise ValueError(f"413: Tag '{str(t['tag'])[:50]}…' too long")
        else:
            merged = {**(cur or {}), **data}
        merged["key"] = key
        if cur is not None and all(cur.get(k) == v for k, v in merged.items() if k != "version"):
            return key, int(cur["version"])  # unchanged: no new version
        merged["version"] = self.bump()
        if kind == "items":
            stamp = self._stamp()
            merged.setdefault("dateAdded", stamp)
            merged["dateModified"] = stamp
            merged.setdefault("tags", [])
            if is_regular_item(merged):
                merged.setdefault("collections", [])
                merged.setdefault("relations", {})
        objs[key] = merged
        self.deleted[kind].pop(key, None)
        return key, merged["version"]

    def children(self, key: str) -> list[Json]:
        return [d for d in self.items.values() if d.get("parentItem") == key]

    # --- what a user does in Zotero (the emulator's names) --------------------------------

    def library_version(self) -> int:
        return self.version

    def get_items(self, include_trashed: bool = True) -> dict[str, Json]:
        return {
            k: copy.deepcopy(d)
            for k, d in self.items.items()
            if include_trashed or not d.get("deleted")
        }

    def get_collections(self) -> dict[str, Json]:
        return copy.deepcopy(self.collections)

    def edit_item(self, key: str, changes: Json) -> int:
        if key not in self.items:
            raise KeyError(f"no item {key}")
        return self.put("items", {**changes, "key": key})[1]

    def create_item(self, data: Json) -> str:
        return self.put("items", data)[0]

    def create_collection(self, data: Json) -> str:
        return self.put("collections", data)[0]

    def trash_item(self, key: str) -> int:
        return self.edit_item(key, {"deleted": 1})

    def delete_item(self, key: str) -> None:
        """Delete for good (emptying Zotero's trash): children go too; all are logged."""
        if key not in self.items:
            raise KeyError(f"no item {key}")
        version = self.bump()
        for k in [key, *(str(c["key"]) for c in self.children(key))]:
            del self.items[k]
            self.deleted["items"][k] = version

    def delete_collection(self, key: str) -> None:
        if key not in self.collections:
            raise KeyError(f"no collection {key}")
        version = self.bump()
        del self.collections[key]
        self.deleted["collections"][key] = version
        for d in self.items.values():  # membership goes without bumping the items
            if key in (d.get("collections") or ()):
                d["collections"] = [c for c in d["collections"] if c != key]


class MemoryZotero:
    """A ``ZoteroPort`` over a ``MemoryLibrary``, with ``ZoteroStore``'s contract.

    Reads: a full snapshot, or the changes since a version (changed items with their whole
    family, deletions from the log). Writes: ``create_papers`` finds an item again by its
    ``pllm-sync-id`` (``existing``), adopts a matching one (``adopted``) or creates it with
    its code link, PDF link and notes child; ``update_items`` and ``upsert_notes`` carry the
    version they were computed from, and a stale one is written only when the fields it
    changes are untouched since its ``base`` (else a 412 failure for the next sync to
    merge); ``trash`` sets ``deleted: 1`` and never deletes. ``requests`` counts what the
    real store would send (one per read, one per 50 objects written)."""

    def __init__(
        self,
        library: MemoryLibrary | None = None,
        *,
        root_collection: str = "pllm-sync",
        writable: bool = True,
        local: bool = False,
    ) -> None:
        self.library = library if library is not None else MemoryLibrary()
        self.root_collection = root_collection
        self.writable = writable
        self._local = local
        self.requests = 0
        self._seen: int | None = None
        self._nodes: dict[str, Node] = {}

    # --- ZoteroPort: properties and reads -------------------------------------------------

    @property
    def request_count(self) -> int:
        return self.requests

    @property
    def library_version(self) -> int | None:
        return self._seen

    @property
    def local(self) -> bool:
        return self._local

    def check_access(self, write: bool = True) -> None:
        self.requests += 1
        if write and not self.writable:
            raise zerr.no_write_access("user library")

    def unchanged_since(self, since: int) -> bool:
        self.requests += 1
        return self.library.version <= since

    def read(self, since: int | None, *, expect_unchanged: bool = False) -> ZoteroSnapshot:
        lib = self.library
        self.requests += 1
        if since is not None and self._local:
            since = None
        if since is not None and lib.version <= since:
            return ZoteroSnapshot(library_version=since, unchanged=True)
        self._seen = lib.version
        if since is None:
            return ZoteroSnapshot(
                library_version=lib.version,
                items=copy.deepcopy(lib.items),
                collections=copy.deepcopy(lib.collections),
                full=True,
            )
        changed = {k: d for k, d in lib.items.items() if d["version"] > since}
        for d in list(changed.values()):
            parent = d.get("parentItem")
            if parent and parent in lib.items:
                changed.setdefault(str(parent), lib.items[str(parent)])
        for key in [k for k, d in changed.items() if not d.get("parentItem")]:
            for c in lib.children(key):
                changed.setdefault(str(c["key"]), c)
        return ZoteroSnapshot(
            library_version=lib.version,
            items=copy.deepcopy(changed),
            collections={
                k: copy.deepcopy(c) for k, c in lib.collections.items() if c["version"] > since
            },
            deleted_items={k for k, v in lib.deleted["items"].items() if v > since},
            deleted_collections={k for k, v in lib.deleted["collections"].items() if v > since},
        )

    def fetch_items(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = [k for k in dict.fromkeys(keys) if k]
        self.requests += -(-len(wanted) // 50)
        return {k: copy.deepcopy(self.library.items[k]) for k in wanted if k in self.library.items}

    def fetch_children(self, parent_key: str) -> list[dict[str, Any]]:
        self.requests += 1
        return copy.deepcopy(self.library.children(parent_key))

    # --- writing --------------------------------------------------------------------------

    def _begin(self, n: int) -> int:
        """Count the requests of ``n`` writes; returns the version before them."""
        self.requests += -(-n // 50)
        return self.library.version

    def _end(self, before: int, report: WriteReport) -> WriteReport:
        # As ZoteroStore: the safe ``since`` moves with our own writes only when nobody
        # else wrote since our last read (else their change is still to be read).
        if self._seen == before:
            self._seen = self.library.version
        report.library_version = self._seen
        return report

    def _write(self, obj: Json, base: Json | None, force: bool, label: str) -> Json | WriteFailure:
        """One versioned write, as ``BatchWriter`` settles it: a create (``version: 0``) of
        a key that exists counts as done; a stale version is written only when ``force``
        or nothing it changes moved since ``base``, counts as done when already applied, and
        is otherwise a 412."""
        lib = self.library
        key = str(obj["key"])
        cur = lib.items.get(key)
        if obj.get("version") == 0:
            if cur is not None:
                return cur
        elif cur is None:
            return WriteFailure(key, 404, "the item no longer exists in Zotero", label)
        elif cur.get("version") != obj.get("version"):
            if write_applied(obj, cur):
                return cur
            if not (force or (base is not None and write_untouched(obj, base, cur))):
                return WriteFailure(
                    key,
                    412,
                    "changed in Zotero since it was read; it will be merged on the next sync",
                    label,
                )
        body = {k: v for k, v in obj.items() if k != "version"}
        try:
            lib.put("items", body)
        except ValueError as exc:
            code, _, msg = str(exc).partition(": ")
            return WriteFailure(key, int(code), msg, label)
        return lib.items[key]

    def create_papers(
        self, entries: Iterable[NewItem], *, on_settled: Settled | None = None
    ) -> WriteReport:
        entries = list(entries)
        settled = on_settled or (lambda pid, key: None)
        lib = self.library
        by_id: dict[str, str] = {}
        by_match: dict[str, str] = {}
        children: dict[str, list[Json]] = {}
        for d in sorted(lib.items.values(), key=lambda d: (str(d.get("dateAdded")), d["key"])):
            if d.get("parentItem"):
                children.setdefault(str(d["parentItem"]), []).append(d)
                continue
            if not is_regular_item(d):
                continue
            pid = item_pllm_id(d)
            if pid:
                if pid not in by_id or (
                    lib.items[by_id[pid]].get("deleted") and not d.get("deleted")
                ):
                    by_id[pid] = str(d["key"])
            elif not d.get("deleted"):
                for mk in item_match_keys(d):
                    by_match.setdefault(mk, str(d["key"]))
        report = WriteReport()
        adopted: set[str] = set()
        writes = 0
        before = self._begin(0)
        for e in entries:
            pid = e.paper.id
            title = str(e.record.get("title") or e.paper.title)
            ops: list[Json] = []
            if pid in by_id:
                key, action = by_id[pid], "existing"
                cur = lib.items[key]
                patch = _collections_patch(cur, e.collection_keys)
            else:
                key = next(
                    (
                        by_match[mk]
                        for mk in paper_match_keys(e.paper)
                        if mk in by_match and by_match[mk] not in adopted
                    ),
                    "",
                )
                if key:
                    action = "adopted"
                    adopted.add(key)
                    cur = lib.items[key]
                    patch = _collections_patch(cur, e.collection_keys)
                    patch["extra"] = set_extra(str(cur.get("extra") or ""), {EXTRA_ID: [pid]})
                else:
                    action, key, patch = "created", new_key(set(lib.items)), {}
                    cur = build_item(e.paper, e.record, key=key, collection_keys=e.collection_keys)
                    problems = validate_item(cur)
                    if problems:
                        report.failures.append(
                            WriteFailure(key, 400, "; ".join(problems), title=title, ref=pid)
                        )
                        settled(pid, None)
                        continue
                    ops.append(cur)
            if patch:
                ops.append({"key": key, "version": cur.get("version"), **patch})
            kids = children.get(key, []) if action != "created" else []
            roles: dict[str, str] = {}
            taken = set(lib.items)
            att = find_code_attachment(kids)
            if att is not None:
                roles["code"] = str(att["key"])
            elif e.record.get("code"):
                roles["code"] = new_key(taken | {key})
                ops.append(code_attachment_item(key, e.record["code"], roles["code"]))
            if e.paper.pdf_url and find_pdf_attachment(kids) is None:
                ops.append(pdf_attachment_item(key, e.paper.pdf_url, new_key(taken | {key})))
            note = find_pllm_note(kids)
            if note is not None:
                roles["note"] = str(note["key"])
            elif e.notes_md.strip():
                roles["note"] = new_key(taken | {key} | set(roles.values()))
                ops.append(note_item(key, e.notes_md, roles["note"]))
            failed = False
            for obj in ops:
                writes += 1
                out = self._write(obj, dict(cur), False, title)
                if isinstance(out, WriteFailure):
                    report.failures.append(
                        WriteFailure(key, out.code, out.message, title=title, ref=pid)
                    )
                    failed = True
                    break
            if failed:
                settled(pid, None)
                continue
            w = Written(
                key=key,
                version=lib.items[key]["version"],
                action=action,
                ref=pid,
                data=copy.deepcopy(lib.items[key]),
            )
            for role, ck in roles.items():
                w.children[role] = (ck, lib.items[ck]["version"])
            report.results[pid] = w
            settled(pid, key)
        self.requests += -(-writes // 50)
        return self._end(before, report)

    def _run(self, ops: list[tuple[Json, Json | None, bool, str, str | None]]) -> WriteReport:
        before = self._begin(len(ops))
        report = WriteReport()
        for obj, base, force, label, ref in ops:
            out = self._write(obj, base, force, label)
            if isinstance(out, WriteFailure):
                out.ref = ref
                report.failures.append(out)
            else:
                key = str(obj["key"])
                report.results[key] = Written(
                    key, out["version"], "updated", ref=ref, data=copy.deepcopy(out)
                )
        return self._end(before, report)

    def update_items(self, changes: Iterable[ItemChange]) -> WriteReport:
        return self._run(
            [
                (
                    {**c.data, "key": c.key, "version": c.version},
                    c.base,
                    False,
                    c.label or str((c.base or {}).get("title") or ""),
                    None,
                )
                for c in changes
                if c.data
            ]
        )

    def upsert_notes(self, notes: Iterable[NoteUpsert]) -> WriteReport:
        ops: list[tuple[Json, Json | None, bool, str, str | None]] = []
        taken = set(self.library.items)
        for n in notes:
            if n.note_key is None:
                key = new_key(taken)
                taken.add(key)
                ops.append(
                    (note_item(n.parent_key, n.markdown, key), None, False, "", n.parent_key)
                )
            else:
                obj = {"key": n.note_key, "version": n.note_version, "note": note_html(n.markdown)}
                base = None if n.base_html is None else {"note": n.base_html}
                ops.append((obj, base, False, "", n.parent_key))
        return self._run(ops)

    def trash(self, keys: Iterable[str]) -> WriteReport:
        keys = list(dict.fromkeys(keys))
        items = self.library.items
        live = [k for k in keys if k in items and not items[k].get("deleted")]
        ops: list[tuple[Json, Json | None, bool, str, str | None]] = [
            (
                {"key": k, "version": items[k].get("version"), "deleted": 1},
                None,
                True,
                str(items[k].get("title") or ""),
                None,
            )
            for k in live
        ]
        report = self._run(ops)
        for w in report.results.values():
            w.action = "trashed"
        for k in keys:
            if k not in items:
                report.failures.append(WriteFailure(k, 404, "no such item in Zotero"))
            elif k not in report.results and not any(f.key == k for f in report.failures):
                report.results[k] = Written(k, items[k].get("version"), "unchanged")
        return report

    # --- collections ----------------------------------------------------------------------

    def _plan(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str], write: bool
    ) -> dict[str, str]:
        lib = self.library
        self.requests += 1
        nodes = tree_nodes(self.root_collection, taxonomies)
        self._nodes = {n.slug: n for n in nodes}
        mapping: dict[str, str] = {}
        claimed: set[str] = set()
        before = lib.version
        for depth in sorted({n.depth for n in nodes}):
            level = [n for n in nodes if n.depth == depth]
            ops = plan_level(level, mapping, lib.collections, known, claimed)
            if write and ops:
                self.requests += -(-len(ops) // 50)
                for op in ops:
                    obj = {k: v for k, v in op.obj.items() if k != "version"}
                    lib.put("collections", obj)
        if write and self._seen == before:
            self._seen = lib.version
        for slug, key in known.items():
            c = lib.collections.get(key)
            if (
                write
                and slug not in mapping
                and c is not None
                and not c.get("deleted")
                and key not in mapping.values()
            ):
                mapping[slug] = key
        return {slug: key for slug, key in mapping.items() if key in lib.collections}

    def ensure_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]:
        return self._plan(taxonomies, known, write=True)

    def find_collections(
        self, taxonomies: Mapping[str, Section], known: Mapping[str, str]
    ) -> dict[str, str]:
        return self._plan(taxonomies, known, write=False)

    def collection_paths(self, mapping: Mapping[str, str]) -> dict[str, SectionPath]:
        return section_paths(mapping, self._nodes, self.library.collections)

    def collection_names(self) -> set[str]:
        return {
            str(c.get("name")) for c in self.library.collections.values() if not c.get("deleted")
        }


def _collections_patch(cur: Mapping[str, Any], wanted: list[str]) -> Json:
    have = list(cur.get("collections") or ())
    add = [c for c in wanted if c not in have]
    return {"collections": have + add} if add else {}
