"""A real ``pllm-sync watch`` subprocess against the emulator (with its streaming API) and a
temporary vault, driven over the daemon's local API. Shared by tests/daemon and tests/api."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pllm_sync.config import load_config
from pllm_sync.daemon.discovery import daemon_file
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.testing.zotero_server.stream import StreamServer

PAPER_ROW = (
    "| *M{i}* | Paper number {i} on personalised models | ACL'24 | "
    "[![Paper](https://img.shields.io/badge/Paper-blue)](https://arxiv.org/abs/2401.{i:05d}) |"
)


def make_catalog(path: Path, n: int, sections: int = 2) -> Path:
    """A small awesome list in the real table format: ``n`` papers in ``sections`` sections."""
    lines = ["# Awesome Test List", ""]
    per = max(1, -(-n // sections))
    for s in range(sections):
        lines += [f"## Section {s}", "", "| Method | Paper Title | Published At | Link |"]
        lines += ["| :-: | :-: | :-: | :-: |"]
        lines += [PAPER_ROW.format(i=i) for i in range(s * per, min(n, (s + 1) * per))]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def wait_for(pred: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    """Poll ``pred`` until it returns something truthy; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {pred}")
        time.sleep(every)


@dataclass
class Daemon:
    root: Path
    proc: subprocess.Popen[str]
    info: dict[str, Any]
    token: str
    config: Path
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.info["url"])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"Authorization": f"Bearer {self.token}"} if auth else {}
        hdrs.update(headers or {})
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=10) as resp:
                raw = resp.read()
                status, rh = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, rh = exc.read(), exc.code, dict(exc.headers)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode()
        return status, parsed, rh

    def get(self, path: str) -> Any:
        status, body, _ = self.request("GET", path)
        assert status == 200, (status, body)
        return body

    def runs(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/status")["last_runs"])

    def finished(self) -> int:
        return len([r for r in self.runs() if r["status"] in ("done", "failed")])

    def wait_idle(self, after: str | None, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until a pass newer than run ``after`` finished and nothing runs or waits;
        returns the recent runs, newest first."""

        def idle() -> list[dict[str, Any]] | None:
            st = self.get("/v1/status")
            runs = st["last_runs"]
            if runs and runs[0]["id"] != after and st["running"] is None and st["queue"] == 0:
                return list(runs)
            return None

        return list(wait_for(idle, timeout))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def since(runs: list[dict[str, Any]], run_id: str | None) -> list[dict[str, Any]]:
    """The runs newer than ``run_id`` (``runs`` newest first)."""
    out = []
    for r in runs:
        if r["id"] == run_id:
            break
        out.append(r)
    return out


def write_config(
    root: Path, emu: ZoteroEmulator, catalog: Path, stream_url: str, **sections: Any
) -> Path:
    data: dict[str, Any] = {
        "catalog": {"sources": [{"name": "testlist", "path": str(catalog)}], "offline": True},
        "zotero": {
            "library_id": emu.user_id,
            "endpoint": emu.base_url,
            "stream_url": stream_url,
        },
        "vault": {"path": str(root / "vault")},
        "watch": {
            "debounce_seconds": 0.3,
            "zotero_poll_seconds": 3600,
            "catalog_refresh_minutes": 600,
            "reconcile_minutes": 600,
            # short, yet the grace a deletion waits is taken on every delete these tests make
            "delete_grace_seconds": 1,
        },
        "api": {"port": 0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def start_daemon(config: Path, emu: ZoteroEmulator, *, timeout: float = 30.0) -> Daemon:
    """Start ``pllm-sync watch`` and wait until its first pass finished and the API answers."""
    root = config.parent
    cfg = load_config(config)
    log = root / f"watch-{time.monotonic_ns()}.log"
    env = {**os.environ, "PLLM_SYNC_ZOTERO_API_KEY": emu.api_key, "NO_PROXY": "*"}
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pllm_sync.cli", "--config", str(config), "-v", "watch"],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    dfile = daemon_file(cfg)

    def ready() -> dict[str, Any] | None:
        if proc.poll() is not None:
            raise AssertionError(f"watch exited {proc.returncode}:\n{log.read_text()}")
        try:
            info = json.loads(dfile.read_text())
        except (OSError, ValueError):
            return None
        return info if info.get("pid") == proc.pid else None

    try:
        info = wait_for(ready, timeout)
        token = Path(info["api_token_file"]).read_text().strip()
        d = Daemon(root, proc, info, token, config, log)
        wait_for(lambda: d.finished() >= 1, timeout)
    except BaseException:
        proc.kill()  # never leave a daemon behind a failed start
        proc.wait(10)
        raise
    return d


@dataclass
class Sandbox:
    """An emulator with its streaming API, for one test."""

    emu: ZoteroEmulator
    stream: StreamServer

    @classmethod
    def start(cls) -> Sandbox:
        emu = ZoteroEmulator(user_id=1, api_key="TESTKEY").start()
        return cls(emu, StreamServer(emu).start())

    def stop(self) -> None:
        self.stream.stop()
        self.emu.stop()
