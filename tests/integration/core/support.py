"""Helpers shared by the core integration tests: sync, ingest, a running worker, polling."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import anyio
import httpx

from inngest.clock import Clock, SystemClock, to_ms
from inngest.coord.wakeup import PostgresWakeups
from inngest.db.pool import Conn, Pool
from inngest.engine.retry import RetryPolicy
from inngest.ingest import events as ingest
from inngest.protocol import events as wire_events
from inngest.protocol import register
from inngest.store import apps, runs
from inngest.worker import driver
from inngest.worker.execute import Executor
from inngest.worker.runtime import Runtime

T = TypeVar("T")

# Generous: two shared cores run PostgreSQL, the stub and the worker; every wait returns as soon
# as its condition holds, so this only bounds how long a broken test hangs.
DEADLINE_S = 20.0
POLL_S = 0.02
FINAL = frozenset({"Completed", "Failed", "Cancelled"})
DAY_S = 86400.0


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, what: str, deadline_s: float = DEADLINE_S
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after the deadline."""
    with anyio.move_on_after(deadline_s):
        while True:
            value = await probe()
            if value:
                return value
            await anyio.sleep(POLL_S)
    raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")


async def sync(pool: Pool, app: register.AppSync, now: datetime) -> apps.SyncResult:
    async with pool.connection() as conn, conn.transaction():
        return await apps.sync(conn, app, now)


async def send(
    pool: Pool, payload: Any, *, now: datetime, dedup_window_s: float = DAY_S
) -> tuple[list[str], ingest.Ingested]:
    """Ingest a JSON body (one event or a list) as the API does; returns (internal ids, result)."""
    parsed = wire_events.parse_events(json.dumps(payload).encode(), now_ms=to_ms(now), seed=None)
    async with pool.connection() as conn, conn.transaction():
        result = await ingest.ingest(conn, parsed, now=now, dedup_window_s=dedup_window_s)
    return [e.internal_id for e in parsed], result


async def fetch(conn: Conn, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
    cur = await conn.execute(query, params)
    rows = await cur.fetchall()
    await conn.commit()
    return rows


async def rows(pool: Pool, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
    async with pool.connection() as conn:
        return await fetch(conn, query, params)


async def get_run(pool: Pool, run_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        run = await runs.get(conn, run_id)
        await conn.commit()
    assert run is not None, run_id
    return run


async def wait_final(pool: Pool, run_id: str, deadline_s: float = DEADLINE_S) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        run = await get_run(pool, run_id)
        return run if run["status"] in FINAL else None

    return await wait_until(probe, what=f"run {run_id} to end", deadline_s=deadline_s)


@dataclass
class Worker:
    runtime: Runtime
    client: httpx.AsyncClient


def make_executor(
    pool: Pool, client: httpx.AsyncClient, clock: Clock, retry_s: float = 0.05
) -> Executor:
    return Executor(
        pool=pool,
        client=client,
        clock=clock,
        policy=RetryPolicy(fixed_interval_s=retry_s),
        personality="dev",
        signing_key=None,
    )


@contextlib.asynccontextmanager
async def running_worker(
    pool: Pool,
    db_url: str,
    *,
    clock: Clock | None = None,
    lease_s: float = 30.0,
    workers: int = 4,
    retry_s: float = 0.05,
) -> AsyncIterator[Worker]:
    """A Runtime wired as the server wires it, running in a task group until the block exits.

    Leaving the block stops it with no grace period: in-flight calls are abandoned without an
    ack, exactly as a killed process leaves them (their leases expire).
    """
    clock = clock or SystemClock()
    client = driver.make_client(timeout_s=30.0, max_connections=workers)
    try:
        async with PostgresWakeups(db_url) as wakeups, anyio.create_task_group() as tg:
            runtime = Runtime(
                pool=pool,
                executor=make_executor(pool, client, clock, retry_s),
                wakeups=wakeups,
                clock=clock,
                workers=workers,
                claim_batch=workers,
                lease_s=lease_s,
                poll_interval_s=0.05,
                shutdown_grace_s=0.0,
                dedup_window_s=DAY_S,
            )
            tg.start_soon(runtime.run)
            try:
                yield Worker(runtime, client)
            finally:
                # The runtime shields its executors from outside cancellation; stop() is the way
                # to end it (claiming stops, the zero grace period abandons in-flight items).
                runtime.stop()
    finally:
        await client.aclose()
