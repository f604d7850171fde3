"""Shared test setup: isolated user dirs, hypothesis profiles, and the slow-test switch.

CI runs a bounded but real share of the slow work: history replays sample versions and
property tests use the ``ci`` profile; ``--run-slow`` (or ``PLLM_SYNC_FULL=1``) runs it all.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

DATA = Path(__file__).parent / "data"

# The default (and CI's) profile is derandomized: every run tries the same bounded set of
# examples, so a red CI always reproduces and a green one is not luck. Exploration is the
# job of --run-slow ("full": 500 random examples per property) and of the "dev" profile.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "full", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="run the full history replays and long property runs",
    )


def full_run(config: pytest.Config) -> bool:
    return bool(config.getoption("--run-slow")) or os.environ.get("PLLM_SYNC_FULL") == "1"


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile("full" if full_run(config) else "ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if full_run(config):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or PLLM_SYNC_FULL=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """True when the full (slow) share of sampled tests should run."""
    return full_run(request.config)


@pytest.fixture(autouse=True)
def signal_handlers_restored() -> Iterator[None]:
    """A test that runs the daemon in this process leaves its Ctrl-C and SIGTERM handlers
    installed (the daemon's stop flag): put the earlier ones back, so a later test's Ctrl-C
    raises KeyboardInterrupt as in a fresh process (one did not, when xdist ran it after a
    daemon test in the same worker)."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        if signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own PLLM_SYNC_HOME and never sees the developer's config or key."""
    home = tmp_path_factory.mktemp("pllm-home")
    monkeypatch.setenv("PLLM_SYNC_HOME", str(home))
    monkeypatch.delenv("PLLM_SYNC_CONFIG", raising=False)
    monkeypatch.delenv("PLLM_SYNC_ZOTERO_API_KEY", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # No test reaches the internet: metadata enrichment is off unless a test points it at
    # a local server (tests/metadata) and clears this.
    monkeypatch.setenv("PLLM_SYNC_METADATA", "off")
    yield home


@pytest.fixture
def syncfs_here() -> Callable[[Path], bool]:
    """Whether a large write batch in a folder flushes its filesystem by one ``syncfs``
    (the tests of that path skip where it does not: another filesystem, an older kernel)."""
    from pllm_sync import fsflush

    def here(folder: Path) -> bool:
        opened = fsflush.open_for_flush(str(folder))
        if opened is None:
            return False
        os.close(opened[0])
        return True

    return here


@pytest.fixture
def count_flushes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, int]]:
    """Called, it starts counting the per-file fsyncs (``fsync``) and the filesystem flushes
    (``syncfs``) that write batches make; returns the counts, kept up to date."""
    from pllm_sync import atomic, fsflush

    def start() -> dict[str, int]:
        counts = {"fsync": 0, "syncfs": 0}
        real_fsync, real_flush = atomic._fsync_fd, fsflush.flush

        def fsync(fd: int) -> None:
            counts["fsync"] += 1
            real_fsync(fd)

        def flush(fd: int) -> None:
            counts["syncfs"] += 1
            real_flush(fd)

        monkeypatch.setattr(atomic, "_fsync_fd", fsync)
        monkeypatch.setattr(fsflush, "flush", flush)
        return counts

    return start
