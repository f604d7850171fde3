"""The daemon's reaction times and idle cost, on a synthetic library, against the bundled
emulator and its streaming API, with a real ``pllm-sync watch`` subprocess.

Prints: note save -> Zotero write latency (median, minus the debounce), Zotero edit -> note
latency (median, via the stream), the duration of a one-change pass (median), and the idle
daemon's CPU share and RSS with ``--idle-notes`` notes in the vault (paper notes plus plain
notes to make up the number).

    python benchmarks/bench_daemon.py [--papers 5000] [--idle-notes 10000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from bench_sync import synthetic_list

from pllm_sync.cli import main
from pllm_sync.config import load_config
from pllm_sync.daemon.discovery import daemon_file
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.testing.zotero_server.stream import StreamServer

DEBOUNCE = 2.0  # the default: Obsidian writes a note ~2 s after typing stops


class Api:
    def __init__(self, info: dict[str, Any]) -> None:
        self.url = info["url"]
        self.token = Path(info["api_token_file"]).read_text().strip()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with self.opener.open(req, timeout=30) as r:
            return json.loads(r.read())

    def done(self) -> list[dict[str, Any]]:
        return [r for r in self.get("/v1/status")["last_runs"] if r["status"] != "running"]

    def newest(self) -> str | None:
        runs = self.get("/v1/status")["last_runs"]
        return str(runs[0]["id"]) if runs else None

    def idle(self, after: str | None, timeout: float = 120) -> list[dict[str, Any]]:
        """Wait for a pass newer than ``after`` (a run id) and nothing running or queued."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.get("/v1/status")
            runs = st["last_runs"]
            if runs and runs[0]["id"] != after and st["running"] is None and st["queue"] == 0:
                return list(runs)
            time.sleep(0.05)
        raise TimeoutError("the daemon did not settle")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def set_status(path: Path, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = [f"status: {value}" if ln.startswith("status:") else ln for ln in text.split("\n")]
    path.write_text("\n".join(lines), encoding="utf-8")


def bench(papers: int, idle_notes: int, rounds: int, idle_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["PLLM_SYNC_HOME"] = str(root / "home")
        os.environ["PLLM_SYNC_METADATA"] = "off"  # no arXiv / Semantic Scholar lookups here
        emu = ZoteroEmulator().start()
        stream = StreamServer(emu).start()
        os.environ["PLLM_SYNC_ZOTERO_API_KEY"] = emu.api_key
        (root / "list.md").write_text(synthetic_list(papers), encoding="utf-8")
        cfg = root / "config.yaml"
        vault = root / "vault"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "catalog": {"sources": [{"name": "synthetic", "path": str(root / "list.md")}]},
                    "zotero": {
                        "library_id": emu.user_id,
                        "endpoint": emu.base_url,
                        "stream_url": stream.url,
                    },
                    "vault": {"path": str(vault)},
                    "api": {"port": 0},
                }
            )
        )
        t = time.perf_counter()
        assert main(["-q", "--config", str(cfg), "pull", "--no-progress"]) == 0
        print(f"setup: pull of {papers} papers in {time.perf_counter() - t:.1f} s")
        extra = vault / "Journal"
        extra.mkdir()
        for i in range(max(0, idle_notes - papers)):
            (extra / f"day {i}.md").write_text(f"# Day {i}\n\nplain note\n", encoding="utf-8")

        writes: list[float] = []
        lock = threading.Lock()

        def hook(_emu: ZoteroEmulator, method: str, path: str) -> None:
            if method == "POST" and path.endswith("/items"):
                with lock:
                    writes.append(time.monotonic())

        emu.on_request(hook)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pllm_sync.cli", "-q", "--config", str(cfg), "watch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            dfile = daemon_file(load_config(cfg))
            while not (dfile.exists() and json.loads(dfile.read_text())["pid"] == proc.pid):
                time.sleep(0.05)
            api = Api(json.loads(dfile.read_text()))
            runs = api.idle(None)
            time.sleep(3)
            runs = api.idle(None)
            notes = sorted((vault / "Papers").glob("*.md"))

            save_lat, pass_times = [], []
            for r in range(rounds):
                n = api.newest()
                with lock:
                    writes.clear()
                t0 = time.monotonic()
                set_status(notes[r * 7], "read" if r % 2 == 0 else "skimmed")
                runs = api.idle(n)
                with lock:
                    first = writes[0] if writes else float("nan")
                save_lat.append(first - t0 - DEBOUNCE)
                pass_times.append(runs[0]["finished_at"] - runs[0]["started_at"])
                time.sleep(0.5)

            edit_lat = []
            items = {
                k: d
                for k, d in emu.get_items().items()
                if d["itemType"] not in ("note", "attachment")
            }
            by_url = {d.get("url"): (k, d) for k, d in items.items()}
            note_of = {}
            for p in notes:
                text = p.read_text(encoding="utf-8")
                at = text.find("zotero://select/library/items/")
                if at >= 0:
                    note_of[text[at + 30 : at + 38]] = p
            for r in range(rounds):
                n = api.newest()
                idx = 1000 + r if papers > 1100 else r + rounds
                key, data = by_url[f"https://arxiv.org/abs/2401.{idx:05d}"]
                tag = f"bench-{r}"
                note = note_of[key]
                t0 = time.monotonic()
                emu.edit_item(key, {"tags": [*data["tags"], {"tag": tag}]})
                while tag not in note.read_text(encoding="utf-8"):
                    time.sleep(0.005)
                edit_lat.append(time.monotonic() - t0)
                runs = api.idle(n)
                pass_times.append(runs[0]["finished_at"] - runs[0]["started_at"])

            time.sleep(2)
            c0, w0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(idle_seconds)
            cpu = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - w0) * 100
            rss = rss_mb(proc.pid)
            med = statistics.median
            print(
                f"note save -> Zotero write, after the {DEBOUNCE:.0f} s debounce: median "
                f"{med(save_lat):.2f} s (min {min(save_lat):.2f}, max {max(save_lat):.2f})"
            )
            print(
                f"Zotero edit -> note (stream): median {med(edit_lat):.2f} s "
                f"(min {min(edit_lat):.2f}, max {max(edit_lat):.2f})"
            )
            print(
                f"one-change pass: median {med(pass_times):.2f} s "
                f"(min {min(pass_times):.2f}, max {max(pass_times):.2f})"
            )
            total = len(list(vault.rglob("*.md")))
            print(
                f"idle over {idle_seconds:.0f} s with {total} notes ({papers} papers): "
                f"CPU {cpu:.2f} %, RSS {rss:.0f} MB"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            stream.stop()
            emu.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--papers", type=int, default=5000)
    ap.add_argument("--idle-notes", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--idle-seconds", type=float, default=30)
    a = ap.parse_args()
    bench(a.papers, a.idle_notes, a.rounds, a.idle_seconds)
