"""What the in-memory doubles save: one sync story through ``SyncEngine``, first on
``MemoryVault`` + ``MemoryZotero``, then on the real stores (``VaultStore`` on a tmp vault,
``ZoteroStore`` through pyzotero to the emulator). Same engine, same state database.

The story: a first pull of ``n`` papers, a sync after one note edit, a no-op sync.
Run: ``python benchmarks/bench_doubles.py [n_papers]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from bench_sync import synthetic_list

from pllm_sync.config import (
    CatalogConfig,
    Config,
    SourceConfig,
    SyncConfig,
    VaultConfig,
    ZoteroConfig,
)
from pllm_sync.sync.engine import RunOptions, SyncEngine
from pllm_sync.sync.ports import VaultPort, ZoteroPort
from pllm_sync.sync.state import LibraryRef, StateDB
from pllm_sync.testing.memory_stores import MemoryVault, MemoryZotero
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.vault.store import VaultStore
from pllm_sync.zotero.store import ZoteroStore


def story(
    tmp: Path,
    n: int,
    endpoint: str,
    stores: Callable[[Config], tuple[VaultPort, ZoteroPort]],
    edit: Callable[[VaultPort], None],
) -> list[float]:
    (tmp / "list.md").write_text(synthetic_list(n), encoding="utf-8")
    cfg = Config(
        catalog=CatalogConfig(sources=(SourceConfig("bench", path=tmp / "list.md"),), offline=True),
        zotero=ZoteroConfig(library_id="1", endpoint=endpoint),
        vault=VaultConfig(path=tmp / "vault"),
        sync=SyncConfig(max_delete_percent=100),
    )
    state = StateDB.open(tmp / "state.sqlite")
    ref = LibraryRef.from_config(cfg.zotero)
    state.bind_library(ref)
    times = []
    for step, pull in (("pull", True), ("edit", False), ("noop", False)):
        vault, zotero = stores(cfg)
        if step == "edit":
            edit(vault)
        t = time.perf_counter()
        result = SyncEngine(cfg, state, vault, zotero, library_ref=ref).run(
            RunOptions(pull_catalog=pull, show_progress=False)
        )
        times.append(time.perf_counter() - t)
        assert not result.errors, result.errors[:3]
    state.close()
    return times


def main_bench(n: int) -> None:
    mem_vault = MemoryVault()
    mem_zotero = MemoryZotero()

    def memory(cfg: Config) -> tuple[VaultPort, ZoteroPort]:
        nonlocal mem_vault
        mem_vault = mem_vault.reopen()
        return mem_vault, MemoryZotero(mem_zotero.library)

    def edit_memory(v: VaultPort) -> None:
        assert isinstance(v, MemoryVault)
        rel = v.paths("Papers")[0]
        v.write(rel, v.read(rel) + "\nA thought.\n")

    with tempfile.TemporaryDirectory() as d:
        mem = story(Path(d), n, "memory://", memory, edit_memory)

    with ZoteroEmulator() as emu, tempfile.TemporaryDirectory() as d:
        client = httpx2.Client(trust_env=False, timeout=60)

        def real(cfg: Config) -> tuple[VaultPort, ZoteroPort]:
            zcfg = ZoteroConfig(library_id="1", endpoint=emu.base_url)
            return VaultStore(cfg.vault), ZoteroStore(zcfg, emu.api_key, client=client)

        def edit_real(v: VaultPort) -> None:
            note = sorted(v.papers_dir.glob("*.md"))[0]
            note.write_text(note.read_text(encoding="utf-8") + "\nA thought.\n", "utf-8")

        real_t = story(Path(d), n, emu.base_url, real, edit_real)
        client.close()

    print(f"{n} papers: doubles vs real stores (seconds)")
    for name, a, b in zip(("first pull", "one-edit sync", "no-op sync"), mem, real_t, strict=True):
        print(f"  {name:14} {a:8.3f} {b:8.3f}  ({b / a:.0f}x)")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
