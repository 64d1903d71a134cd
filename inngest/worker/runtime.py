"""The worker's main loop: claim up to free capacity, execute, keep leases alive, shut down.

One anyio task group owns the claimer, the lease heartbeat and every executor. Capacity is an
anyio.CapacityLimiter: the claimer never claims more items than there are free slots, so no
item waits in memory holding a lease it cannot use.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio
from anyio.abc import TaskGroup

from inngest.clock import Clock
from inngest.coord.wakeup import Wakeups
from inngest.db.pool import Pool
from inngest.ingest import items
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import runs
from inngest.worker.execute import Executor

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    pool: Pool
    executor: Executor
    wakeups: Wakeups
    clock: Clock
    workers: int
    claim_batch: int
    lease_s: float
    poll_interval_s: float
    shutdown_grace_s: float
    dedup_window_s: float
    in_flight: dict[int, uuid.UUID] = field(default_factory=dict)
    _slot_freed: anyio.Event = field(default_factory=anyio.Event)
    _claiming: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    _policy: queue.ClaimPolicy = field(default_factory=queue.ClaimPolicy)
    crash_backoff_s: float = 1.0  # first retry delay of an item whose execution crashed

    async def run(self) -> None:
        """Run until ``stop()``: then stop claiming, give in-flight calls the grace period, and
        cancel what is left (its leases expire and other workers take the items over).

        The executors' task group is shielded: cancelling the caller does not cut an SDK call
        short mid-commit; shutdown goes through ``stop()`` so it always has its two phases.
        """
        limiter = anyio.CapacityLimiter(self.workers)
        async with anyio.create_task_group() as work:
            work.cancel_scope.shield = True
            work.start_soon(self._heartbeat)
            work.start_soon(self._maintain)
            with self._claiming:
                await self._claim_loop(work, limiter)
            with anyio.move_on_after(self.shutdown_grace_s):
                while self.in_flight:
                    self._slot_freed = anyio.Event()
                    await self._slot_freed.wait()
            if self.in_flight:
                log.warning(
                    "grace period over; abandoning in-flight items to lease expiry",
                    extra={"action": "worker.abandon", "count": len(self.in_flight)},
                )
            work.cancel_scope.cancel()

    def stop(self) -> None:
        """Begin the graceful shutdown (idempotent)."""
        self._claiming.cancel()

    async def _claim_loop(self, work: TaskGroup, limiter: anyio.CapacityLimiter) -> None:
        while True:
            free = math.floor(limiter.available_tokens)
            if free <= 0:
                self._slot_freed = anyio.Event()
                await self._slot_freed.wait()
                continue
            try:
                claimed, next_due = await self._claim(min(self.claim_batch, free))
            except Exception:
                # A database outage costs latency, not the worker: back off and poll again.
                log.exception("claim failed", extra={"action": "queue.claim_failed"})
                await anyio.sleep(self.poll_interval_s)
                continue
            for item in claimed:
                # A borrower per execution, not the item id: an item whose lease expired while
                # this process was still on it can be claimed here again.
                borrower = object()
                limiter.acquire_on_behalf_of_nowait(borrower)
                self.in_flight[item.id] = item.lease_token
                work.start_soon(self._execute, item, limiter, borrower)
            if claimed:
                continue  # more may be waiting: claim again before sleeping
            await self.wakeups.wait(self._idle_timeout(next_due))

    async def _claim(self, limit: int) -> tuple[list[records.Claimed], datetime | None]:
        async with self.pool.connection() as conn:
            claimed = await queue.claim(
                conn,
                limit=limit,
                lease_s=self.lease_s,
                now=self.clock.now(),
                kinds=items.KINDS,
                fair=self._policy.fair(),
            )
            await conn.commit()
            self._policy.observe(len(claimed), limit)
            next_due = None
            if not claimed:
                next_due = await queue.next_due(conn, now=self.clock.now())
                await conn.commit()
        return claimed, next_due

    def _idle_timeout(self, next_due: datetime | None) -> float:
        # Jitter spreads the polls of many processes; waking at the next due item is what makes
        # sleeps end on time without a wake-up message.
        timeout = self.poll_interval_s * (0.5 + random.random())
        if next_due is not None:
            until = (next_due - self.clock.now()).total_seconds()
            timeout = min(timeout, max(until, 0.0))
        return timeout

    async def _execute(
        self, item: records.Claimed, limiter: anyio.CapacityLimiter, borrower: object
    ) -> None:
        current: records.Claimed | None = item
        hops = 0
        try:
            while current is not None:
                self.in_flight[current.id] = current.lease_token
                try:
                    applied = await self.executor.run(current)
                except Exception:
                    # A bug or a database outage must cost this item an attempt, never the
                    # worker: the item is retried later, and given up after a few crashes.
                    log.exception(
                        "item execution crashed",
                        extra={"action": "item.crash", "item_id": current.id},
                    )
                    await self._after_crash(current)
                    applied = None
                finally:
                    self.in_flight.pop(current.id, None)
                if applied is not None and applied.enqueued:
                    await self.wakeups.notify()
                current = applied.continuation if applied is not None else None
                hops += 1
                if current is not None and (hops >= _MAX_HOPS or self._claiming.cancel_called):
                    # Leave it to the claimers: it is leased to us, so give the lease back.
                    await self._give_back(current)
                    current = None
        finally:
            limiter.release_on_behalf_of(borrower)
            self._slot_freed.set()

    async def _after_crash(self, item: records.Claimed) -> None:
        """Retry a crashed item with backoff, counting an attempt; past MAX_CRASHES, give it up
        (its run fails with the reason), so one poisonous item cannot loop forever. When even
        this fails (the database is down), the lease expires and the item is claimed again."""
        try:
            async with self.pool.connection() as conn, conn.transaction():
                if item.attempt + 1 < MAX_CRASHES:
                    delay = self.crash_backoff_s * 2**item.attempt
                    at = self.clock.now() + timedelta(seconds=delay)
                    await queue.retry(conn, item.id, item.lease_token, available_at=at)
                    return
                if item.id not in await queue.complete(conn, [item.lease]):
                    return  # another worker holds it now
                run_id = item.payload.get("run_id")
                if isinstance(run_id, str):
                    error = {
                        "name": "InternalError",
                        "message": f"the server failed to process this run's {item.kind} item "
                        f"{MAX_CRASHES} times; see the server log (item {item.id})",
                    }
                    await runs.finish(
                        conn,
                        run_id,
                        status="Failed",
                        output=None,
                        error=error,
                        now=self.clock.now(),
                    )
                    await queue.delete_partition(conn, run_id)
            log.error(
                "item given up after repeated crashes",
                extra={"action": "item.given_up", "item_id": item.id, "kind": item.kind},
            )
        except Exception:
            log.exception("crash handling failed", extra={"action": "item.crash_unhandled"})

    async def _give_back(self, item: records.Claimed) -> None:
        try:
            async with self.pool.connection() as conn, conn.transaction():
                await queue.release(conn, [item.lease], now=self.clock.now())
            await self.wakeups.notify()
        except Exception:
            log.exception("release failed", extra={"action": "item.release_failed"})

    async def _heartbeat(self) -> None:
        # Extending at a third of the lease leaves two chances before another worker may
        # legitimately take the item over.
        interval = self.lease_s / 3
        while True:
            await anyio.sleep(interval)
            leases = list(self.in_flight.items())
            if not leases:
                continue
            try:
                async with self.pool.connection() as conn:
                    held = await queue.extend(
                        conn, leases, lease_s=self.lease_s, now=self.clock.now()
                    )
                    await conn.commit()
            except Exception:
                log.exception("lease heartbeat failed", extra={"action": "lease.extend_failed"})
                continue
            await self._refresh_slots()
            # An item acked while the extend was in flight is gone, not lost: count only items
            # still being executed.
            lost = sum(
                1 for item_id, _ in leases if item_id not in held and item_id in self.in_flight
            )
            if lost:
                log.warning("leases lost", extra={"action": "lease.lost", "count": lost})

    async def _refresh_slots(self) -> None:
        """Re-assert the concurrency slots of in-flight calls. After a Redis restart or FLUSHALL
        this rebuilds the counters from what is really in flight, within one heartbeat."""
        limits, holdings = self.executor.limits, dict(self.executor.holdings)
        if limits is None or not holdings:
            return
        try:
            await limits.refresh(
                [(keys, str(item_id)) for item_id, keys in holdings.items()],
                now=self.clock.now(),
                lease_s=self.lease_s,
            )
        except Exception:
            log.exception("slot refresh failed", extra={"action": "slot.refresh_failed"})

    async def _maintain(self) -> None:
        """Forget idempotency keys older than the dedup window and expired flow-control state,
        so those tables stay small."""
        while True:
            await anyio.sleep(_MAINTENANCE_INTERVAL_S * (0.5 + random.random()))
            try:
                async with self.pool.connection() as conn:
                    window_start = self.clock.now() - timedelta(seconds=self.dedup_window_s)
                    removed = await runs.expire_keys(conn, window_start=window_start)
                    await conn.commit()
                if removed:
                    log.info("expired run keys", extra={"action": "keys.expire", "count": removed})
                if self.executor.limits is not None:
                    await self.executor.limits.sweep(now=self.clock.now())
            except Exception:
                log.exception("maintenance failed", extra={"action": "maintenance.failed"})


# An item whose execution crashed this many times is given up (its run fails with the reason).
MAX_CRASHES = 5
# A run's sequential calls continue on the same executor this many times before its next call
# goes back through the claimers, so one long run cannot keep a slot from others forever.
_MAX_HOPS = 50
# Several processes may run maintenance; the work is idempotent, so no leader is needed.
_MAINTENANCE_INTERVAL_S = 300.0
