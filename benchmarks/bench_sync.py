"""Sync engine costs on a synthetic 5,000-paper catalog against the bundled emulator.

Prints: the first pull (requests, wall time), a no-op sync (HTTP requests, target <= 3; wall
time; files written), and one edited note (requests and writes it costs).

    python benchmarks/bench_sync.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pllm_sync.cli import main
from pllm_sync.testing.zotero_server import ZoteroEmulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def synthetic_list(n: int, *, code_links: bool = False) -> str:
    """A bullet list of ``n`` papers in 20 sections (shared by the other benchmarks);
    ``code_links`` gives every other paper a code link, as real lists do."""
    lines = ["# Synthetic List", ""]
    per = max(1, n // 20)
    for i in range(n):
        if i % per == 0:
            lines += ["", f"## Section {i // per}", ""]
        code = f" [[Code](https://github.com/example/m{i})]" if code_links and i % 2 else ""
        lines.append(
            f"+ **\\[2024 EMNLP\\]** Synthetic Paper {i}: On Personalization "
            f"Number {i}. ([Paper](https://arxiv.org/abs/2401.{i:05d})){code}"
        )
    return "\n".join(lines) + "\n"


def run(cfg: Path, *args: str) -> float:
    t = time.perf_counter()
    code = main(["-q", "--config", str(cfg), *args, "--no-progress"])
    assert code == 0, code
    return time.perf_counter() - t


def files(vault: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in vault.rglob("*.md")}


def main_bench(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ZoteroEmulator() as emu:
        root = Path(tmp)
        os.environ["PLLM_SYNC_HOME"] = str(root / "home")
        os.environ["PLLM_SYNC_ZOTERO_API_KEY"] = emu.api_key
        (root / "list.md").write_text(synthetic_list(n), encoding="utf-8")
        cfg = root / "config.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "catalog": {"sources": [{"name": "synthetic", "path": str(root / "list.md")}]},
                    "zotero": {"library_id": emu.user_id, "endpoint": emu.base_url},
                    "vault": {"path": str(root / "vault")},
                }
            )
        )
        t = run(cfg, "pull")
        reqs = len(emu.request_log)
        writes = sum(1 for r in emu.request_log if r.method in WRITES)
        print(f"first pull of {n} papers: {t:.1f} s, {reqs} requests ({writes} writes)")

        emu.clear_log()
        before = files(root / "vault")
        t = run(cfg, "sync")
        after = files(root / "vault")
        changed = sum(1 for k in after if before.get(k) != after[k])
        print(
            f"no-op sync: {t:.2f} s, {len(emu.request_log)} HTTP requests "
            f"({[r.method + ' ' + r.path.split('?')[0] for r in emu.request_log]}), "
            f"{changed} files rewritten"
        )

        emu.clear_log()
        t = run(cfg, "pull")
        print(f"no-op pull (catalog re-read): {t:.2f} s, {len(emu.request_log)} HTTP requests")

        note = sorted((root / "vault" / "Papers").glob("*.md"))[n // 2]
        text = note.read_text(encoding="utf-8")
        note.write_text(
            text.replace("status:", "status: read", 1) + "\nA thought.\n", encoding="utf-8"
        )
        emu.clear_log()
        before = files(root / "vault")
        t = run(cfg, "sync")
        after = files(root / "vault")
        changed = sum(1 for k in after if before.get(k) != after[k])
        write_calls = [
            r.method + " " + r.path.split("?")[0] for r in emu.request_log if r.method in WRITES
        ]
        print(
            f"one edited note: {t:.2f} s, {len(emu.request_log)} requests, Zotero writes "
            f"{write_calls}, {changed} files rewritten"
        )


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
