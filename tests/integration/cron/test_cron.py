"""Cron triggers against a real PostgreSQL: a sync schedules one pending tick per trigger, a tick
starts exactly one run of its function with an ``inngest/scheduled.timer`` event, re-syncs
reschedule or remove ticks, and duplicated ticks or racing workers never start a second run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
from litestar.testing import AsyncTestClient

from inngest.api.app import create_app
from inngest.api.deps import ApiDeps
from inngest.api.sdk import store_sync
from inngest.clock import FrozenClock, SystemClock, to_ms
from inngest.config import Settings
from inngest.coord.wakeup import PostgresWakeups
from inngest.db.pool import Pool
from inngest.engine import cron as schedule
from inngest.errors import LeaseLost
from inngest.ingest import cron, items
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.worker import cron as cron_worker
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import rows, running_worker, wait_final, wait_until

pytestmark = pytest.mark.anyio

# A Monday, half a minute past nine.
T0 = datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)
FN = "stub-app-cron"
LEASE_S = 30.0


def cron_fn(*crons: str | dict[str, str], fn: str = FN, event: str | None = None) -> dict[str, Any]:
    triggers: list[dict[str, str]] = [c if isinstance(c, dict) else {"cron": c} for c in crons]
    if event is not None:
        triggers.append({"event": event})
    return {"id": fn, "triggers": triggers}


def deps(pool: Pool, db_url: str, now: datetime) -> ApiDeps:
    # store_sync uses the settings, the pool and the clock only.
    settings = Settings(personality="dev", database={"url": db_url})
    return ApiDeps(settings=settings, pool=pool, clock=FrozenClock(now), client=None, wakeups=None)


async def sync(
    pool: Pool, db_url: str, stub: StubSdk, functions: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """A sync exactly as ``POST /fn/register`` stores it (validation, app, functions, crons)."""
    return await store_sync(deps(pool, db_url, now), stub.app_sync(functions))


async def pending(pool: Pool, fn: str = FN) -> list[dict[str, Any]]:
    found = await rows(
        pool,
        "SELECT q.id, q.kind, q.partition_key, q.available_at, q.payload, q.lease_token IS NOT NULL"
        " FROM queue_items q JOIN functions f ON q.partition_key = 'cron:' || f.id"
        " WHERE f.slug = %s ORDER BY q.available_at, q.id",
        (fn,),
    )
    names = ("id", "kind", "partition_key", "available_at", "payload", "leased")
    return [dict(zip(names, row, strict=True)) for row in found]


async def function_id(pool: Pool, fn: str = FN) -> str:
    ((fid,),) = await rows(pool, "SELECT id FROM functions WHERE slug = %s", (fn,))
    return str(fid)


async def runs_of(pool: Pool, fn: str = FN) -> list[tuple[str, str, list[str]]]:
    """(run id, status, event ids) of the function's runs, oldest first."""
    return [
        (r[0], r[1], list(r[2]))
        for r in await rows(
            pool,
            "SELECT r.id, r.status, r.event_ids FROM runs r"
            " JOIN functions f ON f.id = r.function_id"
            " WHERE f.slug = %s ORDER BY r.created_at, r.id",
            (fn,),
        )
    ]


async def event_of(pool: Pool, internal_id: str) -> dict[str, Any]:
    ((name, event_id, data, ts),) = await rows(
        pool, "SELECT name, id, data, ts FROM events WHERE internal_id = %s", (internal_id,)
    )
    return {"name": name, "id": event_id, "data": data, "ts": ts}


async def make_due(pool: Pool, item_id: int, at: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE queue_items SET available_at = %s WHERE id = %s", (at, item_id))
        await conn.commit()


async def claim_cron(pool: Pool, now: datetime) -> records.Claimed:
    async with pool.connection() as conn:
        claimed = await queue.claim(conn, limit=1, lease_s=LEASE_S, now=now, kinds=[items.CRON])
        await conn.commit()
    assert claimed, "no cron item was due"
    return claimed[0]


async def test_sync_schedules_one_tick_per_trigger(pool: Pool, db_url: str, stub: StubSdk) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *", "TZ=Europe/Paris 0 12 * * 5")], T0)
    fid = await function_id(pool)

    ticks = await pending(pool)
    assert [(t["kind"], t["partition_key"], t["available_at"]) for t in ticks] == [
        ("cron", f"cron:{fid}", datetime(2026, 1, 5, 9, 1, tzinfo=UTC)),
        # Friday noon in Paris (UTC+1 in winter).
        ("cron", f"cron:{fid}", datetime(2026, 1, 9, 11, 0, tzinfo=UTC)),
    ]
    assert ticks[0]["payload"] == {
        "function_id": fid,
        "slug": FN,
        "cron": "* * * * *",
        "jitter": None,
        "scheduled_at": "2026-01-05T09:01:00Z",
    }

    # An identical re-sync, later but before the tick, keeps the very same items: a sync right
    # at a tick cannot lose it.
    await sync(pool, db_url, stub, [cron_fn("* * * * *", "TZ=Europe/Paris 0 12 * * 5")], T0)
    await sync(
        pool,
        db_url,
        stub,
        [cron_fn("* * * * *", "TZ=Europe/Paris 0 12 * * 5")],
        T0 + timedelta(seconds=20),
    )
    assert [t["id"] for t in await pending(pool)] == [t["id"] for t in ticks]


async def test_tick_starts_a_run_with_the_timer_event(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    stub.behaviours[FN] = stub_sdk.steps((), output=lambda req: {"event": req.body["event"]})
    await sync(pool, db_url, stub, [cron_fn("* * * * *")], SystemClock().now())
    (tick,) = await pending(pool)
    scheduled_at = tick["payload"]["scheduled_at"]
    # Force the tick instead of waiting for the minute.
    await make_due(pool, tick["id"], SystemClock().now())

    async with running_worker(pool, db_url):
        ((run_id, _, _),) = await wait_until(
            lambda: runs_of(pool), what="the cron run to be scheduled"
        )
        run = await wait_final(pool, run_id)

    assert run["status"] == "Completed"
    expected_data = {"cron": "* * * * *", "scheduledAt": scheduled_at, "fireAt": scheduled_at}
    sent = run["output"]["event"]
    assert sent["name"] == "inngest/scheduled.timer"
    assert sent["id"] == scheduled_at
    assert sent["data"] == expected_data
    # No jitter: the event's time is the scheduled time.
    assert sent["ts"] == to_ms(datetime.fromisoformat(scheduled_at))
    ((_, _, (internal_id,)),) = await runs_of(pool)
    stored = await event_of(pool, internal_id)
    assert stored["name"] == "inngest/scheduled.timer"
    assert stored["id"] == scheduled_at
    assert stored["data"] == expected_data

    # The next tick is queued, for the minute after the one that fired (or later).
    (following,) = await pending(pool)
    assert following["id"] != tick["id"]
    assert following["payload"]["scheduled_at"] > scheduled_at


async def test_fire_in_a_transaction_with_explicit_now(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await sync(pool, db_url, stub, [cron_fn("*/15 * * * *")], T0)
    (tick,) = await pending(pool)
    assert tick["payload"]["scheduled_at"] == "2026-01-05T09:15:00Z"

    at = datetime(2026, 1, 5, 9, 15, 0, 200_000, tzinfo=UTC)
    claimed = await claim_cron(pool, at)
    applied = await cron_worker.process(pool, FrozenClock(at), claimed)
    assert applied.enqueued == 2  # the run's first call and the next tick
    ((run_id, status, (internal_id,)),) = await runs_of(pool)
    assert status == "Scheduled"
    assert await event_of(pool, internal_id) == {
        "name": "inngest/scheduled.timer",
        "id": "2026-01-05T09:15:00Z",
        "data": {
            "cron": "*/15 * * * *",
            "scheduledAt": "2026-01-05T09:15:00Z",
            "fireAt": "2026-01-05T09:15:00Z",
        },
        "ts": to_ms(datetime(2026, 1, 5, 9, 15, tzinfo=UTC)),
    }
    # The run's discovery call is queued in its own partition.
    assert await rows(pool, "SELECT kind FROM queue_items WHERE partition_key = %s", (run_id,)) == [
        ("call",)
    ]
    (following,) = await pending(pool)
    assert following["payload"]["scheduled_at"] == "2026-01-05T09:30:00Z"
    assert following["available_at"] == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


async def test_duplicated_tick_item_starts_one_run(pool: Pool, db_url: str, stub: StubSdk) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *")], T0)
    (tick,) = await pending(pool)
    # A second, identical item: as if a tick had been queued twice.
    async with pool.connection() as conn:
        await queue.enqueue(
            conn,
            [
                records.NewItem(
                    kind=items.CRON,
                    payload=tick["payload"],
                    available_at=tick["available_at"],
                    partition_key=tick["partition_key"],
                )
            ],
            now=T0,
        )
        await conn.commit()

    at = tick["available_at"] + timedelta(seconds=1)
    first, second = await claim_cron(pool, at), await claim_cron(pool, at)
    assert first.payload == second.payload
    outcomes: list[int] = []

    async def process(item: records.Claimed) -> None:
        applied = await cron_worker.process(pool, FrozenClock(at), item)
        outcomes.append(applied.enqueued)

    # Two workers, each with its own claim, at the same time.
    async with anyio.create_task_group() as tg:
        tg.start_soon(process, first)
        tg.start_soon(process, second)

    assert len(await runs_of(pool)) == 1
    assert sorted(outcomes) == [0, 2]  # the loser started nothing and queued nothing
    # The duplicate died out: one pending tick, for the next minute.
    (following,) = await pending(pool)
    assert following["payload"]["scheduled_at"] == "2026-01-05T09:02:00Z"


async def test_two_running_workers_share_a_duplicated_tick(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    stub.behaviours[FN] = stub_sdk.steps(())
    await sync(pool, db_url, stub, [cron_fn("* * * * *")], SystemClock().now())
    (tick,) = await pending(pool)
    due = SystemClock().now()
    async with pool.connection() as conn:
        duplicates = [
            records.NewItem(
                kind=items.CRON,
                payload=tick["payload"],
                available_at=due,
                partition_key=tick["partition_key"],
            )
            for _ in range(3)
        ]
        await queue.enqueue(conn, duplicates, now=due)
        await conn.commit()
    await make_due(pool, tick["id"], due)

    async def settled() -> bool:
        overdue = await rows(
            pool,
            "SELECT count(*) FROM queue_items WHERE kind = 'cron' AND available_at <= %s",
            (due,),
        )
        found = await runs_of(pool)
        return overdue == [(0,)] and bool(found) and all(s == "Completed" for _, s, _ in found)

    async with running_worker(pool, db_url), running_worker(pool, db_url):
        await wait_until(settled, what="the duplicated ticks to be processed")

    assert len(await runs_of(pool)) == 1
    assert len(await pending(pool)) == 1


async def test_resync_without_the_cron_removes_its_tick(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *", event="demo/also")], T0)
    assert len(await pending(pool)) == 1

    await sync(pool, db_url, stub, [cron_fn(event="demo/also")], T0 + timedelta(seconds=5))
    assert await pending(pool) == []
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]


async def test_resync_with_a_changed_cron_replaces_the_tick(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *", "0 0 * * *")], T0)
    before = {t["payload"]["cron"]: t["id"] for t in await pending(pool)}

    await sync(pool, db_url, stub, [cron_fn("0 0 * * *", "@hourly")], T0)
    after = {
        t["payload"]["cron"]: (t["id"], t["payload"]["scheduled_at"]) for t in await pending(pool)
    }
    assert set(after) == {"0 0 * * *", "@hourly"}
    # The unchanged trigger keeps its item; the new one is scheduled; the removed one is gone.
    assert after["0 0 * * *"][0] == before["0 0 * * *"]
    assert after["@hourly"][1] == "2026-01-05T10:00:00Z"


async def test_archived_function_loses_its_ticks(pool: Pool, db_url: str, stub: StubSdk) -> None:
    await sync(
        pool, db_url, stub, [cron_fn("* * * * *"), cron_fn("@daily", fn="stub-app-other")], T0
    )
    assert len(await pending(pool)) == 1
    assert len(await pending(pool, "stub-app-other")) == 1

    await sync(pool, db_url, stub, [cron_fn("@daily", fn="stub-app-other")], T0)
    assert await pending(pool) == []
    assert len(await pending(pool, "stub-app-other")) == 1


async def test_stale_tick_of_a_changed_cron_does_nothing(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *")], T0)
    (tick,) = await pending(pool)
    at = tick["available_at"]
    claimed = await claim_cron(pool, at)
    # The cron changes while the tick is held; the sync deletes the held item.
    await sync(pool, db_url, stub, [cron_fn("*/5 * * * *")], at)
    with pytest.raises(LeaseLost):
        await cron_worker.process(pool, FrozenClock(at), claimed)
    assert await runs_of(pool) == []

    # A leftover item of the old cron (queued by a tick that committed just before the sync)
    # is dropped when it comes due.
    async with pool.connection() as conn:
        fid = await function_id(pool)
        old = cron.next_tick(fid, FN, cron.Trigger("* * * * *", None), after=at)
        assert old is not None
        await queue.enqueue(conn, [old], now=at)
        await conn.commit()
    later = at + timedelta(minutes=1, seconds=1)
    stale = await claim_cron(pool, later)
    assert stale.payload["cron"] == "* * * * *"
    applied = await cron_worker.process(pool, FrozenClock(later), stale)
    assert applied.enqueued == 0
    assert await runs_of(pool) == []
    assert [t["payload"]["cron"] for t in await pending(pool)] == ["*/5 * * * *"]


async def test_two_triggers_at_the_same_instant_start_one_run(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await sync(pool, db_url, stub, [cron_fn("*/2 * * * *", "*/3 * * * *")], T0)
    # Both next fire at 09:06 eventually; step both to there by firing at explicit times.
    for minute in (2, 3, 4, 6):
        at = datetime(2026, 1, 5, 9, minute, tzinfo=UTC)
        async with pool.connection() as conn:
            due = await queue.claim(conn, limit=10, lease_s=LEASE_S, now=at, kinds=[items.CRON])
            await conn.commit()
        for item in due:
            await cron_worker.process(pool, FrozenClock(at), item)
    ids = [(await event_of(pool, r[2][0]))["id"] for r in await runs_of(pool)]
    assert ids == [
        "2026-01-05T09:02:00Z",
        "2026-01-05T09:03:00Z",
        "2026-01-05T09:04:00Z",
        "2026-01-05T09:06:00Z",  # once, though both triggers ticked
    ]
    assert sorted(t["payload"]["scheduled_at"] for t in await pending(pool)) == [
        "2026-01-05T09:08:00Z",
        "2026-01-05T09:09:00Z",
    ]


async def test_no_catch_up_after_downtime(pool: Pool, db_url: str, stub: StubSdk) -> None:
    await sync(pool, db_url, stub, [cron_fn("* * * * *")], T0)
    # The server was down for three hours: the overdue tick fires once, the missed ones are
    # skipped, and the next is the first one after now.
    at = T0 + timedelta(hours=3)
    claimed = await claim_cron(pool, at)
    await cron_worker.process(pool, FrozenClock(at), claimed)
    assert len(await runs_of(pool)) == 1
    (following,) = await pending(pool)
    assert following["payload"]["scheduled_at"] == "2026-01-05T12:01:00Z"


async def test_jitter_delays_the_fire_time_deterministically(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    jittered = {"cron": "0 * * * *", "jitter": "30s"}
    await sync(pool, db_url, stub, [cron_fn(jittered)], T0)
    (tick,) = await pending(pool)
    scheduled = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert tick["payload"]["scheduled_at"] == "2026-01-05T10:00:00Z"
    delay = tick["available_at"] - scheduled
    assert timedelta(0) <= delay < timedelta(seconds=30)
    fid = await function_id(pool)
    assert delay == schedule.jitter_delay(
        timedelta(seconds=30), f"{fid}:0 * * * *:2026-01-05T10:00:00Z"
    )

    claimed = await claim_cron(pool, tick["available_at"])
    await cron_worker.process(pool, FrozenClock(tick["available_at"]), claimed)
    ((_, _, (internal_id,)),) = await runs_of(pool)
    event = await event_of(pool, internal_id)
    assert event["id"] == "2026-01-05T10:00:00Z"
    assert event["data"]["scheduledAt"] == "2026-01-05T10:00:00Z"
    assert event["data"]["fireAt"] == schedule.rfc3339(tick["available_at"])
    assert event["ts"] == to_ms(tick["available_at"])
    (following,) = await pending(pool)
    assert following["payload"]["scheduled_at"] == "2026-01-05T11:00:00Z"


@contextlib.asynccontextmanager
async def api(pool: Pool, db_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(personality="dev", database={"url": db_url})
    async with httpx.AsyncClient() as http, PostgresWakeups(db_url) as wakeups:
        app = create_app(
            ApiDeps(settings=settings, pool=pool, clock=SystemClock(), client=http, wakeups=wakeups)
        )
        async with AsyncTestClient(app=app) as client:
            yield client


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        (
            {"cron": "61 * * * *"},
            "function 'stub-app-cron' triggers[0].cron: invalid cron expression '61 * * * *': "
            "minute field '61': 61 is above the maximum 59",
        ),
        (
            {"cron": "TZ=Nowhere/Land 0 * * * *"},
            "function 'stub-app-cron' triggers[0].cron: invalid cron expression "
            "'TZ=Nowhere/Land 0 * * * *': unknown time zone 'Nowhere/Land'",
        ),
        (
            {"cron": "0 * * * *", "jitter": "soon"},
            "function 'stub-app-cron' triggers[0].jitter: invalid duration 'soon'",
        ),
    ],
)
async def test_invalid_cron_is_a_400_naming_function_and_expression(
    pool: Pool, db_url: str, stub: StubSdk, trigger: dict[str, str], message: str
) -> None:
    async with api(pool, db_url) as client:
        response = await client.post("/fn/register", json=stub.register_body([cron_fn(trigger)]))
    assert response.status_code == 400
    assert response.json()["error"] == message
    assert await rows(pool, "SELECT count(*) FROM functions") == [(0,)]
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]
