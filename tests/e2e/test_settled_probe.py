"""A plain settled ``sync`` is checked before the engine loads (``settled.probe``): the same
one request as the engine's own settled check, the same output, no engine, no Zotero
client; and when Zotero did change, the run costs no request more than it did before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pllm_sync.testing.zotero_server import RequestRecord, ZoteroEmulator

from .helpers import Env, NewEnv, frontmatter

LIST = """# Probe List

## Alignment

+ **\\[2024 EMNLP\\]** Probe Paper One: A Study. ([Paper](https://arxiv.org/abs/2402.00001))
+ **\\[2024 EMNLP\\]** Probe Paper Two: A Study. ([Paper](https://arxiv.org/abs/2402.00002))
"""
ONE, TWO = "arxiv:2402.00001", "arxiv:2402.00002"


def _sync(env: Env, *args: str) -> str:
    code, out, err = env.run("sync", "--no-progress", *args)
    assert code == 0, (out, err)
    return out


def _settle(env: Env) -> None:
    past = time.time() - 3600
    for p in env.vault.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))
    _sync(env)
    _sync(env)


@pytest.fixture
def settled(new_env: NewEnv) -> Iterator[Env]:
    env = new_env({"probe": LIST})
    code, out, err = env.run("pull", "--no-progress")
    assert code == 0, (out, err)
    _settle(env)
    yield env


def _asked(emu: ZoteroEmulator) -> list[tuple[str, str, str, int, list[tuple[str, str]]]]:
    def shown(q: RequestRecord) -> tuple[str, str, str, int, list[tuple[str, str]]]:
        headers = sorted((k.lower(), v) for k, v in q.request_headers.items())
        return q.method, q.path, json.dumps(q.query, sort_keys=True), q.status, headers

    return [shown(q) for q in emu.request_log]


def test_settled_sync_asks_what_the_engine_asks_and_says_the_same(settled: Env) -> None:
    env = settled
    env.emu.clear_log()
    via_engine = json.loads(_sync(env, "--json"))  # --json: the engine's own settled check
    engine_asked = _asked(env.emu)
    env.emu.clear_log()
    out = _sync(env)
    assert len(engine_asked) == 1 and _asked(env.emu) == engine_asked
    assert engine_asked[0][3] == 304
    assert via_engine["applied"] == {}
    assert out == f"done: nothing to change; vault at {env.vault.resolve()}\n"


def test_zotero_edit_after_settling_costs_no_extra_request(settled: Env) -> None:
    """The probe's request had no 304: the engine reads at once, without asking again."""
    env = settled
    counts = []
    for args, status in ((("--json",), "read"), ((), "reading")):
        item = env.item_by_pid(TWO)
        tags = [t for t in item["tags"] if not t["tag"].startswith("status/")]
        env.emu.edit_item(item["key"], {"tags": [*tags, {"tag": f"status/{status}"}]})
        env.emu.clear_log()
        _sync(env, *args)
        counts.append(len(env.emu.request_log))
        assert frontmatter(env.note_for(TWO))["status"] == status
        _settle(env)
    assert counts[0] == counts[1]


def test_settled_sync_loads_neither_engine_nor_zotero_client(settled: Env) -> None:
    script = (
        "import contextlib, io, json, sys\n"
        "from pllm_sync.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['--config', {str(settled.config)!r}, 'sync', '--no-progress'])\n"
        "print(json.dumps([code, out.getvalue(), sorted(sys.modules)]))\n"
    )
    settled.emu.clear_log()
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    code, out, loaded = json.loads(run.stdout.splitlines()[-1])
    assert code == 0 and "nothing to change" in out
    assert len(settled.emu.request_log) == 1
    heavy = ("pllm_sync.sync.engine", "pllm_sync.zotero.store", "pllm_sync.runtime", "pyzotero")
    assert not [m for m in (*heavy, "httpx2") if m in loaded]
