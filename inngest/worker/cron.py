"""Processing a claimed ``cron`` item: one transaction, fenced by the item's lease, acks the tick,
starts its run and queues the next tick. No SDK call is made here; the run's first call is an
ordinary ``call`` item."""

from __future__ import annotations

import logging

from inngest.clock import Clock
from inngest.db.pool import Pool
from inngest.errors import LeaseLost
from inngest.ingest import cron, flow
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.worker.commit import Applied

log = logging.getLogger(__name__)


async def process(
    pool: Pool, clock: Clock, item: records.Claimed, *, limiter: flow.RateLimiter | None = None
) -> Applied:
    """Raises LeaseLost (rolling everything back) when another worker or a sync took the item."""
    async with pool.connection() as conn, conn.transaction():
        # Acking first makes the lease the fence: a duplicate holder or a sync that deleted the
        # item meanwhile leaves this transaction nothing to commit.
        if item.id not in await queue.complete(conn, [item.lease]):
            raise LeaseLost(item.id, str(item.lease_token))
        fired = await cron.fire(conn, item.payload, now=clock.now(), limiter=limiter)
    log.info(
        "cron tick",
        extra={
            "action": "cron.stale" if fired.stale else "cron.tick",
            "function": item.payload.get("slug"),
            "cron": item.payload.get("cron"),
            "scheduled_at": item.payload.get("scheduled_at"),
            "run_id": fired.run_id,
            "next_at": fired.next_at.isoformat() if fired.next_at else None,
        },
    )
    return Applied((fired.run_id is not None) + (fired.next_at is not None), None)
