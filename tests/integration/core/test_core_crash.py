"""A worker killed while its call is in flight loses nothing: after the lease expires another
runtime re-claims the item and finishes the run; steps recorded before the crash keep their
values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from inngest.clock import FrozenClock
from inngest.db.pool import Pool
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk, step_data, step_hash
from tests.integration.core.support import rows, running_worker, send, sync, wait_final

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE_S = 30.0
NAMES = ("a", "b", "c")


async def test_killed_worker_item_is_reclaimed_after_lease_expiry(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    fn = "stub-app-crash"
    gate, entered = anyio.Event(), anyio.Event()
    # The first call that would run step b hangs until the test opens the gate.
    stub.behaviours[fn] = stub_sdk.steps(NAMES, gate=gate, gate_step="b", entered=entered)
    # Time stands still unless the test moves it: the lease cannot expire by accident.
    clock = FrozenClock(T0)
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/crash"}]), T0)
    _, ingested = await send(pool, {"name": "demo/crash", "data": {}}, now=T0)
    (run_id,) = ingested.run_ids

    try:
        async with running_worker(pool, db_url, clock=clock, lease_s=LEASE_S):
            with anyio.fail_after(20):
                await entered.wait()
            before = await rows(pool, "SELECT step_id, memo, position FROM steps")
            assert before == [(step_hash("a"), {"data": step_data("a", 1)}, 0)]
        # The worker is gone without an ack: its item is still leased until T0 + LEASE_S.
        held = await rows(pool, "SELECT kind, attempt, lease_token IS NOT NULL FROM queue_items")
        assert held == [("call", 0, True)]
        assert await rows(pool, "SELECT available_at FROM queue_items") == [
            (T0 + timedelta(seconds=LEASE_S),)
        ]
        assert await rows(pool, "SELECT status FROM runs") == [("Running",)]

        clock.advance(LEASE_S + 1)
        async with running_worker(pool, db_url, clock=clock, lease_s=LEASE_S):
            run = await wait_final(pool, run_id)
    finally:
        gate.set()  # let the abandoned handler of the stub return

    assert run["status"] == "Completed"
    assert [(s["step_id"], s["memo"], s["position"]) for s in run["steps"]] == [
        (step_hash("a"), {"data": step_data("a", 1)}, 0),  # unchanged by the crash
        (step_hash("b"), {"data": step_data("b", 3)}, 1),  # call 2 was the abandoned one
        (step_hash("c"), {"data": step_data("c", 4)}, 2),
    ]
    # The abandoned call left no attempt row; the re-claimed item starts again at attempt 0.
    assert [(a["attempt"], a["outcome"]) for a in run["attempts"]] == [
        (0, "ops"),
        (0, "ops"),
        (0, "ops"),
        (0, "completed"),
    ]
    calls = stub.calls_for(fn)
    assert len(calls) == 5
    # The re-claimed call carries exactly what was recorded before the crash.
    assert calls[2].memo == {step_hash("a"): {"data": step_data("a", 1)}}
    assert calls[2].attempt == 0
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]
