"""The sync state: one SQLite database per vault, holding what the last sync agreed on.

It keeps, per paper, the base record (the last agreed value of every synced field) and the
catalog's record at that time, the Zotero keys and versions (for one library: another library
reads them as absent) and the vault note's fingerprint; per library, the last seen library
version and the collection keys; per catalog source, the HTTP cache validators; the vault scan
cache; the conflicts shown to the user; and a journal of runs. The run lock is an OS file lock
next to the database (:mod:`pllm_sync.runlock`); the old ``lock`` table is no longer used.

Why SQLite: atomic transactions let the engine commit the state only after the side effects
it records (``transaction()``), so a crash leaves a state the next run converges from. WAL
mode lets ``pllm-sync status`` read while the daemon writes. ``synchronous=FULL`` because a
commit that claims a write happened must survive a power cut.

The schema is versioned through ``PRAGMA user_version`` and upgraded by the ordered steps in
``MIGRATIONS`` (step ``i`` takes a database from version ``i`` to ``i + 1``), each in its own
transaction; never edit a released step, append a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import PllmSyncError
from ..paths import app_dirs
from ..runlock import LockInfo, RunLock, exclusive

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from typing import Any

    from ..config import Config, ZoteroConfig
    from ..record import Record

log = logging.getLogger(__name__)
SQLITE_MAX_INT = 2**63 - 1
"""The largest id a row can have: a larger Python int cannot even be bound to a query."""


class StateError(PllmSyncError):
    """The state database cannot be opened, is damaged, or was made by a newer pllm-sync."""

    exit_code = 8


# --- value encoding -------------------------------------------------------------------------

_SET, _TUPLE, _DICT = "$set", "$tuple", "$dict"
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')  # what json.dumps escapes (ensure_ascii off)


_SCALARS = frozenset({type(None), bool, int, float, str})
"""Types JSON stores as they are (checked by exact type first: most record values are)."""
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps`` with these options builds anew for every call."""


def _enc(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, frozenset | set):
        if not value:
            return {_SET: []}
        if all(isinstance(x, str) and not _NEEDS_ESCAPE.search(x) for x in value):
            # json.dumps(x) is '"' + x + '"' for these: the same order, without the dumps
            return {_SET: sorted(value, key=lambda x: x + '"')}
        items = [_enc(x) for x in value]
        items.sort(key=lambda x: json.dumps(x, sort_keys=True, ensure_ascii=False))
        return {_SET: items}
    if isinstance(value, tuple):
        if all(type(x) is str for x in value):
            return {_TUPLE: list(value)}
        return {_TUPLE: [_enc(x) for x in value]}
    if isinstance(value, list):
        scalars = _SCALARS
        return [x if type(x) in scalars else _enc(x) for x in value]
    if isinstance(value, dict):
        return {_DICT: _enc_items(value)}
    raise TypeError(f"cannot store a {type(value).__name__} in the state database: {value!r}")


_EMPTY_SET: frozenset[Any] = frozenset()


def _shared(value: Any) -> Any:
    """A decoded string as the one copy every record holding it shares (interned).

    ``json.loads`` makes fresh strings for every record it decodes, keys included: the
    daemon holds thousands of records (three per paper, one per note), most of whose keys
    and many of whose values (statuses, venues, section names, a paper's title and URL in
    each of its records) are equal, and keeping one copy of each is most of their memory.
    Interned strings are freed when the last record holding them goes."""
    return sys.intern(value) if type(value) is str else value


def _frozen(items: Iterable[Any]) -> frozenset[Any]:
    out = frozenset(map(_shared, items))
    return out if out else _EMPTY_SET  # an empty frozenset is not a singleton


def _dec(value: Any) -> Any:
    if isinstance(value, list):
        return [_dec(x) for x in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == _SET:
                return _frozen(_dec(x) for x in inner)
            if tag == _TUPLE:
                return tuple(_dec(x) for x in inner)
            if tag == _DICT:
                return {sys.intern(k): _dec(v) for k, v in inner.items()}
        return {sys.intern(k): _dec(v) for k, v in value.items()}
    return _shared(value)


def encode_value(value: Any) -> str:
    """Deterministic JSON for any record value: equal values give equal bytes (sets sorted)."""
    return _JSON.encode(_enc(value))


def decode_value(text: str) -> Any:
    return _dec(json.loads(text))


def _enc_items(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    scalars = _SCALARS
    return {
        (k if type(k) is str else str(k)): (v if type(v) in scalars else _enc(v))
        for k, v in mapping.items()
    }


def encode_record(record: Record) -> str:
    """A record as deterministic JSON; frozensets and tuples come back as such from
    ``decode_record``, so a decoded base compares equal to the adapters' canonical records.

    The text must not change from one version to the next (``put_papers`` skips a row whose
    encoded values equal the stored ones), so it is always ``json``'s; orjson writes the
    same bytes ~10x faster (tests/sync/test_state_codec.py holds them equal) and is used
    once something else has loaded it (a pull's batch writer does): importing it costs
    20 ms, as much as ~3,000 encodes. A float (which orjson spells differently: ``1e16``)
    or a value orjson refuses (an int over 64 bits, a lone surrogate) takes ``json``."""
    items = _enc_items(record)
    dumps = _orjson_dumps()
    if dumps is not None and not _has_float(items):
        try:
            text: str = dumps(items, option=_ORJSON_SORT).decode()
            return text
        except TypeError:  # orjson.JSONEncodeError is one
            pass
    return _JSON.encode(items)


_ORJSON_SORT = 1 << 5  # orjson.OPT_SORT_KEYS (checked against orjson in the tests)
_orjson: Any = None


def _orjson_dumps() -> Any:
    """``orjson.dumps`` once another part of the run has imported orjson, else None."""
    global _orjson
    if _orjson is None:
        mod = sys.modules.get("orjson")
        dumps = getattr(mod, "dumps", None)  # None too while another thread imports it
        if dumps is None or getattr(mod, "OPT_SORT_KEYS", None) != _ORJSON_SORT:
            return None
        _orjson = dumps
    return _orjson


def _has_float(value: Any) -> bool:
    """Whether an ``_enc_items`` result holds a float anywhere (records rarely do)."""
    stack = [value]
    while stack:
        v = stack.pop()
        for x in v.values() if type(v) is dict else v:
            t = type(x)
            if t is str or t is int or x is None or t is bool:
                continue
            if t is float:
                return True
            if t is dict or t is list:
                stack.append(x)
            else:  # a subclass or a type json itself will judge: take json
                return True
    return False


def _tagged(pairs: list[tuple[str, Any]]) -> Any:
    """``json`` pairs hook: the tagged forms of :func:`_enc` back to sets, tuples, dicts
    (the same values :func:`_dec` gives, built while parsing, strings shared)."""
    if len(pairs) == 1:
        tag, inner = pairs[0]
        if tag == _SET and isinstance(inner, list):
            return _frozen(inner)
        if tag == _TUPLE and isinstance(inner, list):
            return tuple(map(_shared, inner))
        if tag == _DICT and isinstance(inner, dict):
            return inner
    return {sys.intern(k): _shared(v) for k, v in pairs}


_RECORD_DECODER = json.JSONDecoder(object_pairs_hook=_tagged)


def decode_record(text: str) -> Record:
    if '"$dict"' in text:  # nested mappings: the tag-aware walk keeps user keys literal
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a stored record must be a JSON object")
        return {sys.intern(k): _dec(v) for k, v in data.items()}
    data = _RECORD_DECODER.decode(text)
    if not isinstance(data, dict):
        raise ValueError("a stored record must be a JSON object")
    return data


def _enc_opt(record: Record | None) -> str | None:
    return None if record is None else encode_record(record)


def _dec_opt(text: str | None) -> Record | None:
    return None if text is None else decode_record(text)


def _dec_reading(text: str | None) -> Record | None:
    """A scan-cache row: a note's reading, whose ``record`` is a mapping. When that is the
    only mapping in the row (one ``"$dict"`` tag), one pass of the tag-reading decoder reads
    it exactly, without the general walk (a sync decodes one row per note): a mapping
    below it, or a value spelling the tag, adds a tag; a record of one key that is a tag
    comes back still wrapped in its tag, and takes the walk too."""
    if text is not None and text.count('"$dict"') == 1 and '"record":{"$dict":' in text:
        data = _RECORD_DECODER.decode(text)
        if isinstance(data, dict):
            record = data.get("record")
            if isinstance(record, dict) and _DICT not in record:
                return data
    return _dec_opt(text)


# A paper's catalog record and Zotero record repeat most of its base (the Zotero record is
# the base itself for nearly every paper): since schema 6 they are stored against it, which
# halves a pull's state (fewer bytes, and rows small enough to fit three or more a page).
_SAME = "="
"""The stored text of a record that is its row's base, value for value."""
_DELTA = "~"
"""Prefix of a record stored as its row's base without some keys and with others changed:
``~`` + the JSON list of the keys dropped + ``encode_record`` of the keys that differ."""
_KEYS_DECODER = json.JSONDecoder()
_MISSING = object()
_PLAIN = (str, int, bool, type(None))


def _same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` is stored as the same text as ``b``, told without encoding either:
    the same type and equal (``1 == True``, but they are stored differently), containers
    only of strings. Anything else (floats, nested values) is told apart, and stored."""
    if a is b:  # one object: one text, whatever it holds
        return True
    t = type(a)
    if t is not type(b) or a != b:
        return False
    if t in _PLAIN:
        return True
    if t is tuple or t is frozenset:
        return all(type(x) is str for x in a) and all(type(x) is str for x in b)
    return False


def _enc_against(record: Record | None, base: Record | None) -> str | None:
    """``record`` as stored in the row whose base is ``base`` (see ``_SAME``, ``_DELTA``)."""
    if record is None:
        return None
    if record is base:
        return _SAME
    if base is None or not all(type(k) is str for k in record):
        return encode_record(record)
    dropped = sorted(k for k in base if k not in record)
    missing = _MISSING
    changed = {
        k: v
        for k, v in record.items()
        if (b := base.get(k, missing)) is not v and (b is missing or not _same_value(v, b))
    }
    if not dropped and not changed:
        return _SAME
    keys = json.dumps(dropped, ensure_ascii=False, separators=(",", ":"))
    return _DELTA + keys + encode_record(changed)


def _dec_against(text: str | None, base: Record | None) -> Record | None:
    """A record stored by ``_enc_against`` (or in full, as before schema 6): keys in sorted
    order, as a full record decodes, and the base's own value objects where they are equal
    (the same object for a record stored as the base: records read from the state are
    never changed in place, only replaced)."""
    if text is None or text[:1] not in (_SAME, _DELTA):
        return _dec_opt(text)
    if base is None:
        raise ValueError("a record stored against the base of a row without one")
    if text == _SAME:
        return base
    dropped, end = _KEYS_DECODER.raw_decode(text, 1)
    changed = decode_record(text[end:])
    out = {k: v for k, v in base.items() if k not in changed}
    for k in dropped:
        out.pop(k, None)
    out.update(changed)
    return dict(sorted(out.items()))


# --- values ---------------------------------------------------------------------------------


@dataclass(slots=True)
class PaperState:
    """What the last sync agreed on for one paper, and where each side keeps it."""

    pllm_id: str
    base: Record | None = None
    catalog_base: Record | None = None
    zotero_key: str | None = None
    zotero_version: int | None = None
    zotero_note_key: str | None = None
    zotero_note_version: int | None = None
    note_path: str | None = None
    note_size: int | None = None
    note_mtime_ns: int | None = None
    note_sha256: str | None = None
    tombstone: bool = False
    updated_at: float | None = None
    """Set by ``put_paper``."""
    zotero_record: Record | None = None
    """What the Zotero item held after the last run (read or written). An item absent from
    the change feed still holds this, which is not the base while a conflict is open or a
    write to the other side failed."""
    zotero_retired: bool = False
    """The user removed the Zotero copy on purpose: never recreate it unless it comes back."""
    vault_retired: bool = False
    """The user removed the note on purpose: never recreate it unless it comes back."""


@dataclass(frozen=True)
class LibraryRef:
    """A Zotero library as the state knows it; the endpoint is part of it so a test emulator's
    library never shares state with the real one."""

    library_type: str
    library_id: str
    endpoint: str

    @classmethod
    def from_config(cls, cfg: ZoteroConfig) -> LibraryRef:
        return cls(cfg.library_type, cfg.library_id or "", cfg.endpoint)


@dataclass(frozen=True)
class CollectionState:
    key: str
    version: int | None = None


@dataclass(frozen=True)
class SourceMeta:
    """HTTP cache validators and the fingerprint of a catalog source's last fetched text."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    fetched_at: str | None = None
    """ISO 8601 UTC, as the catalog sources report it."""


@dataclass(frozen=True)
class ScanEntry:
    """A vault note as last scanned: unchanged size and mtime mean the cached record holds."""

    relpath: str
    size: int
    mtime_ns: int
    sha256: str
    pllm_id: str | None = None
    record: Record | None = None
    ctime_ns: int = 0  # 0: not known (a row from before schema 7)


@dataclass(frozen=True)
class ConflictRow:
    id: int
    pllm_id: str
    field: str
    base: Any
    zotero: Any
    vault: Any
    created_at: float
    resolved_at: float | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


RUN_STATUSES = ("running", "ok", "failed", "aborted")


@dataclass(frozen=True)
class RunRecord:
    id: int
    command: str
    started_at: float
    finished_at: float | None
    status: str
    plan: Any
    applied: Any


# --- schema ---------------------------------------------------------------------------------

_V1 = """
CREATE TABLE papers (
    pllm_id TEXT PRIMARY KEY,
    base TEXT,
    catalog_base TEXT,
    zotero_key TEXT,
    zotero_version INTEGER,
    zotero_note_key TEXT,
    zotero_note_version INTEGER,
    note_path TEXT,
    note_size INTEGER,
    note_mtime_ns INTEGER,
    note_sha256 TEXT,
    tombstone INTEGER NOT NULL DEFAULT 0,
    updated_at REAL
);
CREATE TABLE libraries (
    library TEXT PRIMARY KEY,
    since INTEGER
);
CREATE TABLE collections (
    library TEXT NOT NULL,
    path TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER,
    PRIMARY KEY (library, path)
);
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    fetched_at TEXT
);
CREATE TABLE scan_cache (
    relpath TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    pllm_id TEXT,
    record TEXT
);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    pllm_id TEXT NOT NULL,
    field TEXT NOT NULL,
    base TEXT,
    zotero TEXT,
    vault TEXT,
    created_at REAL NOT NULL,
    resolved_at REAL,
    resolution TEXT
);
"""

_V2 = """
CREATE INDEX conflicts_open ON conflicts (pllm_id, field) WHERE resolved_at IS NULL;
CREATE INDEX papers_zotero_key ON papers (zotero_key);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    plan TEXT,
    applied TEXT
);
CREATE TABLE lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        for stmt in sql.split(";"):
            if stmt.strip():
                conn.execute(stmt)

    return step


_V3 = """
ALTER TABLE papers ADD COLUMN zotero_record TEXT;
ALTER TABLE papers ADD COLUMN zotero_retired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE papers ADD COLUMN vault_retired INTEGER NOT NULL DEFAULT 0
"""

_V4 = """
ALTER TABLE papers ADD COLUMN zotero_library TEXT;
UPDATE papers SET zotero_library = (SELECT library FROM libraries)
    WHERE (SELECT COUNT(*) FROM libraries) = 1
"""
# 3 -> 4: the Zotero half of a paper's row names its library. A database that only ever saw
# one library gives every row that library; otherwise the rows stay NULL ("any library"),
# which is how every older version read them.

_SETTLED_TABLES = ("papers", "scan_cache", "conflicts", "collections", "libraries")


def _v5(conn: sqlite3.Connection) -> None:
    """4 -> 5: the mark a sync with nothing to do leaves (see ``StateDB.settled``). Any
    write to what a sync reads from the state drops it, in SQLite itself, whichever code
    writes (a trigger per table and statement kind). And an index ``status`` counts from."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS settled "
        "(id INTEGER PRIMARY KEY CHECK (id = 1), fingerprint TEXT)"
    )
    for table in _SETTLED_TABLES:
        for op in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS settled_{table}_{op.lower()} "
                f"AFTER {op} ON {table} BEGIN DELETE FROM settled; END"
            )
    conn.execute("CREATE INDEX IF NOT EXISTS papers_counts ON papers (note_path, tombstone)")


def _v6(conn: sqlite3.Connection) -> None:
    """5 -> 6: each paper's catalog and Zotero records stored against its base (``_SAME``,
    ``_DELTA``): rewritten here, so the first sync after the upgrade finds every row as it
    would write it (a no-op still writes nothing). An older pllm-sync refuses version 6
    instead of misreading the new form."""
    rows = conn.execute("SELECT pllm_id, base, catalog_base, zotero_record FROM papers")
    updates = []
    for pid, base_text, catalog_text, zotero_text in rows.fetchall():
        base = _dec_opt(base_text)
        catalog = _enc_against(_dec_opt(catalog_text), base)
        zotero = _enc_against(base if zotero_text == base_text else _dec_opt(zotero_text), base)
        if (catalog, zotero) != (catalog_text, zotero_text):
            updates.append((catalog, zotero, pid))
    conn.executemany(
        "UPDATE papers SET catalog_base = ?, zotero_record = ? WHERE pllm_id = ?", updates
    )


def _v7(conn: sqlite3.Connection) -> None:
    """6 -> 7: each cached note's ctime, which the no-op check compares too (see
    ``NoteStat``). Rows from before hold 0, which no file has: each note is checked against
    its hash once. (A database taken back to an older version keeps the column.)"""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(scan_cache)")}
    if "ctime_ns" not in columns:
        conn.execute("ALTER TABLE scan_cache ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0")


_V8 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
# 7 -> 8: facts about the database itself; ``vault``: the real path of the vault it is the
# state of, so a vault moved elsewhere finds its state again (``sync/moved_vault.py``).


def _v9(conn: sqlite3.Connection) -> None:
    """8 -> 9: the scan cache read again. A note without an intact managed region now says
    nothing about ``abstract`` (the field is left out of its reading); readings cached
    before held ``abstract: None`` for it, which the next sync took for the user clearing
    the abstract, and wrote to Zotero. One full read of the vault at the next run."""
    conn.execute("DELETE FROM scan_cache")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _script(_V1),  # 0 -> 1: papers, libraries, collections, sources, scan cache, conflicts
    _script(_V2),  # 1 -> 2: run journal, daemon lock, indexes for open conflicts and keys
    _script(_V3),  # 2 -> 3: per-paper Zotero record and per-side retired flags
    _script(_V4),  # 3 -> 4: per-paper Zotero state belongs to one library
    _v5,  # 4 -> 5: the settled mark, dropped by triggers on every state write
    _v6,  # 5 -> 6: catalog and Zotero records stored against the base
    _v7,  # 6 -> 7: the scan cache keeps each note's ctime
    _script(_V8),  # 7 -> 8: the meta table (the vault's path)
    _v9,  # 8 -> 9: the scan cache read again (a note with no region says no abstract)
)
SCHEMA_VERSION = len(MIGRATIONS)

_PAPER_COLS = (
    "pllm_id",
    "base",
    "catalog_base",
    "zotero_key",
    "zotero_version",
    "zotero_note_key",
    "zotero_note_version",
    "note_path",
    "note_size",
    "note_mtime_ns",
    "note_sha256",
    "tombstone",
    "updated_at",
    "zotero_record",
    "zotero_retired",
    "vault_retired",
    "zotero_library",
)
_ZOTERO_COLS = (
    "zotero_key",
    "zotero_version",
    "zotero_note_key",
    "zotero_note_version",
    "zotero_record",
    "zotero_retired",
)
"""The Zotero half of a paper's row: it describes one library (``zotero_library``)."""

_UPDATED_AT = _PAPER_COLS.index("updated_at")

_UPSERT_PAPER = (
    f"INSERT INTO papers ({', '.join(_PAPER_COLS)}) "
    f"VALUES ({', '.join('?' * len(_PAPER_COLS))}) "
    "ON CONFLICT (pllm_id) DO UPDATE SET "
    + ", ".join(
        f"{c} = COALESCE(excluded.{c}, {c})" if c == "zotero_library" else f"{c} = excluded.{c}"
        for c in _PAPER_COLS[1:]
    )
)

LARGE_CACHE_KIB = 64 * 1024
"""The page cache of a ``transaction(large=True)``: a 5,000-paper pull's commit touches
about 17 MB of pages; SQLite allocates the cache as pages are used, not up front."""


def _unstamped(row: tuple[Any, ...]) -> bytes:
    """A digest of a paper row without its ``updated_at`` stamp, to tell whether a put
    changes it. A digest, not the row: a long-lived reader (the daemon) would otherwise
    hold every paper's encoded records twice, once decoded and once as stored text."""
    values = row[:_UPDATED_AT] + row[_UPDATED_AT + 1 :]
    return hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class _Result:
    rows: list[Any]
    rowcount: int
    lastrowid: int | None

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


def vault_state_name(vault_path: str | Path) -> str:
    """A stable name for a vault's state: a hash of its resolved path, so every config file
    that names the same vault (through any spelling or symlink) shares one state and lock."""
    import hashlib

    real = os.path.realpath(Path(vault_path).expanduser())
    return hashlib.sha1(real.encode("utf-8")).hexdigest()[:12]


def connect_read_only(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-only connection to the state database at ``path``: a look that must neither
    migrate it nor create an empty database where a file went missing."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


NOTE_PATHS_SQL = "SELECT note_path FROM papers WHERE note_path IS NOT NULL"
"""The vault path of every note a state keeps in step."""


def vault_state_file(vault_path: str | Path) -> Path:
    """The state database of the vault at ``vault_path`` (whether it exists or not)."""
    return app_dirs().data / f"state-vault-{vault_state_name(vault_path)}.sqlite3"


def default_state_path(config: Config, *, adopt_moved: bool = False) -> Path:
    """Where the state of this config's vault lives: one database (and one run lock) per
    vault, whatever config file names it; the Zotero side of each paper is kept per library
    inside it. A database found at the old per-config-file location is moved here first;
    with ``adopt_moved`` (a run about to use the state, not a look at it such as
    ``status``), so is the state of this very vault folder found at another path (moved)."""
    path = vault_state_file(config.vault.path)
    if path.exists():
        return path
    legacy = app_dirs().data / f"state-{config.state_name}.sqlite3"
    if legacy.exists():
        _adopt_legacy_state(legacy, path)
    elif adopt_moved and path.parent.is_dir():
        from .moved_vault import moved_vault_state

        # one run at a time adopts: the second would copy over the first's adopted state
        with exclusive(path.parent / "adopting.lock"):
            moved = None if path.exists() else moved_vault_state(config.vault.path, path)
            if moved is not None:
                old_db, old_vault = moved
                _adopt_legacy_state(old_db, path, quiet=True)
                log.warning(
                    "the vault moved from %s to %s: its state (%s) now follows it",
                    old_vault,
                    os.path.realpath(config.vault.path.expanduser()),
                    path,
                )
    return path


def _adopt_legacy_state(legacy: Path, path: Path, *, quiet: bool = False) -> None:
    """Copy a per-config database (pllm-sync before state followed the vault), or a moved
    vault's, to the vault's place with SQLite's backup API (consistent even with a WAL
    beside it), then rename the old file so it is not adopted twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.adopting-{os.getpid()}")
    try:
        # read-only: a file gone meanwhile fails here, never becomes a new empty database
        src = connect_read_only(legacy)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        if path.exists():  # adopted meanwhile by another run: that copy stands
            tmp.unlink()
            return
        os.replace(tmp, path)
        moved = legacy.with_name(legacy.name + ".moved-to-" + path.name)
        os.replace(legacy, moved)
        for side in ("-wal", "-shm"):  # with it, so nothing stale keeps the old name
            if os.path.exists(f"{legacy}{side}"):
                os.replace(f"{legacy}{side}", f"{moved}{side}")
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(
            f"cannot move the state database {legacy} to {path}: {exc}",
            hint="check that the pllm-sync data folder is writable",
        ) from exc
    if not quiet:
        log.warning("state database %s moved to %s (state now follows the vault)", legacy, path)


def _set_wal(conn: sqlite3.Connection, wait: float = 10.0) -> str:
    """Switch to WAL, waiting for a concurrent first run that holds the database (changing
    the journal mode does not always go through the busy handler)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _lib_key(lib: LibraryRef) -> str:
    return f"{lib.library_type}:{lib.library_id}@{lib.endpoint.rstrip('/')}"


class StateDB:
    """The state database. Open with ``StateDB.open(path)``; use as a context manager.

    Each method outside ``transaction()`` commits on its own; inside, everything commits
    together when the block ends without an exception and is rolled back otherwise.
    Thread-safe: one connection guarded by a re-entrant lock held for a whole transaction.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._holds_lock = False
        # Digests of paper rows as last read from the database (without ``updated_at``): a
        # put of the same values is skipped, so a run that changes nothing writes nothing.
        self._stored: dict[str, bytes] = {}
        self._run_lock = RunLock(self.lock_path)
        self._library: str | None = None
        self._cache_size = int(conn.execute("PRAGMA cache_size").fetchone()[0])

    def bind_library(self, lib: LibraryRef | None) -> None:
        """Name the Zotero library this run syncs with. A paper's Zotero keys, versions,
        record and retired flag are kept for one library: read for another library they are
        absent (the paper is new there: its item is created, or adopted by its id), so
        switching the config from the sandbox to a real library never reads the old
        library's keys as items deleted from the new one. Unbound (vault only), rows are read
        and written as they are."""
        self._library = None if lib is None else _lib_key(lib)
        self._stored.clear()  # rows read for another library are not what a put compares

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> StateDB:
        """Open (creating and migrating as needed) the state database at ``path``."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(
                f"cannot open the state database {p}: {exc}",
                hint="check that the folder exists and is writable",
            ) from exc
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = _set_wal(conn)
            if str(mode).lower() != "wal":
                log.warning("state database %s: WAL mode unavailable (%s)", p, mode)
            conn.execute("PRAGMA synchronous = FULL")
            db = cls(conn, p)
            db._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StateError(
                f"the state database {p} is damaged or not a pllm-sync database: {exc}",
                hint=f"move {p} aside and run `pllm-sync sync` again; the state is rebuilt "
                "from Zotero and the vault (ids live in both), keeping every user value",
            ) from exc
        except BaseException:
            conn.close()
            raise
        return db

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state database {self.path} has schema version {version}, newer than "
                f"this pllm-sync understands ({SCHEMA_VERSION})",
                hint="upgrade pllm-sync (the database was written by a newer version)",
            )
        while version < SCHEMA_VERSION:
            with self.transaction(large=True):
                # Another process may have run this step since we read the version (two first
                # runs at once): re-read it under the write lock BEGIN IMMEDIATE holds.
                version = self.schema_version
                if version >= SCHEMA_VERSION:
                    break
                MIGRATIONS[version](self._conn)
                version += 1
                self._conn.execute(f"PRAGMA user_version = {version}")
            log.info("state database %s migrated to schema version %d", self.path, version)

    def close(self) -> None:
        with self._lock:
            if self._holds_lock:
                self.release_lock()
            self._conn.close()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, large: bool = False) -> Iterator[StateDB]:
        """Group writes: committed together at the end of the block, rolled back (and the
        exception re-raised) if the block fails. Nested blocks are savepoints.

        ``large``: the block writes many rows (a pull's commit of every paper). SQLite's
        default page cache (2 MB) then spills pages to the WAL mid-transaction and writes
        many of them again (three times the bytes, a hundred thousand ``pwrite`` calls at
        5,000 papers), so the cache is made big enough for the whole transaction while it
        runs and given back at its end (a long-lived daemon keeps the small one)."""
        with self._lock:
            depth = self._depth
            big = large and depth == 0
            if big:
                self._conn.execute(f"PRAGMA cache_size = -{LARGE_CACHE_KIB}")
            try:
                if depth == 0:
                    self._conn.execute("BEGIN IMMEDIATE")
                else:
                    self._conn.execute(f"SAVEPOINT sp{depth}")
                self._depth += 1
                try:
                    yield self
                except BaseException:
                    self._depth -= 1
                    self._stored.clear()  # what was read inside may have been rolled back
                    if depth == 0:
                        self._conn.execute("ROLLBACK")
                    else:
                        self._conn.execute(f"ROLLBACK TO sp{depth}")
                        self._conn.execute(f"RELEASE sp{depth}")
                    raise
                self._depth -= 1
                if depth == 0:
                    self._conn.execute("COMMIT")
                else:
                    self._conn.execute(f"RELEASE sp{depth}")
            finally:
                if big:  # shrinking the cache frees the pages beyond it
                    self._conn.execute(f"PRAGMA cache_size = {self._cache_size}")

    def _x(self, sql: str, params: Iterable[Any] = ()) -> _Result:
        """Run one statement and fetch its rows under the lock (the connection is shared)."""
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            return _Result(cur.fetchall(), cur.rowcount, cur.lastrowid)

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for many rows, all or none: in the caller's transaction when
        there is one (no savepoint: inside a big transaction, SQLite would copy every page
        the rows touch to a statement journal first), else in a transaction of their own
        (autocommit would commit, and fsync, each row)."""
        with self._lock:
            if len(rows) == 1:
                self._conn.execute(sql, rows[0])
            elif rows and self._depth:
                self._conn.executemany(sql, rows)
            elif rows:
                with self.transaction():
                    self._conn.executemany(sql, rows)

    # -- papers --------------------------------------------------------------------------

    def _paper(self, row: tuple[Any, ...]) -> PaperState:
        self._stored[row[0]] = _unstamped(row)
        d = dict(zip(_PAPER_COLS, row, strict=True))
        base_text, zotero_text = d["base"], d["zotero_record"]
        d["base"] = base = _dec_opt(base_text)
        # stored against the base: its values are the base's own objects where equal
        d["catalog_base"] = _dec_against(d["catalog_base"], base)
        d["tombstone"] = bool(d["tombstone"])
        # Zotero holds the agreed record for nearly every paper: one decoded dict for both
        # (records from the state are never changed in place, only replaced)
        d["zotero_record"] = base if zotero_text == base_text else _dec_against(zotero_text, base)
        d["zotero_retired"] = bool(d["zotero_retired"])
        d["vault_retired"] = bool(d["vault_retired"])
        lib = d.pop("zotero_library")
        if lib is not None and self._library is not None and lib != self._library:
            for col in _ZOTERO_COLS:
                d[col] = False if col == "zotero_retired" else None
        return PaperState(**d)

    def get_paper(self, pllm_id: str) -> PaperState | None:
        row = self._x(
            f"SELECT {', '.join(_PAPER_COLS)} FROM papers WHERE pllm_id = ?", (pllm_id,)
        ).fetchone()
        return None if row is None else self._paper(row)

    def all_papers(self) -> dict[str, PaperState]:
        rows = self._x(f"SELECT {', '.join(_PAPER_COLS)} FROM papers ORDER BY pllm_id")
        return {p.pllm_id: p for p in map(self._paper, rows.fetchall())}

    def paper_stamps(self) -> dict[str, float | None]:
        """Each paper's ``updated_at``, undecoded: a long-lived reader (the daemon's engine)
        re-reads only the papers whose stamp moved since it last loaded them."""
        rows = self._x("SELECT pllm_id, updated_at FROM papers").fetchall()
        return {str(pid): ts for pid, ts in rows}

    def note_paths(self) -> list[str]:
        """The vault path of every note the state keeps in step (to tell a vault folder
        that holds none of them, as an empty mount point, from the vault)."""
        rows = self._x(NOTE_PATHS_SQL).rows
        return [str(r[0]) for r in rows]

    def paper_counts(self) -> dict[str, int]:
        """How many papers the state knows, and how many are in Zotero, in the vault and
        removed upstream: one COUNT query, so ``status`` stays instant at any size."""
        # two scans of covering indexes: the rows themselves hold records many pages long
        row = self._x(
            "SELECT COUNT(*), COUNT(note_path), COALESCE(SUM(tombstone != 0), 0) FROM papers"
        ).fetchone()
        total, in_vault, removed = row if row else (0, 0, 0)
        in_zotero = self._x("SELECT COUNT(zotero_key) FROM papers").fetchone()[0]
        return {
            "total": int(total),
            "in_zotero": int(in_zotero),
            "in_vault": int(in_vault),
            "removed_upstream": int(removed),
        }

    def put_paper(self, paper: PaperState) -> None:
        """Insert or replace the paper's row (``updated_at`` is set to now); a row that
        would not change is not written."""
        self.put_papers((paper,))

    def put_papers(self, papers: Iterable[PaperState]) -> None:
        """``put_paper`` for many papers in one statement (a pull commits thousands): rows
        that would not change are not written; the rest get one ``updated_at``."""
        now = time.time()
        rows: list[tuple[Any, ...]] = []
        written: list[PaperState] = []
        stored, library = self._stored, self._library
        for paper in papers:
            base = paper.base
            values = (
                paper.pllm_id,
                _enc_opt(base),
                _enc_against(paper.catalog_base, base),
                paper.zotero_key,
                paper.zotero_version,
                paper.zotero_note_key,
                paper.zotero_note_version,
                paper.note_path,
                paper.note_size,
                paper.note_mtime_ns,
                paper.note_sha256,
                int(paper.tombstone),
                now,
                _enc_against(paper.zotero_record, base),
                int(paper.zotero_retired),
                int(paper.vault_retired),
                library,
            )
            if stored:  # a row read from the database: skip the put if nothing moved
                digest = stored.pop(paper.pllm_id, None)
                if digest is not None and digest == _unstamped(values):
                    stored[paper.pllm_id] = digest
                    continue
            rows.append(values)
            written.append(paper)
        self._many(_UPSERT_PAPER, rows)
        for paper in written:
            paper.updated_at = now

    def delete_paper(self, pllm_id: str) -> None:
        self._stored.pop(pllm_id, None)
        self._x("DELETE FROM papers WHERE pllm_id = ?", (pllm_id,))

    # -- libraries and collections -------------------------------------------------------

    def get_library_version(self, lib: LibraryRef) -> int | None:
        """The library version the last sync saw (the ``since`` of the next incremental read)."""
        row = self._x("SELECT since FROM libraries WHERE library = ?", (_lib_key(lib),)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def set_library_version(self, lib: LibraryRef, version: int | None) -> None:
        self._x(
            "INSERT INTO libraries (library, since) VALUES (?, ?) "
            "ON CONFLICT (library) DO UPDATE SET since = excluded.since "
            "WHERE libraries.since IS NOT excluded.since",
            (_lib_key(lib), version),
        )

    def get_collections(self, lib: LibraryRef) -> dict[str, CollectionState]:
        rows = self._x(
            "SELECT path, key, version FROM collections WHERE library = ? ORDER BY path",
            (_lib_key(lib),),
        ).fetchall()
        return {path: CollectionState(key, version) for path, key, version in rows}

    def get_collection_keys(self, lib: LibraryRef) -> dict[str, str]:
        """Taxonomy node (section path) -> Zotero collection key."""
        return {path: c.key for path, c in self.get_collections(lib).items()}

    def set_collection_keys(
        self,
        lib: LibraryRef,
        keys: Mapping[str, str],
        versions: Mapping[str, int | None] | None = None,
    ) -> None:
        """Replace the library's whole path -> collection key map (not written when it is
        already that map)."""
        lk = _lib_key(lib)
        current = self.get_collections(lib)
        wanted = {p: CollectionState(k, (versions or {}).get(p)) for p, k in keys.items()}
        if current == wanted:
            return
        with self.transaction():
            self._x("DELETE FROM collections WHERE library = ?", (lk,))
            for path, key in keys.items():
                self.put_collection(lib, path, key, (versions or {}).get(path))

    def put_collection(
        self, lib: LibraryRef, path: str, key: str, version: int | None = None
    ) -> None:
        self._x(
            "INSERT OR REPLACE INTO collections (library, path, key, version) VALUES (?, ?, ?, ?)",
            (_lib_key(lib), path, key, version),
        )

    # -- catalog sources -----------------------------------------------------------------

    def get_source_meta(self, name: str) -> SourceMeta | None:
        row = self._x(
            "SELECT name, etag, last_modified, sha256, fetched_at FROM sources WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else SourceMeta(*row)

    def source_names(self) -> set[str]:
        """The names of every catalog source a pull has read (a list since removed from the
        config included)."""
        return {r[0] for r in self._x("SELECT name FROM sources").fetchall()}

    def set_source_meta(self, meta: SourceMeta) -> None:
        self._x(
            "INSERT OR REPLACE INTO sources (name, etag, last_modified, sha256, fetched_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (meta.name, meta.etag, meta.last_modified, meta.sha256, meta.fetched_at),
        )

    # -- vault scan cache ----------------------------------------------------------------

    def get_scan_cache(self) -> dict[str, ScanEntry]:
        rows = self._x(
            "SELECT relpath, size, mtime_ns, sha256, pllm_id, record FROM scan_cache"
        ).fetchall()
        return {r[0]: ScanEntry(r[0], r[1], r[2], r[3], r[4], _dec_reading(r[5])) for r in rows}

    def get_scan_entry(self, relpath: str) -> ScanEntry | None:
        r = self._x(
            "SELECT relpath, size, mtime_ns, sha256, pllm_id, record FROM scan_cache "
            "WHERE relpath = ?",
            (relpath,),
        ).fetchone()
        return None if r is None else ScanEntry(r[0], r[1], r[2], r[3], r[4], _dec_reading(r[5]))

    def put_scan_cache(self, *entries: ScanEntry) -> None:
        rows = [
            (e.relpath, e.size, e.mtime_ns, e.sha256, e.pllm_id, _enc_opt(e.record), e.ctime_ns)
            for e in entries
        ]
        self._many(
            "INSERT OR REPLACE INTO scan_cache "
            "(relpath, size, mtime_ns, sha256, pllm_id, record, ctime_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def delete_scan_cache(self, *relpaths: str) -> None:
        with self.transaction():
            for rp in relpaths:
                self._x("DELETE FROM scan_cache WHERE relpath = ?", (rp,))

    def clear_scan_cache(self) -> None:
        self._x("DELETE FROM scan_cache")

    def scan_cache_stats(self) -> dict[str, tuple[int, int, int]]:
        """Each cached note's size, mtime and ctime, without decoding its reading (the
        settled check of a no-op sync compares these with the files)."""
        rows = self._x("SELECT relpath, size, mtime_ns, ctime_ns FROM scan_cache").fetchall()
        return {str(rel): (int(size), int(mtime), int(ct)) for rel, size, mtime, ct in rows}

    # -- facts about the database ---------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._x("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (no write when it is already that)."""
        if self.get_meta(key) != value:
            self._x("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def get_meta_map(self, key: str) -> dict[str, Any]:
        """The JSON object kept under ``key``; empty when there is none, or it is not one
        (a state written by hand or by a later version is not trusted to be)."""
        try:
            value = json.loads(self.get_meta(key) or "{}")
        except ValueError:
            return {}
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}

    def set_meta_map(self, key: str, value: Mapping[str, Any]) -> None:
        """Keep ``value`` under ``key`` as JSON (no write when it is already that)."""
        self.set_meta(key, json.dumps(dict(value), sort_keys=True))

    def remember_vault(self, vault_path: str | Path) -> None:
        """Record the real path of the vault this is the state of, and its folder's
        identity (device and inode, once it exists): rows written only when they change. A
        vault moved to another path finds its state by them (``sync/moved_vault.py``)."""
        real = os.path.realpath(Path(vault_path).expanduser())
        want = {"vault": real}
        with contextlib.suppress(OSError):
            st = os.stat(real)
            want["vault_id"] = f"{st.st_dev}:{st.st_ino}"
        rows = dict(self._x("SELECT key, value FROM meta").fetchall())
        for key, value in want.items():
            if rows.get(key) != value:
                self._x("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- the settled mark ----------------------------------------------------------------

    def settled(self) -> str | None:
        """The fingerprint a sync with nothing to do left, or None. Triggers drop it when any
        paper, scan-cache, conflict, collection or library row is written afterwards, so a
        mark that is present says the state is exactly what that sync read."""
        row = self._x("SELECT fingerprint FROM settled WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def set_settled(self, fingerprint: str, unchanged_since: tuple[int, int]) -> bool:
        """Leave the mark, unless the database changed since ``unchanged_since`` (a value of
        ``changes()``): a row written by this connection, or a commit by any other (another
        command writing without the run lock, such as ``conflicts resolve``). Checked and
        written under the write lock, so no commit slips in between."""
        with self.transaction():
            if self.changes() != unchanged_since:
                return False
            if self.settled() != fingerprint:
                self._x(
                    "INSERT OR REPLACE INTO settled (id, fingerprint) VALUES (1, ?)",
                    (fingerprint,),
                )
            return True

    def changes(self) -> tuple[int, int]:
        """Rows written through this connection so far (triggers included) and SQLite's
        ``data_version`` (moves with every commit by another connection): equal values
        before and after a run mean nothing wrote the database in between."""
        with self._lock:
            own = int(self._conn.total_changes)
            others = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            return own, others

    # -- conflicts -----------------------------------------------------------------------

    _CONFLICT_COLS = "id, pllm_id, field, base, zotero, vault, created_at, resolved_at, resolution"

    @staticmethod
    def _conflict(row: tuple[Any, ...]) -> ConflictRow:
        cid, pid, fld, b, z, v, created, resolved, resolution = row
        return ConflictRow(
            cid,
            pid,
            fld,
            None if b is None else decode_value(b),
            None if z is None else decode_value(z),
            None if v is None else decode_value(v),
            created,
            resolved,
            resolution,
        )

    def add_conflict(self, pllm_id: str, field: str, base: Any, zotero: Any, vault: Any) -> int:
        """Record an open conflict and return its id.

        A paper's field has at most one open conflict: recording it again (the next run sees
        the same disagreement) updates the values of the open one instead of adding a row.
        """
        vals = (encode_value(base), encode_value(zotero), encode_value(vault))
        with self.transaction():
            row = self._x(
                "SELECT id FROM conflicts WHERE pllm_id = ? AND field = ? AND resolved_at IS NULL",
                (pllm_id, field),
            ).fetchone()
            if row is not None:
                self._x(
                    "UPDATE conflicts SET base = ?, zotero = ?, vault = ? WHERE id = ?",
                    (*vals, row[0]),
                )
                return int(row[0])
            cur = self._x(
                "INSERT INTO conflicts (pllm_id, field, base, zotero, vault, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (pllm_id, field, *vals, time.time()),
            )
            return int(cur.lastrowid or 0)

    def list_conflicts(
        self, open_only: bool = True, pllm_id: str | None = None
    ) -> list[ConflictRow]:
        sql = f"SELECT {self._CONFLICT_COLS} FROM conflicts"
        where, params = [], []
        if open_only:
            where.append("resolved_at IS NULL")
        if pllm_id is not None:
            where.append("pllm_id = ?")
            params.append(pllm_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._conflict(r) for r in self._x(sql + " ORDER BY id", params).fetchall()]

    def count_open_conflicts(self) -> int:
        row = self._x("SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def get_conflict(self, conflict_id: int) -> ConflictRow | None:
        if not 0 <= conflict_id <= SQLITE_MAX_INT:  # no such row; SQLite could not even look
            return None
        row = self._x(
            f"SELECT {self._CONFLICT_COLS} FROM conflicts WHERE id = ?", (conflict_id,)
        ).fetchone()
        return None if row is None else self._conflict(row)

    def resolve_conflict(self, conflict_id: int, resolution: str) -> None:
        """Mark a conflict resolved (e.g. ``"zotero"``, ``"vault"``, ``"sides-agree"``)."""
        cur = (
            self._x(
                "UPDATE conflicts SET resolved_at = ?, resolution = ? WHERE id = ?",
                (time.time(), resolution, conflict_id),
            )
            if 0 <= conflict_id <= SQLITE_MAX_INT
            else None
        )
        if cur is None or cur.rowcount == 0:
            raise StateError(
                f"no conflict with id {conflict_id}",
                hint="`pllm-sync conflicts` lists the open conflicts and their ids",
            )

    def resolve_stale_conflicts(
        self, pllm_id: str, still_open: Iterable[str], resolution: str = "sides-agree"
    ) -> int:
        """Resolve the paper's open conflicts on fields no longer in conflict (the user made
        the sides agree); returns how many were closed."""
        keep = set(still_open)
        stale = [
            c for c in self.list_conflicts(open_only=True, pllm_id=pllm_id) if c.field not in keep
        ]
        if stale:  # no savepoint for the (usual) paper without open conflicts
            with self.transaction():
                for c in stale:
                    self.resolve_conflict(c.id, resolution)
        return len(stale)

    # -- run journal ---------------------------------------------------------------------

    def start_run(self, command: str, plan: Any = None) -> int:
        cur = self._x(
            "INSERT INTO runs (command, started_at, status, plan) VALUES (?, ?, 'running', ?)",
            (command, time.time(), encode_value(plan)),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, applied: Any = None) -> None:
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"a finished run's status is ok, failed or aborted, not {status!r}")
        self._x(
            "UPDATE runs SET finished_at = ?, status = ?, applied = ? WHERE id = ?",
            (time.time(), status, encode_value(applied), run_id),
        )

    def _run(self, row: tuple[Any, ...]) -> RunRecord:
        rid, command, started, finished, status, plan, applied = row
        return RunRecord(
            rid,
            command,
            started,
            finished,
            status,
            None if plan is None else decode_value(plan),
            None if applied is None else decode_value(applied),
        )

    def pull_completed(self) -> bool:
        """Whether a pull ever ran to its end here without an error: until one has, a pull is
        still the first import (one killed, interrupted or failed part way, then finished by
        later runs, is no news: "What's new" once listed the papers it had not reached)."""
        row = self._x(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE command = 'pull' AND status = 'ok')"
        ).fetchone()
        return bool(row and row[0])

    def last_run(self) -> RunRecord | None:
        runs = self.list_runs(limit=1)
        return runs[0] if runs else None

    def last_run_summary(self) -> RunRecord | None:
        """The last run with only the counts and warnings of its plan: ``status`` does not
        decode the up to ``JOURNAL_ACTIONS`` planned actions of a big pull to show them."""
        try:
            rows = self._x(
                "SELECT id, command, started_at, finished_at, status, json_object("
                "'counts', json(json_extract(plan, '$.\"$dict\".counts')), "
                "'warnings', json(json_extract(plan, '$.\"$dict\".warnings'))), applied "
                "FROM runs ORDER BY id DESC LIMIT 1"
            ).fetchall()
        except sqlite3.OperationalError:  # an SQLite built without its JSON functions
            return self.last_run()
        return self._run(rows[0]) if rows else None

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self._x(
            "SELECT id, command, started_at, finished_at, status, plan, applied FROM runs "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [self._run(r) for r in rows]

    # -- daemon lock ---------------------------------------------------------------------

    @property
    def lock_path(self) -> Path:
        """The run lock's file, next to the database (one lock per state, so per vault)."""
        return self.path.with_name(self.path.name + ".lock")

    def lock_holder(self) -> LockInfo | None:
        return self._run_lock.holder()

    def acquire_lock(self, owner: str) -> None:
        """Take the run lock (an OS file lock, see :mod:`pllm_sync.runlock`), or raise
        ``SafetyAbort`` naming who holds it. A lock whose process ended is free by itself."""
        self._run_lock.acquire(owner)
        self._holds_lock = True

    def release_lock(self) -> None:
        """Release our hold on the run lock."""
        self._run_lock.release()
        self._holds_lock = False
