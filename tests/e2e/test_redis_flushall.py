"""Redis loses its data under load: ``inngest start`` with Redis, ``fc-load``
(``concurrency: 5``, one timed step per run), 3 s leases (heartbeat every second).

Once a fifth of the runs are done, every key of the server is deleted. The Redis is shared with
other tests (and other suites), so instead of ``FLUSHALL`` the test deletes exactly the keys
under this server's own random prefix, which is all the server has in Redis: for the server it
is the same as a flushed Redis. No run is lost (all complete), and once the lease heartbeat
has re-asserted the in-flight slots (within a lease) the app never again has more than five
steps in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import redis

from . import harness

pytestmark = pytest.mark.e2e

RUNS = 150
LIMIT = 5
LEASE_S = 3


def peak_in_flight_after(lines: Sequence[Mapping[str, Any]], after_ms: int) -> int:
    """The most steps in flight at any moment at or after ``after_ms`` (app clock)."""
    points = sorted(
        (int(c["t"]), 1 if c["phase"] == "start" else -1)
        for c in lines
        if c.get("phase") in ("start", "end")
    )
    current = peak = 0
    for t, delta in points:
        current += delta
        if t >= after_ms:
            peak = max(peak, current)
    return peak


def delete_prefix(url: str, prefix: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        deleted = 0
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            deleted += int(client.delete(key))
        return deleted
    finally:
        client.close()


def test_limit_recovers_after_redis_loses_its_keys(
    sdk: harness.Sdk,
    redis_url: str,
    start_server: Callable[..., harness.Server],
    start_app: Callable[..., harness.SdkApp],
) -> None:
    server = start_server(
        "start", redis_url=redis_url, env={"INNGEST_QUEUE__LEASE_S": str(LEASE_S)}
    )
    app = start_app(sdk, server, mode="cloud", functions=["fc-load"])
    server.api.sync_app(app.url)
    slug = app.slug("fc-load")
    id_ = harness.unique_id("flush")
    server.send_event(
        [
            {"name": "test/fc-load", "data": {"id": id_, "n": n, "delay_ms": 300}}
            for n in range(RUNS)
        ]
    )
    harness.wait_until(
        lambda: len(harness.phase_lines(app.calls("fc-load"), "end")) >= RUNS // 5,
        what="a fifth of the steps to run",
    )

    wiped_at_ms = int(time.time() * 1000)
    assert delete_prefix(redis_url, server.redis_prefix) > 0, "the server had no keys to lose"

    def all_completed() -> bool:
        runs = server.api.list_runs(function=slug)
        bad = [r for r in runs if r["status"] in ("Failed", "Cancelled")]
        if bad:
            raise harness.WaitAborted(f"runs did not complete: {bad}")
        return len([r for r in runs if r["status"] == "Completed"]) == RUNS

    harness.wait_until(all_completed, 150, 0.5, f"{RUNS} runs to complete")
    lines = [c for c in app.calls("fc-load") if c["id"] == id_]
    assert len({c["run_id"] for c in harness.phase_lines(lines, "end")}) == RUNS
    recovered_ms = wiped_at_ms + LEASE_S * 1000
    later = [c for c in harness.phase_lines(lines, "start") if c["t"] >= recovered_ms]
    assert later, "the load ended before the limit could be checked again"
    assert peak_in_flight_after(lines, recovered_ms) <= LIMIT
