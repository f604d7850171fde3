"""Persistence for the emulator state: nothing (in memory) or a SQLite file.

The SQLite store is a "sandbox library" that survives restarts: every object is one JSON row,
and the library versions, delete logs, users, keys and write tokens have tables of their own.
The state marks what a request changed (``Library.dirty*``); :meth:`SqliteStorage.flush`
writes exactly that in one transaction at the end of the request, under the state lock.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .library import DELETE_LOG_KINDS, KINDS, ApiKey, EmulatorState, Library, Record, User

SCHEMA = """
CREATE TABLE IF NOT EXISTS users(user_id INTEGER PRIMARY KEY, username TEXT NOT NULL,
    display_name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys(key TEXT PRIMARY KEY, user_id INTEGER NOT NULL,
    access TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS libraries(user_id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects(user_id INTEGER NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY(user_id, kind, key));
CREATE TABLE IF NOT EXISTS delete_log(user_id INTEGER NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY(user_id, kind, key));
CREATE TABLE IF NOT EXISTS write_tokens(name TEXT PRIMARY KEY, expiry REAL NOT NULL);
"""


class MemoryStorage:
    """No persistence: flushing only forgets the change marks."""

    def load(self, state: EmulatorState) -> None:
        return None

    def open(self) -> None:
        return None

    def flush(self, state: EmulatorState) -> None:
        _clear_marks(state)

    def close(self) -> None:
        return None


class SqliteStorage:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        return conn

    def open(self) -> None:
        """Reconnect after :meth:`close` (an emulator stopped and started again)."""
        try:
            self.conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            self.conn = self._connect()

    def load(self, state: EmulatorState) -> None:
        conn = self.conn
        for user_id, username, display in conn.execute("SELECT * FROM users"):
            state.users[user_id] = User(user_id, username, display)
        for key, user_id, access in conn.execute("SELECT * FROM api_keys"):
            state.keys[key] = ApiKey(key, user_id, json.loads(access))
        for user_id, version in conn.execute("SELECT * FROM libraries"):
            state.libraries[user_id] = Library(user_id, version=version)
        for user_id, kind, key, text in conn.execute("SELECT * FROM objects ORDER BY rowid"):
            lib = state.libraries.setdefault(user_id, Library(user_id))
            lib.objects[kind][key] = Record.from_row(json.loads(text))
            lib._child_counts = None  # counted again when first asked
        for user_id, kind, key, version in conn.execute("SELECT * FROM delete_log"):
            lib = state.libraries.setdefault(user_id, Library(user_id))
            lib.delete_log[kind][key] = version
        for name, expiry in conn.execute("SELECT * FROM write_tokens"):
            state.write_tokens[name] = expiry
        _clear_marks(state)

    def flush(self, state: EmulatorState) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            if state.reset_pending:
                for table in (
                    "users",
                    "api_keys",
                    "libraries",
                    "objects",
                    "delete_log",
                    "write_tokens",
                ):
                    conn.execute(f"DELETE FROM {table}")
            if state.dirty_accounts:
                conn.execute("DELETE FROM users")
                conn.executemany(
                    "INSERT INTO users VALUES (?, ?, ?)",
                    [(u.user_id, u.username, u.display_name) for u in state.users.values()],
                )
                conn.execute("DELETE FROM api_keys")
                conn.executemany(
                    "INSERT INTO api_keys VALUES (?, ?, ?)",
                    [(k.key, k.user_id, json.dumps(k.access)) for k in state.keys.values()],
                )
            if state.dirty_tokens:
                conn.execute("DELETE FROM write_tokens")
                conn.executemany(
                    "INSERT INTO write_tokens VALUES (?, ?)", list(state.write_tokens.items())
                )
            for lib in state.libraries.values():
                self._flush_library(lib)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        _clear_marks(state)

    def _flush_library(self, lib: Library) -> None:
        conn = self.conn
        if lib.dirty_meta:
            conn.execute(
                "INSERT OR REPLACE INTO libraries VALUES (?, ?)", (lib.user_id, lib.version)
            )
        for kind, key in lib.dirty:
            record = lib.objects[kind].get(key)
            if record is None:
                conn.execute(
                    "DELETE FROM objects WHERE user_id=? AND kind=? AND key=?",
                    (lib.user_id, kind, key),
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)",
                    (lib.user_id, kind, key, json.dumps(record.to_row(), ensure_ascii=False)),
                )
        for kind, key in lib.dirty_log:
            version = lib.delete_log[kind].get(key)
            if version is None:
                conn.execute(
                    "DELETE FROM delete_log WHERE user_id=? AND kind=? AND key=?",
                    (lib.user_id, kind, key),
                )
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO delete_log VALUES (?, ?, ?, ?)",
                    (lib.user_id, kind, key, version),
                )

    def close(self) -> None:
        self.conn.close()


def _clear_marks(state: EmulatorState) -> None:
    state.reset_pending = False
    state.dirty_accounts = False
    state.dirty_tokens = False
    for lib in state.libraries.values():
        lib.dirty.clear()
        lib.dirty_log.clear()
        lib.dirty_meta = False


__all__ = ["DELETE_LOG_KINDS", "KINDS", "MemoryStorage", "SqliteStorage"]
