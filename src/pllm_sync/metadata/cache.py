"""Response cache (user cache dir) and the citation-key registry (user data dir).

The cache is what makes a second pull make no metadata request: every answer is kept,
including "not found", with the time it was fetched. An entry is fresh for ``ttl_days``;
answers for papers that are still preprints are re-checked after ``preprint_days`` (a
published version may have appeared); "not found" after ``missing_days``. The cache may be
deleted at any time: it only costs requests.

The citation-key registry is not a cache: a key, once given, is the paper's for good (users
cite it in their manuscripts), so it lives in the data dir next to the state.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DAY = 86400.0


class ResponseCache:
    """``key -> (fetched_at, payload | None)`` in SQLite; keys like ``arxiv:2304.05376`` or
    ``s2:ARXIV:2304.05376``."""

    def __init__(self, path: Path) -> None:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, fetched_at REAL NOT NULL,"
            " payload TEXT)"
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def get(self, key: str) -> tuple[float, dict[str, Any] | None] | None:
        row = self.db.execute(
            "SELECT fetched_at, payload FROM responses WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        try:
            payload = json.loads(row[1]) if row[1] is not None else None
        except ValueError:
            return None  # a damaged row is a miss
        return float(row[0]), payload

    def put_many(self, items: Iterable[tuple[str, dict[str, Any] | None]], now: float) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO responses (key, fetched_at, payload) VALUES (?, ?, ?)",
            [(k, now, None if p is None else json.dumps(p)) for k, p in items],
        )
        self.db.commit()

    def all(self, prefix: str) -> dict[str, tuple[float, dict[str, Any] | None]]:
        out: dict[str, tuple[float, dict[str, Any] | None]] = {}
        for key, at, payload in self.db.execute(
            "SELECT key, fetched_at, payload FROM responses WHERE key >= ? AND key < ?",
            (prefix, prefix + "\uffff"),
        ):
            try:
                out[key] = (float(at), json.loads(payload) if payload is not None else None)
            except ValueError:
                continue
        return out


def is_fresh(
    fetched_at: float,
    *,
    found: bool,
    preprint: bool,
    ttl_days: float,
    preprint_days: float,
    missing_days: float,
    now: float | None = None,
) -> bool:
    """Whether a cached answer is still good enough to use without asking again."""
    age = (time.time() if now is None else now) - fetched_at
    limit = missing_days if not found else (preprint_days if preprint else ttl_days)
    return age < limit * DAY


class CitekeyRegistry:
    """``pllm id -> citation key``, unique and permanent."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS citekeys (pllm_id TEXT PRIMARY KEY,"
            " citekey TEXT NOT NULL UNIQUE)"
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def all(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT pllm_id, citekey FROM citekeys").fetchall())

    def add_many(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO citekeys (pllm_id, citekey) VALUES (?, ?)", list(pairs)
        )
        self.db.commit()
