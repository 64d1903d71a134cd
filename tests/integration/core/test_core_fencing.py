"""Commits are fenced by the claim's lease: a holder whose lease was taken over writes nothing,
and a step's recorded result never changes, however many executors race on one run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from inngest.clock import SystemClock
from inngest.db.pool import Conn, Pool
from inngest.engine import decide as engine
from inngest.errors import LeaseLost
from inngest.ingest import items
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import runs
from inngest.worker import commit, driver
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk, step_data, step_hash
from tests.integration.core.support import (
    fetch,
    make_executor,
    rows,
    running_worker,
    send,
    sync,
    wait_final,
)

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE_S = 1.0
STEP = step_hash("a")


async def one_run(pool: Pool, stub: StubSdk, now: datetime = T0) -> str:
    await sync(pool, stub.app_sync([{"id": "stub-app-fenced", "event": "demo/fenced"}]), now)
    _, ingested = await send(pool, {"name": "demo/fenced", "data": {}}, now=now)
    (run_id,) = ingested.run_ids
    return run_id


async def claim_one(conn: Conn, now: datetime) -> records.Claimed | None:
    claimed = await queue.claim(conn, limit=1, lease_s=LEASE_S, now=now, kinds=items.KINDS)
    await conn.commit()
    return claimed[0] if claimed else None


def step_decision(value: str) -> engine.Decision:
    return engine.Decision(
        (engine.SaveStep(STEP, "a", "StepRun", {"data": value}, 1), engine.Discover(False)), "ops"
    )


def attempt_of(run_id: str, at: datetime) -> runs.AttemptRecord:
    return runs.AttemptRecord(
        run_id=run_id,
        target_step="step",
        attempt=0,
        started_at=at,
        ended_at=at,
        status_code=206,
        outcome="ops",
        error=None,
        retry_at=None,
    )


async def apply(
    conn: Conn, item: records.Claimed, decision: engine.Decision, run_id: str, now: datetime
) -> commit.Applied:
    state = await runs.load_for_call(conn, run_id)
    assert state is not None
    await conn.commit()
    async with conn.transaction():
        return await commit.apply(
            conn,
            item,
            decision,
            state=state,
            call_started_at=now,
            request_version=2,
            attempt=attempt_of(run_id, now),
            now=now,
        )


async def snapshot(conn: Conn) -> dict[str, list[object]]:
    """Every row a commit may write, to compare before and after."""
    return {
        "steps": await fetch(conn, "SELECT * FROM steps ORDER BY run_id, step_id"),
        "attempts": await fetch(conn, "SELECT * FROM attempts ORDER BY id"),
        "queue": await fetch(conn, "SELECT * FROM queue_items ORDER BY id"),
        "runs": await fetch(conn, "SELECT * FROM runs ORDER BY id"),
        "history": await fetch(conn, "SELECT * FROM run_history ORDER BY 1"),
        "pauses": await fetch(conn, "SELECT * FROM pauses ORDER BY 1"),
        "events": await fetch(conn, "SELECT * FROM events ORDER BY 1"),
    }


async def test_taken_over_lease_commits_nothing(pool: Pool, stub: StubSdk) -> None:
    run_id = await one_run(pool, stub)
    async with pool.connection() as conn:
        first = await claim_one(conn, T0)
        assert first is not None
        # Still leased: nobody else can claim it.
        assert await claim_one(conn, T0 + timedelta(seconds=LEASE_S / 2)) is None
        # The lease expired: a second claimer takes the same item over with a new token.
        second = await claim_one(conn, T0 + timedelta(seconds=LEASE_S * 2))
        assert second is not None
        assert second.id == first.id
        assert second.lease_token != first.lease_token
        assert second.attempt == first.attempt == 0  # an expired lease is not an attempt

        before = await snapshot(conn)
        with pytest.raises(LeaseLost) as lost:
            await apply(conn, first, step_decision("first"), run_id, T0 + timedelta(seconds=3))
        assert lost.value.item_id == first.id
        assert await snapshot(conn) == before
        # The first holder cannot extend its lease either.
        later = T0 + timedelta(seconds=3)
        assert await queue.extend(conn, [first.lease], lease_s=LEASE_S, now=later) == set()
        await conn.commit()

        applied = await apply(conn, second, step_decision("second"), run_id, later)
        assert applied.enqueued == 1
        assert applied.finished is None
        assert await fetch(conn, "SELECT step_id, memo, position FROM steps") == [
            (STEP, {"data": "second"}, 0)
        ]
        assert await fetch(conn, "SELECT run_id, outcome FROM attempts") == [(run_id, "ops")]
        queued = await fetch(conn, "SELECT id, kind, lease_token FROM queue_items")
        assert len(queued) == 1
        assert queued[0][0] != second.id  # the held item is gone, a follow-up took its place
        assert queued[0][1:] == ("call", None)
        assert await fetch(conn, "SELECT step_count, status FROM runs") == [(1, "Running")]


async def test_taken_over_lease_cannot_schedule_a_retry(pool: Pool, stub: StubSdk) -> None:
    run_id = await one_run(pool, stub)
    async with pool.connection() as conn:
        first = await claim_one(conn, T0)
        second = await claim_one(conn, T0 + timedelta(seconds=LEASE_S * 2))
        assert first is not None
        assert second is not None
        before = await snapshot(conn)
        error = {"name": "Error", "message": "boom"}
        retry = engine.Decision((engine.Retry(T0 + timedelta(seconds=60)),), "error", error)
        with pytest.raises(LeaseLost):
            await apply(conn, first, retry, run_id, T0 + timedelta(seconds=3))
        assert await snapshot(conn) == before
        held = await fetch(conn, "SELECT attempt, lease_token FROM queue_items")
        assert held == [(0, second.lease_token)]


async def test_recorded_step_is_never_overwritten(pool: Pool, stub: StubSdk) -> None:
    run_id = await one_run(pool, stub)
    record = runs.StepRecord(STEP, "a", "StepRun", {"data": 1}, 1)
    again = runs.StepRecord(STEP, "a", "StepRun", {"data": 2}, 2)
    async with pool.connection() as conn:
        async with conn.transaction():
            assert (
                await runs.save_steps(conn, run_id, [record], first_position=0, now=T0)
            ).count == 1
        async with conn.transaction():
            assert (
                await runs.save_steps(conn, run_id, [again], first_position=1, now=T0)
            ).count == 0
        assert await fetch(conn, "SELECT memo, position, attempts FROM steps") == [
            ({"data": 1}, 0, 1)
        ]


async def test_racing_executors_record_each_step_once(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    """Two items of one run are executed at once; both calls run step ``a`` (at-least-once), the
    first answer to commit is recorded and every later call receives that value."""
    fn = "stub-app-race"
    gate, entered = anyio.Event(), anyio.Event()
    stub.behaviours[fn] = stub_sdk.steps(("a", "b", "c"), gate=gate, gate_step="a", entered=entered)
    clock = SystemClock()
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/race"}]), clock.now())
    _, ingested = await send(pool, {"name": "demo/race", "data": {}}, now=clock.now())
    (run_id,) = ingested.run_ids
    async with pool.connection() as conn:
        await queue.enqueue(conn, [items.discovery(run_id, now=clock.now())], now=clock.now())
        await conn.commit()
        claimed = await queue.claim(conn, limit=2, lease_s=30, now=clock.now(), kinds=items.KINDS)
        await conn.commit()
    assert len(claimed) == 2

    client = driver.make_client(timeout_s=30, max_connections=4)
    slow_result: list[commit.Applied | None] = []
    try:
        executor = make_executor(pool, client, clock)
        async with anyio.create_task_group() as tg:

            async def slow() -> None:
                slow_result.append(await executor.run(claimed[0]))

            tg.start_soon(slow)
            await entered.wait()  # the first call is in flight, holding step a's first run
            fast = await executor.run(claimed[1])
            assert fast is not None
            recorded = await rows(pool, "SELECT step_id, memo FROM steps")
            assert recorded == [(STEP, {"data": step_data("a", 2)})]
            gate.set()
    finally:
        await client.aclose()
    assert slow_result[0] is not None  # its lease was its own: it committed, but saved nothing
    assert await rows(pool, "SELECT step_id, memo FROM steps") == recorded
    # Executor.run hands back the run's next call already claimed; give those to the claimers.
    async with pool.connection() as conn, conn.transaction():
        leases = [a.continuation.lease for a in (fast, *slow_result) if a and a.continuation]
        await queue.release(conn, leases, now=clock.now())

    async with running_worker(pool, db_url):
        run = await wait_final(pool, run_id)
    assert run["status"] == "Completed"
    step_ids = [s["step_id"] for s in run["steps"]]
    assert step_ids == [step_hash("a"), step_hash("b"), step_hash("c")]
    assert run["steps"][0]["memo"] == {"data": step_data("a", 2)}
    assert run["output"]["memo"][STEP] == {"data": step_data("a", 2)}
    for call in stub.calls_for(fn):
        if STEP in call.memo:
            assert call.memo[STEP] == {"data": step_data("a", 2)}
