"""The vault scan cache across versions: a reading an older version saved is read again."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pllm_sync.paths import app_dirs

from .helpers import Env, NewEnv

LIST = """# Cache List

## Alignment

+ **\\[2024 EMNLP\\]** Cached Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00011))
+ **\\[2024 EMNLP\\]** Cached Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00012))
"""


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"cache": LIST})


def _readings(db: sqlite3.Connection) -> dict[str, dict[str, object]]:
    rows = db.execute("SELECT relpath, record FROM scan_cache").fetchall()
    return {rel: json.loads(text) for rel, text in rows}


def test_cache_rows_from_before_the_abstract_field_are_read_again(env: Env) -> None:
    for command in ("pull", "sync"):
        code, _, err = env.run(command, "--no-progress")
        assert code == 0, err
    [state] = app_dirs().data.glob("state*.sqlite3")
    with sqlite3.connect(state) as db:
        old = {}
        for rel, row in _readings(db).items():
            record = row["record"]
            if isinstance(record, dict) and row["kind"] == "paper":
                del record["$dict"]["abstract"]  # as a version before the field saved it
                old[rel] = json.dumps(row)
        assert len(old) >= 2
        db.executemany(
            "UPDATE scan_cache SET record = ? WHERE relpath = ?",
            [(text, rel) for rel, text in old.items()],
        )
        db.execute("PRAGMA user_version = 8")  # such rows come from before schema 9
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    with sqlite3.connect(state) as db:
        healed = _readings(db)
    for rel in old:
        record = healed[rel]["record"]
        assert isinstance(record, dict) and "abstract" in record["$dict"], rel
