"""Flow control at run start against a real database: idempotency keys, rate limits,
singletons, priority and fair ordering between functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inngest.clock import to_ms
from inngest.coord.pg_limits import PostgresLimits
from inngest.db.pool import Pool
from inngest.ingest import events as ingest
from inngest.ingest import items
from inngest.protocol import events as wire_events
from inngest.queue import ops as queue
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import rows, sync

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def setup(pool: Pool, stub: StubSdk, **config: Any) -> None:
    fn = {"id": "stub-app-fn", "event": "demo/go", "config": config}
    other = {"id": "stub-app-other", "event": "demo/other"}
    await sync(pool, stub.app_sync([fn, other]), T0)


async def send(pool: Pool, events: list[dict[str, Any]], *, now: datetime = T0) -> ingest.Ingested:
    parsed = wire_events.parse_events(json.dumps(events).encode(), now_ms=to_ms(now), seed=None)
    async with pool.connection() as conn, conn.transaction():
        return await ingest.ingest(conn, parsed, now=now, limiter=PostgresLimits(pool))


async def statuses(pool: Pool, slug: str = "stub-app-fn") -> list[tuple[str, str | None]]:
    return await rows(
        pool,
        "SELECT r.status, r.skip_reason FROM runs r JOIN functions f ON f.id = r.function_id"
        " WHERE f.slug = %s ORDER BY r.id",
        (slug,),
    )


async def test_idempotency_key_starts_one_run_per_value(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, idempotency="event.data.k")
    await send(pool, [{"name": "demo/go", "data": {"k": "a"}}])
    await send(
        pool, [{"name": "demo/go", "data": {"k": "a"}}, {"name": "demo/go", "data": {"k": "b"}}]
    )
    assert [s for s, _ in await statuses(pool)] == ["Scheduled", "Scheduled"]


async def test_rate_limit_skips_excess_events(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, rateLimit={"limit": 2, "period": "1m"})
    result = await send(pool, [{"name": "demo/go", "data": {"i": i}} for i in range(4)])
    assert len(result.run_ids) == 2
    assert len(result.skipped) == 2
    assert sorted(await statuses(pool)) == [
        ("Scheduled", None),
        ("Scheduled", None),
        ("Skipped", "rate limited"),
        ("Skipped", "rate limited"),
    ]
    # Skipped runs never queue work.
    queued = await rows(pool, "SELECT count(*) FROM queue_items WHERE kind = 'call'")
    assert queued == [(2,)]
    # The bucket refills with time.
    later = await send(pool, [{"name": "demo/go", "data": {}}], now=T0 + timedelta(minutes=1))
    assert len(later.run_ids) == 1


async def test_rate_limit_keys_are_separate(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, rateLimit={"limit": 1, "period": "1h", "key": "event.data.user"})
    result = await send(
        pool,
        [{"name": "demo/go", "data": {"user": u}} for u in ("ann", "bob", "ann")],
    )
    assert len(result.run_ids) == 2


async def test_singleton_skip(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, singleton={"key": "event.data.k", "mode": "skip"})
    await send(
        pool, [{"name": "demo/go", "data": {"k": "a"}}, {"name": "demo/go", "data": {"k": "a"}}]
    )
    await send(pool, [{"name": "demo/go", "data": {"k": "b"}}])
    assert await statuses(pool) == [
        ("Scheduled", None),
        ("Skipped", "singleton run active"),
        ("Scheduled", None),
    ]
    # Once the active run has ended, the key is free again.
    await rows(pool, "UPDATE runs SET status = 'Completed' WHERE status = 'Scheduled' RETURNING 1")
    await send(pool, [{"name": "demo/go", "data": {"k": "a"}}])
    assert (await statuses(pool))[-1] == ("Scheduled", None)


async def test_singleton_cancel_replaces_the_active_run(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, singleton={"mode": "cancel"})
    first = await send(pool, [{"name": "demo/go", "data": {}}])
    second = await send(pool, [{"name": "demo/go", "data": {}}], now=T0 + timedelta(seconds=1))
    assert len(second.run_ids) == 1
    cancels = await rows(pool, "SELECT payload FROM queue_items WHERE kind = 'cancel'")
    assert cancels == [({"run_id": first.run_ids[0], "reason": "singleton"},)]


async def test_priority_moves_the_first_call_earlier(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub, priority={"run": "event.data.p"})
    await send(
        pool,
        [
            {"name": "demo/go", "data": {"p": 0}},
            {"name": "demo/go", "data": {"p": 120}},
            {"name": "demo/go", "data": {"p": 5000}},
        ],
    )
    due = [r[0] for r in await rows(pool, "SELECT available_at FROM queue_items ORDER BY id")]
    assert due[1] < due[0] - timedelta(seconds=119)
    assert due[2] < due[0] - timedelta(seconds=599)  # clamped to 600 s
    assert due[2] > due[0] - timedelta(seconds=601)


async def test_claims_interleave_a_burst_with_other_functions(pool: Pool, stub: StubSdk) -> None:
    await setup(pool, stub)
    await send(pool, [{"name": "demo/go", "data": {"i": i}} for i in range(500)])
    await send(pool, [{"name": "demo/other", "data": {}}], now=T0 + timedelta(seconds=1))
    async with pool.connection() as conn:
        claimed = await queue.claim(
            conn, limit=4, lease_s=30, now=T0 + timedelta(seconds=2), kinds=items.KINDS, fair=True
        )
        await conn.commit()
    groups = [c.payload["run_id"] for c in claimed]
    slugs = await rows(
        pool,
        "SELECT f.slug FROM runs r JOIN functions f ON f.id = r.function_id WHERE r.id = ANY(%s)",
        (groups,),
    )
    # Queued after the whole burst, yet in the very first claim: claims go round-robin.
    assert ("stub-app-other",) in slugs
