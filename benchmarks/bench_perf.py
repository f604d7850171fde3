"""Where pllm-sync runs most, each figure next to its floor measured in the same run.

    python benchmarks/bench_perf.py                      # 5,000 papers, 50,000-note scan
    python benchmarks/bench_perf.py --papers 1000 5000 20000 --scan 10000 50000 --idle 60
    python benchmarks/bench_perf.py --only help yaml sched
    python benchmarks/bench_perf.py --only pull --papers 1000 5000 20000 50000

Parts (``--only`` picks some):

- ``help``: ``pllm-sync --help`` as a whole process vs a bare ``python -c pass``.
- ``yaml``: emitting 5,000 new-note frontmatters: our emitter vs PyYAML's pure-Python
  serializer vs libyaml's C emitter (the floor).
- ``scan``: warm vault scan (cache given) vs ``os.scandir`` + ``os.stat`` of the same files,
  in wall and CPU time, with the garbage collector as ``sync`` sets it and with its defaults.
- ``sched``: ``BatchWriter`` scheduling alone (requests answered in memory) at 1k-50k ops,
  to show it is linear.
- ``pull``: only the first pull of ``sync`` (and its floor), per catalog size.
- ``sync``: per catalog size, each as a separate process against the bundled emulator:
  first ``pull`` (wall, CPU, peak RSS, bytes written, requests) vs its floor: the pull's own
  requests replayed against a fresh emulator (the server's work and the HTTP) + the same
  notes written durably in a batch + a bare interpreter start; no-op ``sync`` vs stat of every note + one
  conditional request; ``status`` vs the COUNT queries it needs; ``--help``; then an idle
  ``watch`` (CPU share, bytes written, requests per poll).

Children run with compiled modules (``PYTHONPYCACHEPREFIX`` in a temp folder, as an
installed package has them), also where the environment says ``PYTHONDONTWRITEBYTECODE``.
The no-op ``sync`` is measured settled (best of 3), after one sync that decides in full.

Bytes written come from the child's own ``/proc/self/io`` (``write_bytes``: what reached the
block layer; ``wchar``: what went through ``write()``). Timings on a shared machine are upper
bounds; ratios are to floors measured in the same run, under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from bench_sync import synthetic_list

HERE = Path(__file__).resolve().parent
PY = sys.executable
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
POLL = 5.0
"""The idle daemon's Zotero poll, in seconds."""

# A child that runs the CLI and reports its own resource use to a JSON file.
CHILD = r"""
import json, os, resource, sys, time
out, argv = sys.argv[1], sys.argv[2:]
from pllm_sync.cli import main
code = main(argv)
ru = resource.getrusage(resource.RUSAGE_SELF)
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
# VmHWM: this process's own peak (ru_maxrss keeps the parent's peak across fork+exec)
hwm = [l for l in open("/proc/self/status").read().splitlines() if l.startswith("VmHWM")]
with open(out, "w") as fh:
    json.dump({"code": code, "cpu": ru.ru_utime + ru.ru_stime, "rss_kb": int(hwm[0].split()[1]),
               "write_bytes": int(io["write_bytes"]), "wchar": int(io["wchar"])}, fh)
sys.exit(code)
"""

# The no-op floor: stat every note and make one conditional request.
NOOP_FLOOR = r"""
import http.client, os, sys, time
root, host, port, user, key, version = sys.argv[1:7]
n = 0
stack = [root]
while stack:
    for e in os.scandir(stack.pop()):
        if e.is_dir(follow_symlinks=False):
            if not e.name.startswith("."):
                stack.append(e.path)
        elif e.name.endswith(".md"):
            os.stat(e.path); n += 1
c = http.client.HTTPConnection(host, int(port))
c.request("GET", f"/users/{user}/items?since={version}&format=versions&includeTrashed=1",
          headers={"Zotero-API-Key": key, "If-Modified-Since-Version": version,
                   "Zotero-API-Version": "3"})
r = c.getresponse(); r.read()
assert r.status == 304, r.status
"""

# The floor of a first pull, from its two measured parts, in one child process: (1) the
# same HTTP requests the pull made (bodies and headers as sent, recorded by the emulator),
# replayed on one keep-alive connection against a fresh emulator, answers read but not
# parsed: the emulator's work of creating the items in batches of 50 plus the HTTP; (2) the
# same note bytes written durably in a batch (temps, fsync in parallel threads, renames,
# one directory fsync per folder). Inputs are loaded before the clock starts; the child
# prints both times as JSON. A bare interpreter start is added by the caller.
PULL_FLOOR = r"""
import http.client, json, os, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
reqs_file, host, port, src, dst = sys.argv[1:6]
reqs = json.load(open(reqs_file))
files = []
for dirpath, _dirs, names in os.walk(src):
    for name in names:
        if name.endswith(".md"):
            p = os.path.join(dirpath, name)
            files.append((os.path.join(dst, os.path.relpath(p, src)), open(p, "rb").read()))
folders = sorted({os.path.dirname(p) for p, _ in files})

t0, c0 = time.perf_counter(), cpu()
c = http.client.HTTPConnection(host, int(port))
statuses = []
for method, url, headers, body in reqs:
    c.request(method, url, body=body.encode("latin-1") if body else None, headers=headers)
    r = c.getresponse(); r.read()
    statuses.append(r.status)
t1, c1 = time.perf_counter(), cpu()

for f in folders:
    os.makedirs(f, exist_ok=True)
def write(item):
    path, data = item
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data); os.fsync(fd); os.close(fd)
    return tmp, path
with ThreadPoolExecutor(8) as ex:
    done = list(ex.map(write, files))
for tmp, path in done:
    os.rename(tmp, path)
for f in folders:
    fd = os.open(f, os.O_RDONLY); os.fsync(fd); os.close(fd)
t2, c2 = time.perf_counter(), cpu()
print(json.dumps({"http": t1 - t0, "disk": t2 - t1, "http_cpu": c1 - c0, "disk_cpu": c2 - c1,
                  "statuses": statuses, "notes": len(files)}))
"""

_SKIP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"}


def _record_requests(emu: Any) -> list[tuple[str, str, dict[str, str], str, int]]:
    """Record every request ``emu`` serves from now on (method, URL, headers, body, status),
    for :data:`PULL_FLOOR` to replay."""
    from urllib.parse import urlencode

    seen: list[tuple[str, str, dict[str, str], str, int]] = []
    serve = emu.serve

    def recording(request: Any, client_ip: str, raw_headers: dict[str, str]) -> Any:
        response = serve(request, client_ip, raw_headers)
        query = urlencode(request.query, doseq=True)
        url = request.path + (f"?{query}" if query else "")
        headers = {k: v for k, v in raw_headers.items() if k.lower() not in _SKIP_HEADERS}
        seen.append((request.method, url, headers, request.body.decode("latin-1"), response.status))
        return response

    emu.serve = recording
    return seen


def pull_floor(
    recorded: list[tuple[str, str, dict[str, str], str, int]], vault: Path, work: Path
) -> dict[str, float]:
    """The two measured parts of a first pull's floor (see :data:`PULL_FLOOR`), replayed
    against a fresh emulator; checks the replay got the answers the pull got."""
    from pllm_sync.testing.zotero_server import ZoteroEmulator

    reqs_file = work / f"requests{time.time_ns()}.json"
    reqs_file.write_text(json.dumps([r[:4] for r in recorded]))
    with ZoteroEmulator() as fresh:
        c0 = time.process_time()  # this process only serves the emulator meanwhile
        out = subprocess.run(
            [
                PY,
                "-c",
                PULL_FLOOR,
                str(reqs_file),
                fresh.host,
                str(fresh.port),
                str(vault),
                str(work / f"copy{time.time_ns()}"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        server_cpu = time.process_time() - c0
    res: dict[str, Any] = json.loads(out.stdout)
    want = [r[4] for r in recorded]
    assert res["statuses"] == want, "the replay was not answered as the pull was"
    cpu = res["http_cpu"] + res["disk_cpu"] + server_cpu
    return {"http": res["http"], "disk": res["disk"], "notes": res["notes"], "cpu": cpu}


WARM_IMPORTS = (
    "import pllm_sync.cli, pllm_sync.commands.pull, pllm_sync.runtime, pllm_sync.sync.engine, "
    "pllm_sync.catalog.loader, pllm_sync.metadata.loader, pllm_sync.zotero.store, "
    "pllm_sync.vault.store, pyzotero.zotero, markdown_it, markdownify, tqdm, yaml"
)

STATUS_FLOOR = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT COUNT(*), COUNT(zotero_key), COUNT(note_path), SUM(tombstone) FROM papers").fetchone()
c.execute("SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
c.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
"""


_SESSION: list[Path] = []


def work_dir(prefix: str) -> Path:
    """A fresh folder for one part, removed only when the whole bench ends: ext4 skips
    inodes freed in the last minutes when it allocates new ones, scanning past each of
    them, so a pull right after the previous part's 60,000 notes were deleted spent seconds
    of kernel CPU creating its files (its floor too: 0.6 s -> 4.1 s for 5,000 notes). Run
    the bench again only minutes after the last run ended, for the same reason."""
    if not _SESSION:
        _SESSION.append(Path(tempfile.mkdtemp(prefix="bench-perf-")))
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_SESSION[0]))


def best(fn: Callable[[], float], n: int = 3) -> float:
    return min(fn() for _ in range(n))


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def cpu_of(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """The child's CPU seconds (user + system): steadier than wall time on a shared machine."""
    before = os.times()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run the CLI in a child process; its wall time, CPU, peak RSS and bytes written."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        t = time.perf_counter()
        subprocess.run(
            [PY, "-c", CHILD, out, *args], check=True, env=env, stdout=subprocess.DEVNULL
        )
        res: dict[str, Any] = json.loads(Path(out).read_text())
        res["wall"] = time.perf_counter() - t
        return res
    finally:
        os.unlink(out)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "-"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def show(label: str, value: str, floor: str = "", r: str = "") -> None:
    print(f"  {label:<34} {value:<44} {floor:<30} {r}", flush=True)


# --------------------------------------------------------------------------- synthetic data


def frontmatters(n: int) -> list[dict[str, Any]]:
    import datetime as dt

    from pllm_sync.vault.yamlio import WikiLink

    return [
        {
            "pllm-sync-id": f"arxiv-2401.{i:05d}",
            "title": f"Paper {i}: Personalizing Large Language Models with Method {i % 97}",
            "aliases": [],
            "authors": ["Ada Lovelace", "Alan Turing", "Émile Zola"],
            "year": 2020 + i % 5,
            "venue": f"ACL {2020 + i % 5}",
            "method": f"M{i}",
            "arxiv": f"2401.{i:05d}",
            "doi": None,
            "url": f"https://arxiv.org/abs/2401.{i:05d}",
            "code": f"https://github.com/example/m{i}" if i % 2 else None,
            "sections": [WikiLink(f"[[Sections/Personalized Prompting {i % 7}|Prompting]]")],
            "tags": ["llm", "personalization"],
            "status": None,
            "rating": None,
            "added": dt.date(2026, 12, 1),
            "catalog": "listed",
        }
        for i in range(n)
    ]


# --------------------------------------------------------------------------- parts


def part_help() -> None:
    print("--help as a whole process", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-perf-pyc-") as pyc:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pyc}  # compiled once, as installed
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        timed([PY, "-m", "pllm_sync.cli", "--help"], env)
        t = best(lambda: timed([PY, "-m", "pllm_sync.cli", "--help"], env), 5)
        f = best(lambda: timed([PY, "-c", "pass"], env), 5)
    show("--help", f"{t:.3f} s", f"bare interpreter {f:.3f} s", ratio(t, f))


def part_yaml(n: int = 5000) -> None:
    from pllm_sync.vault import yamlio

    print(f"YAML emit of {n} frontmatters", flush=True)
    fms = frontmatters(n)

    def run(fn: Callable[[dict[str, Any]], str]) -> float:
        t = time.perf_counter()
        for fm in fms:
            fn(fm)
        return time.perf_counter() - t

    def libyaml(fm: dict[str, Any]) -> str:
        return yaml.dump(
            {k: ([str(x) for x in v] if k == "sections" else v) for k, v in fm.items()},
            Dumper=yaml.CSafeDumper,
            allow_unicode=True,
            sort_keys=False,
            width=2**31 - 1,
        )

    ours = best(lambda: run(yamlio.dump_mapping))
    pure = best(lambda: run(yamlio._dump_serializer), 1)
    floor = best(lambda: run(libyaml))
    same = all(yamlio.dump_mapping(fm) == yamlio._dump_serializer(fm) for fm in fms[:500])
    show(
        "dump_mapping (direct emitter)",
        f"{ours:.3f} s",
        f"libyaml {floor:.3f} s",
        ratio(ours, floor),
    )
    show(
        "PyYAML pure-Python serializer",
        f"{pure:.3f} s",
        f"libyaml {floor:.3f} s",
        ratio(pure, floor),
    )
    show("byte-identical to the serializer", str(same))


def _make_notes(root: Path, n: int) -> None:
    from pllm_sync.vault.note import render_new_note

    papers = root / "Papers"
    papers.mkdir(parents=True)
    region = "<!-- pllm-sync:begin -->\n## Abstract\n\nWe study personalization.\n<!-- pllm-sync:end -->\n"
    past = time.time() - 3600
    for i, fm in enumerate(frontmatters(n)):
        p = papers / f"Paper {i}.md"
        p.write_text(render_new_note(fm, region, f"My notes on {i}."), encoding="utf-8")
        os.utime(p, (past, past))


def part_scan(sizes: Iterable[int]) -> None:
    from pllm_sync.config import VaultConfig
    from pllm_sync.runtime import one_shot_gc
    from pllm_sync.vault.store import VaultStore

    for n in sizes:
        print(f"vault scan, {n} notes", flush=True)
        root = work_dir("scan-") / "vault"
        _make_notes(root, n)
        store = VaultStore(VaultConfig(path=root))
        t = time.perf_counter()
        cold = store.scan()
        t_cold = time.perf_counter() - t
        prev = cold.stats

        def warm(
            root: Path = root, prev: dict[str, Any] = prev, clock: Any = time.perf_counter
        ) -> float:
            t = clock()
            res = VaultStore(VaultConfig(path=root)).scan(prev)
            assert res.reread == 0, res.reread
            return float(clock() - t)

        def in_sync(clock: Any = time.perf_counter) -> float:
            with one_shot_gc():  # as `sync` runs it
                return warm(clock=clock)

        def floor(root: Path = root, clock: Any = time.perf_counter) -> float:
            t = clock()
            stack = [str(root)]
            while stack:
                for e in os.scandir(stack.pop()):
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.name.endswith(".md"):
                        os.stat(e.path)
            return float(clock() - t)

        show("cold scan", f"{t_cold:.2f} s ({n / t_cold:,.0f} notes/s)")
        # CPU time (process_time) too: steadier than wall time on a shared machine
        runs: list[tuple[str, Callable[..., float]]] = [
            ("warm scan (as sync runs it)", in_sync),
            ("warm scan", warm),
        ]
        for label, fn in runs:
            t_warm, t_floor = best(fn), best(floor)
            c_warm = best(partial(fn, clock=time.process_time))
            c_floor = best(partial(floor, clock=time.process_time))
            show(
                label,
                f"{t_warm:.3f} s wall, {c_warm:.3f} s CPU",
                f"scandir+stat {t_floor:.3f} / {c_floor:.3f} s",
                f"{ratio(t_warm, t_floor)} wall, {ratio(c_warm, c_floor)} CPU",
            )


def part_sched(sizes: Iterable[int]) -> None:
    from pllm_sync.runtime import one_shot_gc
    from pllm_sync.zotero.batch import BatchWriter, WriteOp

    class Offline(BatchWriter):
        """Answers every request in memory, so only the scheduling is timed."""

        posts = 0

        def _post(self, chunk: list[WriteOp]) -> list[WriteOp]:
            self.posts += 1
            for op in chunk:
                self._ok(op, 1, None)
            return []

    print("BatchWriter scheduling (parents with code-link children)", flush=True)
    for n in sizes:
        ops: list[WriteOp] = []
        for i in range(n // 2):
            ops.append(WriteOp({"key": f"P{i:07d}", "version": 0}))
            ops.append(WriteOp({"key": f"C{i:07d}", "version": 0, "parentItem": f"P{i:07d}"}))
        w = Offline(http=SimpleNamespace(prefix="/users/1"), kind="items")  # type: ignore[arg-type]
        with one_shot_gc():  # as in a run: the collector's passes are not the scheduling's
            t = time.perf_counter()
            w.write(ops)
            dt_ = time.perf_counter() - t
        show(f"{n:>6} ops", f"{dt_:.3f} s, {dt_ / n * 1e6:.1f} µs/op, {w.posts} requests")


def _idle_watch(env: dict[str, str], cfg: Path, emu: Any, seconds: float, poll: float) -> None:
    proc = subprocess.Popen(
        [PY, "-m", "pllm_sync.cli", "-q", "--config", str(cfg), "watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "watching ...": printed before the first pass (a pull) runs
        ticks = os.sysconf("SC_CLK_TCK")

        def per_thread() -> dict[int, int]:
            """CPU clock ticks of each of the daemon's threads (by thread id)."""
            out = {}
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                with contextlib.suppress(OSError):  # a thread that ended meanwhile
                    f = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    out[int(task.name)] = int(f[11]) + int(f[12])
            return out

        def per_thread_ns() -> dict[int, int]:
            """Nanoseconds on a CPU of each thread (``schedstat``): a tick is 10 ms, about what
            two idle polls cost, so ticks alone count an idle minute to +-50%."""
            out = {}
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    out[int(task.name)] = int((task / "schedstat").read_text().split()[0])
            return out

        end = time.monotonic() + 600
        while time.monotonic() < end:  # wait for the first pass to end: 3 s of quiet
            before = sum(per_thread().values())
            time.sleep(3)
            if sum(per_thread().values()) - before < 3:
                break
        time.sleep(poll + 2)  # let the first poll settle

        def sample() -> tuple[float, int, int]:
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(stat[11]) + int(stat[12])) / ticks
            io = dict(
                line.split(": ") for line in Path(f"/proc/{proc.pid}/io").read_text().splitlines()
            )
            return cpu, int(io["write_bytes"]), int(io["wchar"])

        if proc.poll() is not None:
            raise RuntimeError(f"watch exited {proc.returncode} before the idle window")
        emu.clear_log()
        c0, w0, ch0 = sample()
        th0, ns0 = per_thread(), per_thread_ns()
        t0 = time.perf_counter()
        time.sleep(seconds)
        c1, w1, ch1 = sample()
        th1, ns1 = per_thread(), per_thread_ns()
        el = time.perf_counter() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"watch exited {proc.returncode} during the idle window")
        reqs = list(emu.request_log)
        polls = max(1, round(el / poll))
        per_min = 60 / el
        show(
            f"idle watch ({el:.0f} s, poll {poll:.0f} s)",
            f"{(c1 - c0) / el * 100:.2f}% of a core, {mb((w1 - w0) * per_min)}/min "
            f"to disk ({mb((ch1 - ch0) * per_min)}/min write())",
            "~0",
            f"{len(reqs) / polls:.1f} requests/poll",
        )
        spent = {t: n - th0.get(t, 0) for t, n in th1.items() if n - th0.get(t, 0)}
        main_tid = proc.pid  # the main thread's id is the process id
        if ns1:
            ns = {t: n - ns0.get(t, 0) for t, n in ns1.items() if n - ns0.get(t, 0)}
            main_ms = ns.get(proc.pid, 0) / 1e6
            show(
                "  CPU by schedstat (ns)",
                f"{sum(ns.values()) / 1e9 / el * 100:.3f}% of a core; main thread "
                f"{main_ms / polls:.1f} ms a poll; others {(sum(ns.values()) / 1e6 - main_ms):.0f} ms",
            )
        show(
            "  ticks by thread",
            ", ".join(f"{'main' if t == main_tid else t}: {n}" for t, n in sorted(spent.items()))
            or "none",
            f"{ticks} ticks = 1 s",
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _set_status(notes: list[Path], status: str) -> None:
    """Edit notes as a user would: one frontmatter line changed."""
    for p in notes:
        text = p.read_text(encoding="utf-8")
        head, sep, rest = text.partition("\nstatus:")
        _line, nl, tail = rest.partition("\n")
        p.write_text(f"{head}{sep} {status}{nl}{tail}", encoding="utf-8")


def _setup(root: Path, emu: Any, n: int) -> tuple[dict[str, str], list[str], Path]:
    """A config following one synthetic list of ``n`` papers, the emulator's library and a
    vault under ``root``; the child processes' environment, the CLI's leading arguments
    and the vault."""
    env = {
        **os.environ,
        "PLLM_SYNC_HOME": str(root / "home"),
        "PLLM_SYNC_ZOTERO_API_KEY": emu.api_key,
        # as installed: modules compiled once (into a cache of this run), not every start
        "PYTHONPYCACHEPREFIX": str(root / "pycache"),
    }
    env.pop("PLLM_SYNC_CONFIG", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    (root / "list.md").write_text(synthetic_list(n, code_links=True), encoding="utf-8")
    cfg = root / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "catalog": {"sources": [{"name": "synthetic", "path": str(root / "list.md")}]},
                "zotero": {"library_id": emu.user_id, "endpoint": emu.base_url},
                "vault": {"path": str(root / "vault")},
                "watch": {"zotero_poll_seconds": POLL},
                "api": {"port": 0},  # any free port: benches running at once must not clash
                # no lookups on the network: the floor has none, and a machine without
                # one would time the failed name lookups
                "metadata": {"enabled": False},
            }
        )
    )
    return env, ["-q", "--config", str(cfg)], root / "vault"


def _other_pull(n: int) -> float:
    """The wall time of one more first pull of ``n`` papers, in a library and vault of its
    own: the floor is the best of two replays, so the pull is the best of two as well."""
    from pllm_sync.testing.zotero_server import ZoteroEmulator

    root = work_dir("pull-")
    with ZoteroEmulator() as emu:
        env, base, _vault = _setup(root, emu, n)
        subprocess.run([PY, "-c", WARM_IMPORTS], check=True, env=env)
        wall = float(cli(env, *base, "pull", "--no-progress")["wall"])
    shutil.rmtree(root, ignore_errors=True)
    return wall


def part_sync(n: int, idle: float, pull_only: bool = False) -> None:
    from pllm_sync.testing.zotero_server import ZoteroEmulator

    print(f"sync, {n} papers (separate processes against the emulator)", flush=True)
    other = _other_pull(n)
    root = work_dir("sync-")
    with ZoteroEmulator() as emu:
        env, base, vault = _setup(root, emu, n)
        # compile what a pull imports into this run's cache first (an installed package
        # ships compiled modules; with a fresh cache the first pull would compile them all)
        subprocess.run([PY, "-c", WARM_IMPORTS], check=True, env=env)
        recorded = _record_requests(emu)
        c0 = time.process_time()  # this process only serves the emulator meanwhile
        r = cli(env, *base, "pull", "--no-progress")
        server_cpu = time.process_time() - c0
        del emu.serve  # stop recording
        reqs = len(emu.request_log)
        writes = sum(1 for q in emu.request_log if q.method in WRITES)
        # the best of two replays, part by part: the durable writes' time moved by 2.7x
        # between runs minutes apart (0.60 to 1.62 s at 5,000 notes), and a floor that
        # happens to be slow flatters the ratio
        runs = [pull_floor(recorded, vault, root) for _ in range(2)]
        parts = {k: min(run[k] for run in runs) for k in runs[0]}
        bare = best(lambda: timed([PY, "-c", "pass"]), 3)
        f = parts["http"] + parts["disk"] + bare
        pulled = min(r["wall"], other)
        show(
            "first pull, best of 2",
            f"{pulled:.2f} s wall ({r['wall']:.2f} / {other:.2f} s)",
            f"floor {f:.2f} s",
            ratio(pulled, f),
        )
        show(
            "  the recorded pull",
            f"{r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, {r['rss_kb'] / 1024:.0f} MiB",
        )
        show(
            "  floor parts",
            f"HTTP replay {parts['http']:.2f} s + notes written durably {parts['disk']:.2f} s "
            f"({parts['notes']:.0f} notes) + interpreter {bare:.3f} s",
        )
        show(
            "  CPU, client + emulator",
            f"{r['cpu']:.2f} + {server_cpu:.2f} s",
            f"floor {parts['cpu']:.2f} s",
            ratio(r["cpu"] + server_cpu, parts["cpu"]),
        )
        show(
            "  requests / bytes",
            f"{reqs} ({writes} writes), {mb(r['write_bytes'])} to disk",
        )
        if pull_only:
            return

        r = cli(env, *base, "sync", "--no-progress")
        show(
            "first sync after the pull",
            f"{r['wall']:.2f} s, {mb(r['write_bytes'])} written (the pull's notes checked once)",
        )
        time.sleep(2.5)  # every note now older than the scan's racy window
        cli(env, *base, "sync", "--no-progress")  # trusts them (and, quiet, leaves the mark)
        state = next((root / "home").rglob("state*.sqlite3"))
        with sqlite3.connect(state) as db:
            db.execute("DELETE FROM settled")  # as after any change: decide in full
        r = cli(env, *base, "sync", "--no-progress")
        show(
            "no-op sync deciding in full",
            f"{r['wall']:.2f} s, {r['rss_kb'] / 1024:.0f} MiB, {mb(r['write_bytes'])} written "
            "(leaves the settled mark)",
        )
        emu.clear_log()
        before = {str(p): p.stat().st_mtime_ns for p in vault.rglob("*.md")}
        runs = [cli(env, *base, "sync", "--no-progress") for _ in range(3)]
        r = min(runs, key=lambda x: float(x["wall"]))
        after = {str(p): p.stat().st_mtime_ns for p in vault.rglob("*.md")}
        changed = sum(1 for k in after if before.get(k) != after[k])
        requests = [f"{q.method} {q.path} {q.status}" for q in emu.request_log[:1]]
        n_requests = len(emu.request_log) / len(runs)
        version = "0"
        for q in emu.request_log:
            if q.query.get("since"):
                version = q.query["since"][0]
        host, port = emu.host, str(emu.port)
        floor_cmd = [PY, "-c", NOOP_FLOOR, str(vault), host, port, str(emu.user_id)]
        floor_cmd += [emu.api_key, version]
        f = best(lambda: timed(floor_cmd))
        f_cpu = min(cpu_of(floor_cmd) for _ in range(3))
        show(
            "no-op sync (settled)",
            f"{r['wall']:.2f} s, {r['rss_kb'] / 1024:.0f} MiB, {mb(r['write_bytes'])} written",
            f"stat+1 request {f:.3f} s",
            ratio(r["wall"], f),
        )
        cpu = min(float(x["cpu"]) for x in runs)
        show("  CPU", f"{cpu:.3f} s", f"floor {f_cpu:.3f} s", ratio(cpu, f_cpu))
        show(
            "  requests / files",
            f"{n_requests:g} a run {requests}, {changed} files rewritten",
        )

        st_runs = [cli(env, *base, "status") for _ in range(3)]
        r = min(st_runs, key=lambda x: float(x["wall"]))
        f = best(lambda: timed([PY, "-c", STATUS_FLOOR, str(state)]))
        f_cpu = min(cpu_of([PY, "-c", STATUS_FLOOR, str(state)]) for _ in range(3))
        show(
            "status",
            f"{r['wall']:.3f} s, {r['rss_kb'] / 1024:.0f} MiB",
            f"COUNT queries {f:.3f} s",
            ratio(r["wall"], f),
        )
        cpu = min(float(x["cpu"]) for x in st_runs)
        show("  CPU", f"{cpu:.3f} s", f"floor {f_cpu:.3f} s", ratio(cpu, f_cpu))
        # as a user runs it: no PLLM_SYNC_HOME, the folders found by the platform's rules
        # (the XDG variables point at this run's folders, whose layout differs: links)
        xdg = root / "xdg"
        user_env = {k: v for k, v in env.items() if k != "PLLM_SYNC_HOME"}
        for var, sub, inner in (
            ("XDG_CONFIG_HOME", "config", "config"),
            ("XDG_DATA_HOME", "data", "data"),
            ("XDG_CACHE_HOME", "cache", "cache"),
        ):
            (xdg / sub).mkdir(parents=True, exist_ok=True)
            link = xdg / sub / "pllm-sync"
            if not link.exists():
                link.symlink_to(root / "home" / inner)
            user_env[var] = str(xdg / sub)
        user_env["XDG_STATE_HOME"] = str(xdg / "state")
        user_runs = [cli(user_env, *base, "status") for _ in range(3)]
        r = min(user_runs, key=lambda x: float(x["wall"]))
        show(
            "  as a user runs it",
            f"{r['wall']:.3f} s (no PLLM_SYNC_HOME: the platform's folders)",
            f"COUNT queries {f:.3f} s",
            ratio(r["wall"], f),
        )
        if idle > 0:
            _idle_watch(env, Path(base[-1]), emu, idle, POLL)

        notes = sorted((vault / "Papers").glob("*.md"))
        _set_status(notes[len(notes) // 2 : len(notes) // 2 + 1], "reading")
        emu.clear_log()
        r = cli(env, *base, "sync", "--no-progress")
        w = sum(1 for q in emu.request_log if q.method in WRITES)
        show("one edited note", f"{r['wall']:.2f} s, {len(emu.request_log)} requests, {w} writes")

        _set_status(notes, "read")
        emu.clear_log()
        r = cli(env, *base, "sync", "--no-progress")
        w = sum(1 for q in emu.request_log if q.method in WRITES)
        show(
            f"mass edit of {len(notes)} notes",
            f"{r['wall']:.1f} s, {len(emu.request_log)} requests, {w} writes",
            f"{-(-len(notes) // 50)} writes of 50",
        )
        shutil.rmtree(root / "home", ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--papers", type=int, nargs="*", default=[5000])
    ap.add_argument("--scan", type=int, nargs="*", default=[50000])
    ap.add_argument("--sched", type=int, nargs="*", default=[1000, 5000, 20000, 50000])
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle watch (0: skip)")
    ap.add_argument("--only", nargs="*", default=["help", "yaml", "sched", "scan", "sync"])
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    try:
        run_parts(args)
    finally:
        if _SESSION:
            shutil.rmtree(_SESSION[0], ignore_errors=True)


def run_parts(args: argparse.Namespace) -> None:
    if "help" in args.only:
        part_help()
    if "yaml" in args.only:
        part_yaml()
    if "sched" in args.only:
        part_sched(args.sched)
    if "scan" in args.only:
        part_scan(args.scan)
    if "sync" in args.only or "pull" in args.only:
        for n in args.papers:
            part_sync(n, args.idle, pull_only="sync" not in args.only)


if __name__ == "__main__":
    main()
