"""Processing claimed ``debounce`` and ``batch`` items: one transaction, fenced by the item's
lease, turns a buffer into its run (PROTOCOL.md §6.10, §6.11; ``inngest.ingest.buffers``).

No run exists before the item fires, so unlike the other internal items this loads no run
state: it reads the buffer row, and either re-arms the item (a debounce pushed later by an event
whose move it raced) or deletes the row and starts one run through ``flow.admit`` and
``events.start_runs``, so rate limits, singletons and priorities apply as at ingest.

A function archived since the events came loses its buffer (no run). A re-sync that removed
``debounce`` or ``batchEvents`` does not: the pending buffer still becomes its run at its time,
with the function's current configuration; new events then run unbuffered.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from inngest.clock import Clock
from inngest.db.pool import Conn, Pool
from inngest.errors import LeaseLost
from inngest.ingest import buffers, flow, items
from inngest.ingest import events as ingest
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import buffers as store
from inngest.store import runs
from inngest.worker.commit import Applied

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fired:
    """What firing a buffer's item did."""

    outcome: str  # "run" | "skipped" | "rearmed" | "stale" | "dropped" | "duplicate"
    run_id: str | None = None
    events: int = 0
    rearmed_at: datetime | None = None


async def process(
    pool: Pool, clock: Clock, item: records.Claimed, *, limiter: flow.RateLimiter | None = None
) -> Applied:
    """Raises LeaseLost (rolling everything back) when another worker or an event took the item."""
    partition = item.partition_key or ""
    async with pool.connection() as conn, conn.transaction():
        # Lock before the ack: ingest takes this lock and then deletes the item it replaces, so
        # acking (row-locking the item) first and locking second could deadlock with it. Under
        # the lock, the fenced ack tells whether an event replaced this item meanwhile.
        await store.lock(conn, buffers.lock_key(partition))
        if item.id not in await queue.complete(conn, [item.lease]):
            raise LeaseLost(item.id, str(item.lease_token))
        now = clock.now()
        if item.kind == items.DEBOUNCE:
            fired = await fire_debounce(conn, item, now=now, limiter=limiter)
        else:
            fired = await fire_batch(conn, item, now=now, limiter=limiter)
    log.info(
        "buffer fired",
        extra={
            "action": f"{item.kind}.{fired.outcome}",
            "key": partition,
            "run_id": fired.run_id,
            "events": fired.events,
            "rearmed_at": fired.rearmed_at.isoformat() if fired.rearmed_at else None,
        },
    )
    # A started run queued its first call (and maybe more); a re-arm queued the item again.
    return Applied(int(fired.outcome in ("run", "rearmed")), None)


async def fire_debounce(
    conn: Conn, item: records.Claimed, *, now: datetime, limiter: flow.RateLimiter | None
) -> Fired:
    """The caller holds the buffer's lock and has acked ``item`` in this transaction."""
    function_id = uuid.UUID(str(item.payload["function_id"]))
    key = str(item.payload["key"])
    row = await store.debounce_get(conn, function_id, key)
    if row is None or row.item_id != item.id:
        return Fired("stale")  # already fired, or another item fires it
    if row.due_at > now:
        # Due later than this item (clock skew between processes, or a move that lost a race):
        # wait again rather than start early.
        (item_id,) = await queue.enqueue(
            conn, [items.debounce(str(function_id), key, row.id, at=row.due_at)], now=now
        )
        await store.debounce_put(
            conn,
            store.Debounce(
                function_id, key, row.id, row.event_id, row.first_at, row.due_at, item_id
            ),
        )
        return Fired("rearmed", rearmed_at=row.due_at)
    await store.debounce_delete(conn, function_id, key)
    fn = await store.function(conn, function_id)
    event = (await store.events_wire(conn, [row.event_id])).get(row.event_id)
    if fn is None or fn.archived or event is None:
        return Fired("dropped", events=1)
    start = buffers.debounce_start(function_id, fn.version, fn.config, row.id, row.event_id, event)
    return await _start(conn, start, now=now, limiter=limiter)


async def fire_batch(
    conn: Conn, item: records.Claimed, *, now: datetime, limiter: flow.RateLimiter | None
) -> Fired:
    """The caller holds the buffer's lock and has acked ``item`` in this transaction."""
    function_id = uuid.UUID(str(item.payload["function_id"]))
    key = str(item.payload["key"])
    row = await store.batch_get(conn, function_id, key)
    if row is None or row.id != item.payload.get("batch_id") or row.item_id != item.id:
        return Fired("stale")  # the batch filled up and ran, or belongs to another item
    await store.batch_delete(conn, function_id, key)
    fn = await store.function(conn, function_id)
    first = (await store.events_wire(conn, row.event_ids[:1])).get(row.event_ids[0])
    if fn is None or fn.archived or first is None:
        return Fired("dropped", events=len(row.event_ids))
    start = buffers.batch_start(function_id, fn.version, fn.config, row.id, row.event_ids, first)
    return await _start(conn, start, now=now, limiter=limiter)


async def _start(
    conn: Conn, start: flow.Start, *, now: datetime, limiter: flow.RateLimiter | None
) -> Fired:
    window_start = now - timedelta(seconds=ingest.DEFAULT_DEDUP_WINDOW_S)
    won = await runs.claim_keys(conn, [start.run], now=now, window_start=window_start)
    count = len(start.run.event_ids)
    if not won:
        return Fired("duplicate", events=count)
    await flow.admit(conn, [start], limiter=limiter, now=now)
    await ingest.start_runs(conn, [start], now=now)
    outcome = "run" if start.skip_reason is None else "skipped"
    return Fired(outcome, run_id=start.run.id, events=count)
