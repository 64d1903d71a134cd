"""Debounce and event batching against a real PostgreSQL and the stub SDK: events wait in buffer
rows with one queue item each, and become exactly one run when the item fires (debounce: the
latest event after a quiet period, capped by the timeout; batching: all events, at maxSize in the
ingest itself or at the timeout). Pending buffers survive worker restarts and crashes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import anyio
import httpx
import pytest
from litestar.testing import AsyncTestClient

from inngest.api.app import create_app
from inngest.api.deps import ApiDeps
from inngest.api.sdk import store_sync
from inngest.clock import FrozenClock, SystemClock
from inngest.config import Settings
from inngest.coord.wakeup import PostgresWakeups
from inngest.db.pool import Pool
from inngest.errors import LeaseLost, ValidationError
from inngest.ingest import buffers, flow, items
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import runs
from inngest.worker import buffers as buffer_worker
from inngest.worker.commit import Applied
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import (
    rows,
    running_worker,
    send,
    sync,
    wait_final,
    wait_until,
)

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEBOUNCED = "stub-app-debounced"
BATCHED = "stub-app-batched"
LEASE_S = 30.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class ShiftedClock:
    """Real time, but starting at ``start``: a frozen clock would keep the second of two runs
    started at one instant (fair spacing puts it a moment later) from ever coming due."""

    start: datetime
    origin: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        self.start += timedelta(seconds=seconds)


def echo() -> stub_sdk.Behaviour:
    """Completes at once with what the call carried: ``event`` and ``events``."""
    return stub_sdk.steps(
        (), output=lambda req: {"event": req.body["event"], "events": req.body["events"]}
    )


async def setup(
    pool: Pool, stub: StubSdk, functions: list[tuple[str, str, dict[str, Any]]], now: datetime = T0
) -> None:
    """Sync (function id, event, options) functions that echo their call."""
    for fn, _, _ in functions:
        stub.behaviours[fn] = echo()
    body = [{"id": fn, "event": event, "config": config} for fn, event, config in functions]
    await sync(pool, stub.app_sync(body), now)


async def emit(pool: Pool, name: str, data: dict[str, Any], now: datetime) -> str:
    """Send one event with nothing started by it at once; returns its internal id."""
    (internal_id,), result = await send(pool, {"name": name, "data": data}, now=now)
    assert (result.run_ids, result.skipped_duplicates) == ((), 0)
    return internal_id


async def debounces(pool: Pool) -> list[dict[str, Any]]:
    found = await rows(
        pool,
        "SELECT key_hash, id, event_id, first_at, due_at, item_id FROM debounces"
        " ORDER BY first_at, key_hash",
    )
    names = ("key_hash", "id", "event_id", "first_at", "due_at", "item_id")
    return [dict(zip(names, row, strict=True)) for row in found]


async def batches(pool: Pool) -> list[dict[str, Any]]:
    found = await rows(
        pool,
        "SELECT key_hash, id, event_ids, created_at, item_id FROM event_batches"
        " ORDER BY created_at, key_hash",
    )
    names = ("key_hash", "id", "event_ids", "created_at", "item_id")
    return [dict(zip(names, row, strict=True)) for row in found]


async def queued(pool: Pool, kind: str) -> list[dict[str, Any]]:
    found = await rows(
        pool,
        "SELECT id, available_at, partition_key, payload, lease_token IS NOT NULL"
        " FROM queue_items WHERE kind = %s ORDER BY available_at, id",
        (kind,),
    )
    names = ("id", "available_at", "partition_key", "payload", "leased")
    return [dict(zip(names, row, strict=True)) for row in found]


async def runs_of(pool: Pool, fn: str) -> list[tuple[str, str, list[str]]]:
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


async def function_id(pool: Pool, fn: str) -> str:
    ((fid,),) = await rows(pool, "SELECT id FROM functions WHERE slug = %s", (fn,))
    return str(fid)


async def claim(pool: Pool, now: datetime, kind: str, *, limit: int = 10) -> list[records.Claimed]:
    async with pool.connection() as conn:
        claimed = await queue.claim(conn, limit=limit, lease_s=LEASE_S, now=now, kinds=[kind])
        await conn.commit()
    return claimed


async def fire(pool: Pool, now: datetime, kind: str) -> Applied:
    """Claim one due item of ``kind`` and process it as the worker does, at ``now``."""
    (item,) = await claim(pool, now, kind, limit=1)
    return await buffer_worker.process(pool, FrozenClock(now), item)


async def final_runs(pool: Pool, fn: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[tuple[str, str, list[str]]] | None:
        found = await runs_of(pool, fn)
        return found if len(found) >= count else None

    found = await wait_until(probe, what=f"{count} runs of {fn}")
    return [await wait_final(pool, run_id) for run_id, _, _ in found]


@contextlib.asynccontextmanager
async def api(pool: Pool, db_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = Settings(personality="dev", database={"url": db_url})
    async with httpx.AsyncClient() as http, PostgresWakeups(db_url) as wakeups:
        app = create_app(
            ApiDeps(settings=settings, pool=pool, clock=SystemClock(), client=http, wakeups=wakeups)
        )
        async with AsyncTestClient(app=app) as client:
            yield client


# Debounce


async def test_debounce_runs_once_with_the_latest_event_after_the_quiet_period(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await setup(pool, stub, [(DEBOUNCED, "demo/debounce", {"debounce": {"period": "10s"}})])
    fid = await function_id(pool, DEBOUNCED)
    ids = [await emit(pool, "demo/debounce", {"n": n}, at(n)) for n in range(5)]

    # One row holding the latest event, and one item, due a period after that event.
    (row,) = await debounces(pool)
    assert (row["key_hash"], row["event_id"], row["first_at"], row["due_at"]) == (
        "",
        ids[-1],
        T0,
        at(14),
    )
    (item,) = await queued(pool, items.DEBOUNCE)
    assert (item["id"], item["available_at"], item["partition_key"]) == (
        row["item_id"],
        at(14),
        f"debounce:{fid}:",
    )
    assert item["payload"] == {"function_id": fid, "key": "", "debounce_id": row["id"]}
    assert await claim(pool, at(13.9), items.DEBOUNCE) == []  # not before the quiet period ends

    async with running_worker(pool, db_url, clock=ShiftedClock(at(14))):
        (run,) = await final_runs(pool, DEBOUNCED, 1)

    assert run["status"] == "Completed"
    assert run["output"]["event"]["data"] == {"n": 4}
    assert [e["data"] for e in run["output"]["events"]] == [{"n": 4}]
    assert await runs_of(pool, DEBOUNCED) == [(run["id"], "Completed", [ids[-1]])]
    assert len(stub.calls_for(DEBOUNCED)) == 1
    # The run's idempotency key is the debounce id; nothing is left pending.
    assert await rows(
        pool, "SELECT run_id FROM run_keys WHERE key = %s", (f"debounce:{row['id']}",)
    ) == [(run["id"],)]
    assert await debounces(pool) == []
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]


async def test_debounce_timeout_caps_the_delay_since_the_first_event(
    pool: Pool, stub: StubSdk
) -> None:
    config = {"debounce": {"period": "10s", "timeout": "15s"}}
    await setup(pool, stub, [(DEBOUNCED, "demo/debounce", config)])
    ids: list[str] = []
    item_ids: list[int] = []
    for second, due in ((0, 10), (4, 14), (8, 15), (12, 15)):
        ids.append(await emit(pool, "demo/debounce", {"n": second}, at(second)))
        (row,) = await debounces(pool)
        assert (row["event_id"], row["first_at"], row["due_at"]) == (ids[-1], T0, at(due))
        (item,) = await queued(pool, items.DEBOUNCE)
        assert (item["id"], item["available_at"]) == (row["item_id"], at(due))
        item_ids.append(item["id"])
    # Each push moved the item; once capped by the timeout it stays where it is.
    assert len(set(item_ids[:3])) == 3
    assert item_ids[3] == item_ids[2]

    applied = await fire(pool, at(15), items.DEBOUNCE)
    assert applied.enqueued == 1
    ((run_id, status, event_ids),) = await runs_of(pool, DEBOUNCED)
    assert (status, event_ids) == ("Scheduled", [ids[-1]])
    assert await debounces(pool) == []
    assert [i["payload"] for i in await queued(pool, items.CALL)] == [{"run_id": run_id}]


async def test_debounce_keys_debounce_separately(pool: Pool, db_url: str, stub: StubSdk) -> None:
    config = {"debounce": {"period": "5s", "key": "event.data.user"}}
    await setup(pool, stub, [(DEBOUNCED, "demo/debounce", config)])
    a1 = await emit(pool, "demo/debounce", {"user": "a", "n": 1}, at(0))
    b2 = await emit(pool, "demo/debounce", {"user": "b", "n": 2}, at(1))
    a3 = await emit(pool, "demo/debounce", {"user": "a", "n": 3}, at(2))
    pending = await debounces(pool)
    assert [(r["key_hash"], r["event_id"], r["due_at"]) for r in pending] == [
        (flow.key_hash("a"), a3, at(7)),
        (flow.key_hash("b"), b2, at(6)),
    ]

    async with running_worker(pool, db_url, clock=ShiftedClock(at(7))):
        finished = await final_runs(pool, DEBOUNCED, 2)

    assert sorted(run["output"]["event"]["data"]["n"] for run in finished) == [2, 3]
    assert sorted(ids for _, _, ids in await runs_of(pool, DEBOUNCED)) == sorted([[a3], [b2]])
    assert a1 not in {i for _, _, ids in await runs_of(pool, DEBOUNCED) for i in ids}


async def test_an_event_during_the_fire_wins_and_an_early_item_rearms(
    pool: Pool, stub: StubSdk
) -> None:
    await setup(pool, stub, [(DEBOUNCED, "demo/debounce", {"debounce": {"period": "10s"}})])
    await emit(pool, "demo/debounce", {"n": 1}, at(0))
    (held,) = await claim(pool, at(10), items.DEBOUNCE)

    # An event arrives while a worker holds the due item: it replaces the item, so the holder's
    # fenced ack fails and its transaction starts nothing.
    second = await emit(pool, "demo/debounce", {"n": 2}, at(10))
    with pytest.raises(LeaseLost):
        await buffer_worker.process(pool, FrozenClock(at(10)), held)
    assert await runs_of(pool, DEBOUNCED) == []
    (row,) = await debounces(pool)
    assert (row["event_id"], row["due_at"]) == (second, at(20))

    # An item that fires before the row's due time (say, a clock behind) waits again.
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE queue_items SET available_at = %s WHERE id = %s", (at(12), row["item_id"])
        )
        await conn.commit()
    assert (await fire(pool, at(12), items.DEBOUNCE)).enqueued == 1
    assert await runs_of(pool, DEBOUNCED) == []
    (rearmed,) = await debounces(pool)
    (item,) = await queued(pool, items.DEBOUNCE)
    assert rearmed["item_id"] == item["id"] != row["item_id"]
    assert (rearmed["event_id"], item["available_at"]) == (second, at(20))

    await fire(pool, at(20), items.DEBOUNCE)
    ((_, status, event_ids),) = await runs_of(pool, DEBOUNCED)
    assert (status, event_ids) == ("Scheduled", [second])


# Batching


async def test_batches_run_at_max_size_and_the_rest_after_the_timeout(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    config = {"batchEvents": {"maxSize": 3, "timeout": "5s"}}
    await setup(pool, stub, [(BATCHED, "demo/batch", config)])
    fid = await function_id(pool, BATCHED)
    ids: list[str] = []
    started: list[tuple[str, ...]] = []
    for n in range(7):
        (internal_id,), result = await send(
            pool, {"name": "demo/batch", "data": {"n": n}}, now=at(n / 10)
        )
        ids.append(internal_id)
        started.append(result.run_ids)
        assert result.skipped_duplicates == 0
    # The third and sixth events fill a batch: its run starts in that ingest.
    assert [len(s) for s in started] == [0, 0, 1, 0, 0, 1, 0]
    assert await runs_of(pool, BATCHED) == [
        (started[2][0], "Scheduled", ids[0:3]),
        (started[5][0], "Scheduled", ids[3:6]),
    ]
    (row,) = await batches(pool)
    assert (row["event_ids"], row["created_at"]) == ([ids[6]], at(0.6))
    (item,) = await queued(pool, items.BATCH)
    assert (item["id"], item["available_at"], item["partition_key"]) == (
        row["item_id"],
        at(5.6),
        f"batch:{fid}:",
    )

    clock = ShiftedClock(at(1))
    async with running_worker(pool, db_url, clock=clock):
        full = await final_runs(pool, BATCHED, 2)
        assert await batches(pool) != []  # the open batch waits for its timeout
        clock.advance(4.6)
        finished = await final_runs(pool, BATCHED, 3)

    assert [r["id"] for r in finished[:2]] == [r["id"] for r in full]
    expected = [[0, 1, 2], [3, 4, 5], [6]]
    for run, numbers in zip(finished, expected, strict=True):
        assert run["status"] == "Completed"
        assert [e["data"]["n"] for e in run["output"]["events"]] == numbers
        assert run["output"]["event"] == run["output"]["events"][0]
    assert [ids for _, _, ids in await runs_of(pool, BATCHED)] == [ids[0:3], ids[3:6], ids[6:]]
    assert await batches(pool) == []
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]

    # use_api: the SDK fetches the whole batch, in order.
    async with api(pool, db_url) as client:
        response = await client.get(f"/v0/runs/{finished[0]['id']}/batch")
    assert response.status_code == 200
    assert [e["data"]["n"] for e in response.json()] == [0, 1, 2]


async def test_one_request_fills_batches_in_its_own_transaction(pool: Pool, stub: StubSdk) -> None:
    config = {"batchEvents": {"maxSize": 3, "timeout": "5s"}}
    await setup(pool, stub, [(BATCHED, "demo/batch", config)])
    ids, result = await send(
        pool, [{"name": "demo/batch", "data": {"n": n}} for n in range(7)], now=T0
    )
    assert len(result.run_ids) == 2
    assert [(r, ids) for r, _, ids in await runs_of(pool, BATCHED)] == [
        (result.run_ids[0], ids[0:3]),
        (result.run_ids[1], ids[3:6]),
    ]
    (row,) = await batches(pool)
    assert row["event_ids"] == ids[6:]
    # Each batch's run key is its batch id.
    keys = await rows(pool, "SELECT key FROM run_keys WHERE key LIKE 'batch:%%' ORDER BY run_id")
    assert len(keys) == 2

    applied = await fire(pool, at(5), items.BATCH)
    assert applied.enqueued == 1
    assert [ids for _, _, ids in await runs_of(pool, BATCHED)][2] == ids[6:]


async def test_events_failing_if_run_alone_and_keys_batch_apart(pool: Pool, stub: StubSdk) -> None:
    config = {
        "batchEvents": {
            "maxSize": 10,
            "timeout": "5s",
            "key": "event.data.user",
            "if": "event.data.batch == true",
        }
    }
    await setup(pool, stub, [(BATCHED, "demo/batch", config)])
    ids, result = await send(
        pool,
        [
            {"name": "demo/batch", "data": {"user": "a", "batch": True}},
            {"name": "demo/batch", "data": {"user": "a", "batch": False}},
            {"name": "demo/batch", "data": {"user": "b", "batch": True}},
            {"name": "demo/batch", "data": {"user": "a", "batch": True}},
        ],
        now=T0,
    )
    # The event failing `if` ran at once, alone.
    (alone,) = result.run_ids
    assert await runs_of(pool, BATCHED) == [(alone, "Scheduled", [ids[1]])]
    assert sorted((r["key_hash"], r["event_ids"]) for r in await batches(pool)) == sorted(
        [(flow.key_hash("a"), [ids[0], ids[3]]), (flow.key_hash("b"), [ids[2]])]
    )

    await fire(pool, at(5), items.BATCH)
    await fire(pool, at(5), items.BATCH)
    assert sorted(ids for _, _, ids in await runs_of(pool, BATCHED)) == sorted(
        [[ids[1]], [ids[0], ids[3]], [ids[2]]]
    )


# Both


async def test_pending_buffers_survive_a_worker_restart_and_a_crash(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    await setup(
        pool,
        stub,
        [
            (DEBOUNCED, "demo/durable", {"debounce": {"period": "10s"}}),
            (BATCHED, "demo/durable", {"batchEvents": {"maxSize": 5, "timeout": "10s"}}),
        ],
    )
    first = await emit(pool, "demo/durable", {"n": 1}, at(0))
    second = await emit(pool, "demo/durable", {"n": 2}, at(1))
    before = (
        await debounces(pool),
        await batches(pool),
        await queued(pool, items.DEBOUNCE),
        await queued(pool, items.BATCH),
    )

    # A worker that comes and goes before anything is due changes nothing.
    async with running_worker(pool, db_url, clock=FrozenClock(at(2))):
        pass
    after = (
        await debounces(pool),
        await batches(pool),
        await queued(pool, items.DEBOUNCE),
        await queued(pool, items.BATCH),
    )
    assert after == before

    # A worker claims both due items and dies before committing anything.
    assert len(await claim(pool, at(11), items.DEBOUNCE)) == 1
    assert len(await claim(pool, at(11), items.BATCH)) == 1
    assert await runs_of(pool, DEBOUNCED) == await runs_of(pool, BATCHED) == []
    assert len(await debounces(pool)) == len(await batches(pool)) == 1

    # After the leases expire, a new worker turns each buffer into exactly one run.
    async with running_worker(pool, db_url, clock=ShiftedClock(at(11 + LEASE_S + 1))):
        (debounced,) = await final_runs(pool, DEBOUNCED, 1)
        (batched,) = await final_runs(pool, BATCHED, 1)

    assert [e["data"]["n"] for e in debounced["output"]["events"]] == [2]
    assert [e["data"]["n"] for e in batched["output"]["events"]] == [1, 2]
    assert [ids for _, _, ids in await runs_of(pool, DEBOUNCED)] == [[second]]
    assert [ids for _, _, ids in await runs_of(pool, BATCHED)] == [[first, second]]
    assert await debounces(pool) == await batches(pool) == []
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]


async def test_resync_without_the_option_still_flushes_archiving_drops(
    pool: Pool, stub: StubSdk
) -> None:
    await setup(
        pool,
        stub,
        [
            (DEBOUNCED, "demo/resync", {"debounce": {"period": "10s"}}),
            (BATCHED, "demo/resync", {"batchEvents": {"maxSize": 5, "timeout": "10s"}}),
        ],
    )
    held = await emit(pool, "demo/resync", {"n": 1}, at(0))
    # The debounced function loses its debounce; the batched one is removed from the app.
    await setup(pool, stub, [(DEBOUNCED, "demo/resync", {})], now=at(1))
    _, result = await send(pool, {"name": "demo/resync", "data": {"n": 2}}, now=at(2))
    (direct,) = result.run_ids  # no debounce any more: the new event runs at once

    await fire(pool, at(10), items.DEBOUNCE)
    await fire(pool, at(10), items.BATCH)
    runs_now = await runs_of(pool, DEBOUNCED)
    assert runs_now[0][0] == direct
    assert runs_now[1][2] == [held]  # the pending debounce became its run
    assert await runs_of(pool, BATCHED) == []  # an archived function's batch is dropped
    assert await debounces(pool) == await batches(pool) == []


async def test_functions_without_buffers_pass_through_without_a_query() -> None:
    start = flow.Start(
        runs.NewRun("run", cast(Any, "fn"), 1, ("evt",), "evt"), {"id": "plain"}, {"name": "x"}
    )
    # A connection that fails on any use: divert must not touch it.
    assert await buffers.divert(cast(Any, object()), [start], now=T0) == [start]


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"debounce": {"period": "soon"}}, "debounce.period"),
        ({"debounce": {"period": "5s", "timeout": "later"}}, "debounce.timeout"),
        ({"debounce": {"period": "5s", "key": "event.data."}}, "debounce.key"),
        ({"batchEvents": {"maxSize": 2, "timeout": "1 minute"}}, "batchEvents.timeout"),
        (
            {"batchEvents": {"maxSize": 2, "timeout": "5s", "if": "event.data.x =="}},
            "batchEvents.if",
        ),
        ({"batchEvents": {"maxSize": 2, "timeout": "5s", "key": "event..user"}}, "batchEvents.key"),
    ],
)
async def test_sync_rejects_invalid_buffer_options(
    pool: Pool, db_url: str, stub: StubSdk, options: dict[str, Any], path: str
) -> None:
    settings = Settings(personality="dev", database={"url": db_url})
    deps = ApiDeps(settings=settings, pool=pool, clock=FrozenClock(T0), client=None, wakeups=None)
    app = stub.app_sync([{"id": DEBOUNCED, "event": "demo/x", "config": options}])
    with pytest.raises(ValidationError) as raised:
        await store_sync(deps, app)
    assert raised.value.message.startswith(f"function '{DEBOUNCED}' {path}: ")
    assert await rows(pool, "SELECT count(*) FROM functions") == [(0,)]


async def test_concurrent_events_of_one_key_serialise(pool: Pool, stub: StubSdk) -> None:
    await setup(
        pool,
        stub,
        [
            (DEBOUNCED, "demo/burst", {"debounce": {"period": "10s"}}),
            (BATCHED, "demo/burst", {"batchEvents": {"maxSize": 3, "timeout": "10s"}}),
        ],
    )
    sent: list[str] = []

    async def one(n: int) -> None:
        (internal_id,), _ = await send(pool, {"name": "demo/burst", "data": {"n": n}}, now=at(1))
        sent.append(internal_id)

    # Eight ingests at once on the pool's connections: without the buffer lock two of them
    # would both insert the first row, or both append to a batch another one just ran.
    async with anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(one, n)

    (row,) = await debounces(pool)
    assert row["event_id"] in sent
    assert len(await queued(pool, items.DEBOUNCE)) == 1
    full = [ids for _, _, ids in await runs_of(pool, BATCHED)]
    (open_batch,) = await batches(pool)
    assert [len(ids) for ids in full] == [3, 3]
    assert len(open_batch["event_ids"]) == 2
    assert sorted([*full[0], *full[1], *open_batch["event_ids"]]) == sorted(sent)
    assert len(await queued(pool, items.BATCH)) == 1
