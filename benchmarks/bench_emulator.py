"""Cost of the Zotero Web API emulator: startup, request latency, batch writes, full sync reads,
and the SQLite sandbox, at the size of a real reading library.

Run: ``python benchmarks/bench_emulator.py [n_items]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from pyzotero import zotero

from pllm_sync.testing.zotero_server import ZoteroEmulator

HEADERS = {"Zotero-API-Key": "TESTKEY"}


def item(i: int) -> dict[str, object]:
    return {
        "itemType": "preprint",
        "title": f"Paper {i} on personalised language models",
        "creators": [
            {"creatorType": "author", "firstName": "Ada", "lastName": f"Lovelace{i}"},
            {"creatorType": "author", "firstName": "Alan", "lastName": "Turing"},
        ],
        "archiveID": f"arXiv:2401.{i:05d}",
        "url": f"https://arxiv.org/abs/2401.{i:05d}",
        "extra": f"pllm-sync-id: arxiv:2401.{i:05d}",
        "tags": [{"tag": "llm"}, {"tag": f"t{i % 7}"}],
    }


def fill(emu: ZoteroEmulator, client: httpx2.Client, n: int) -> float:
    started = time.perf_counter()
    for start in range(0, n, 50):
        batch = [item(i) for i in range(start, min(n, start + 50))]
        resp = client.post(emu.base_url + "/users/1/items", json=batch, headers=HEADERS)
        assert resp.status_code == 200
    return time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    starts = []
    for _ in range(20):
        t = time.perf_counter()
        emu = ZoteroEmulator().start()
        starts.append(time.perf_counter() - t)
        emu.stop()
    print(f"startup (memory): median {statistics.median(starts) * 1000:.1f} ms")

    with ZoteroEmulator() as emu, httpx2.Client(trust_env=False) as client:
        elapsed = fill(emu, client, n)
        print(f"create {n} items in batches of 50: {elapsed:.2f} s ({n / elapsed:.0f} items/s)")

        lat = []
        for _ in range(200):
            t = time.perf_counter()
            client.get(emu.base_url + "/users/1/items?limit=1", headers=HEADERS)
            lat.append(time.perf_counter() - t)
        print(f"GET items?limit=1 latency: median {statistics.median(lat) * 1000:.2f} ms")

        t = time.perf_counter()
        versions = client.get(
            emu.base_url + "/users/1/items?format=versions&since=0&includeTrashed=1",
            headers=HEADERS,
        ).json()
        print(
            f"format=versions over {len(versions)} items: {(time.perf_counter() - t) * 1000:.1f} ms"
        )

        zot = zotero.Zotero("1", "user", "TESTKEY", client=client)
        zot.endpoint = emu.base_url
        t = time.perf_counter()
        everything = zot.everything(zot.items())
        print(f"pyzotero everything() for {len(everything)} items: {time.perf_counter() - t:.2f} s")

        keys = list(versions)[:50]
        t = time.perf_counter()
        client.get(emu.base_url + "/users/1/items?itemKey=" + ",".join(keys), headers=HEADERS)
        print(f"GET 50 items by itemKey: {(time.perf_counter() - t) * 1000:.1f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sandbox.sqlite"
        with ZoteroEmulator(db_path=db) as emu, httpx2.Client(trust_env=False) as client:
            elapsed = fill(emu, client, n)
            print(f"create {n} items (SQLite): {elapsed:.2f} s ({n / elapsed:.0f} items/s)")
        t = time.perf_counter()
        with ZoteroEmulator(db_path=db) as emu:
            loaded = len(emu.get_items())
        print(
            f"restart + load {loaded} items from SQLite: {(time.perf_counter() - t) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
