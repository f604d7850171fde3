"""A real library meets the server's request-rate limit (a bucket of requests refilled over
time; empty: 429 with Retry-After; running low: Backoff). The emulator enforces it the same
way, on a clock that moves only when the client sleeps, so a whole import runs under the
limit without waiting and must still converge with no duplicates."""

from __future__ import annotations

from pllm_sync.testing.zotero_server import RateLimit, ZoteroEmulator

from .support import SyncState, check_library, make_store, run_import, synthetic_catalog

CATALOG = synthetic_catalog(110, seed=5, fanout=(3, 3))


class SleepClock:
    """The emulator's clock, advanced by the client's sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _import_twice(emu: ZoteroEmulator, clock: SleepClock) -> list[int]:
    """Import, check, import again (nothing to write); the statuses of the first run."""
    state = SyncState()
    run_import(make_store(emu, sleep=clock.sleep), CATALOG, state)
    statuses = [r.status for r in emu.request_log]
    check_library(emu, CATALOG)
    emu.clear_log()
    run_import(make_store(emu, sleep=clock.sleep), CATALOG, state)
    assert not [r for r in emu.request_log if r.method in ("POST", "PATCH", "DELETE")]
    check_library(emu, CATALOG)
    return statuses


def test_import_through_429s_waits_retry_after_and_converges(emu: ZoteroEmulator) -> None:
    clock = SleepClock()
    emu.set_rate_limit(RateLimit(capacity=6, replenish_rate=2), clock=clock)
    statuses = _import_twice(emu, clock)
    assert 429 in statuses, "the limit was never reached; the test proves nothing"
    assert any(s >= 2.9 for s in clock.slept), clock.slept  # Retry-After: 6 / 2 = 3 s


def test_backoff_under_load_slows_the_client_before_it_is_refused(emu: ZoteroEmulator) -> None:
    clock = SleepClock()
    emu.set_rate_limit(RateLimit(capacity=6, replenish_rate=2, backoff=2), clock=clock)
    statuses = _import_twice(emu, clock)
    assert any(s >= 1.9 for s in clock.slept), clock.slept  # Backoff: 2 s honoured
    assert 429 not in statuses, "Backoff was ignored until the server refused"
