"""Realistic rate limiting (DS ``ApiController::initRequestLimiter``): a token bucket per user
and address, 429 ``Request rate limit exceeded`` with ``Retry-After`` when it is empty, and
``Backoff`` while it runs low. Switched on by the constructor, ``set_rate_limit`` or the
control API; time comes from a fake clock, so nothing here waits."""

from __future__ import annotations

import httpx2
import pytest

from pllm_sync.testing.zotero_server import RateLimit, ZoteroEmulator

from .conftest import Raw


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_off_by_default(raw: Raw) -> None:
    statuses = {raw.get("/users/1/items").status_code for _ in range(150)}
    assert statuses == {200}


def test_empty_bucket_answers_429_with_retry_after_until_it_refills(
    zotero_emulator: ZoteroEmulator, raw: Raw
) -> None:
    clock = FakeClock()
    zotero_emulator.set_rate_limit(RateLimit(capacity=3, replenish_rate=1.5), clock=clock)
    assert [raw.get("/users/1/items").status_code for _ in range(3)] == [200, 200, 200]
    refused = raw.get("/users/1/items")
    assert refused.status_code == 429
    assert refused.text == "Request rate limit exceeded"
    assert refused.headers["Retry-After"] == "2"  # (int) capacity / replenishRate
    # Refused requests do not run: a refused write changes nothing.
    blocked_write = raw.post("/users/1/items", [{"itemType": "book"}])
    assert blocked_write.status_code == 429
    assert zotero_emulator.get_items() == {}
    clock.now += 1.0  # 1.5 tokens back: one more request
    assert raw.get("/users/1/items").status_code == 200
    assert raw.get("/users/1/items").status_code == 429
    clock.now += 60  # full again, never above capacity
    assert [raw.get("/users/1/items").status_code for _ in range(4)] == [200, 200, 200, 429]
    zotero_emulator.set_rate_limit(None)
    assert raw.get("/users/1/items").status_code == 200


def test_backoff_is_sent_while_the_bucket_runs_low(
    zotero_emulator: ZoteroEmulator, raw: Raw
) -> None:
    clock = FakeClock()
    limit = RateLimit(capacity=4, replenish_rate=0.01, backoff=7, backoff_below=0.5)
    zotero_emulator.set_rate_limit(limit, clock=clock)
    headers = [raw.get("/users/1/items").headers for _ in range(5)]
    assert [h.get("Backoff") for h in headers] == [None, None, "7", "7", "7"]
    assert "Retry-After" in headers[4] and "Retry-After" not in headers[3]


def test_buckets_are_per_user_and_anonymous_requests_share_the_address(
    http_client: httpx2.Client,
) -> None:
    clock = FakeClock()
    with ZoteroEmulator(
        read_only_key="ROKEY", rate_limit=RateLimit(capacity=2, replenish_rate=0.01)
    ) as emu:
        emu.set_rate_limit(emu.rate_limiter.limit, clock=clock)
        url = emu.base_url + "/users/1/items"

        def get(key: str | None) -> int:
            headers = {"Zotero-API-Key": key} if key else {}
            return http_client.get(url, headers=headers).status_code

        # Two keys of the same user share one bucket (DS: userID_address).
        assert [get("TESTKEY"), get("ROKEY"), get("TESTKEY")] == [200, 200, 429]
        # Anonymous requests have their own bucket (the address): 403 for a private
        # library, but counted, then refused with 429.
        assert [get(None), get(None), get(None)] == [403, 403, 429]


def test_control_api_switches_limits_on_and_off(http_client: httpx2.Client) -> None:
    with ZoteroEmulator(control=True) as emu:
        ctl = emu.base_url + "/_control/rate_limit"
        assert http_client.get(ctl).json() is None
        resp = http_client.put(ctl, json={"capacity": 2, "replenishRate": 0.001, "backoff": 3})
        assert resp.status_code == 204
        assert http_client.get(ctl).json() == {
            "capacity": 2,
            "replenishRate": 0.001,
            "backoff": 3,
            "backoffBelow": 0.5,
        }
        url = emu.base_url + "/users/1/items"
        key = {"Zotero-API-Key": "TESTKEY"}
        got = [http_client.get(url, headers=key) for _ in range(3)]
        assert [r.status_code for r in got] == [200, 200, 429]
        assert got[2].headers["Retry-After"] == "2000" and got[2].headers["Backoff"] == "3"
        bad = http_client.put(ctl, json={"capacity": 0})
        assert bad.status_code == 400 and "capacity must be at least 1" in bad.text
        assert http_client.put(ctl, json={"burst": 1}).status_code == 400
        assert http_client.delete(ctl).status_code == 204
        assert http_client.get(url, headers=key).status_code == 200


def test_rate_limit_values_are_checked() -> None:
    with pytest.raises(ValueError, match="replenish_rate"):
        RateLimit(capacity=10, replenish_rate=0)
    assert RateLimit().retry_after == 10  # the real server's 100 burst, 10/s


def test_standalone_rate_limit_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from pllm_sync.testing.zotero_server.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--rate-limit", "fast"])
    assert exc.value.code == 2
    assert "--rate-limit: expected CAPACITY/RATE such as 100/10" in capsys.readouterr().err


def test_standalone_server_enforces_the_rate_limit() -> None:
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pllm_sync.testing.zotero_server",
            "--rate-limit",
            "2/0.001",
            "--backoff",
            "9",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip() + "/users/1/items"
        with httpx2.Client(trust_env=False) as c:
            got = [c.get(url, headers={"Zotero-API-Key": "TESTKEY"}) for _ in range(3)]
        assert [r.status_code for r in got] == [200, 200, 429]
        assert got[2].headers["Retry-After"] == "2000" and got[2].headers["Backoff"] == "9"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
