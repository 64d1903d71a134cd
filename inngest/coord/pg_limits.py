"""Flow control on PostgreSQL, for running without Redis: leases in ``coord_slots``, GCRA buckets
in ``coord_buckets``.

Semantics are in ``inngest.coord.limits``; the statements are in ``limits.sql``. Each call is one
short transaction, pipelined into one round trip (BEGIN, ``SET LOCAL synchronous_commit TO off``,
for decisions an advisory lock per key, the statement, COMMIT). Decisions on one key are
serialised by ``pg_advisory_xact_lock``, taken in one sorted order across keys (no deadlock
between two acquires of the same two keys), and held only until that transaction commits: never
across an SDK call.

The pooled connection is switched to autocommit for the length of a call (so BEGIN and COMMIT
can travel in the pipeline) and always handed back out of it, outside any transaction.

A slot is a row (key, holder, expires_at); a live slot is one with ``expires_at > now``. Acquire
deletes the expired slots of the keys it looks at; ``sweep`` (maintenance) deletes the rest, and
buckets that are full again, so the tables stay as small as what is in flight. Every acquire and
release inserts and deletes a row: the table churns like the queue table and relies on autovacuum
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import anyio
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow, tuple_row

from inngest.coord import limits
from inngest.coord.limits import GRANTED, Acquired, Gcra, Holding, SlotClaim
from inngest.db import named_sql
from inngest.db.pool import Conn, Pool

SQL = named_sql.load("inngest.coord", "limits.sql")
logger = logging.getLogger(__name__)

# Lock-name prefixes, one per kind of state, so that a caller key used for a concurrency limit
# and a throttle never serialises the two on one lock. Bucket rows store the prefixed key.
_SLOTS = "slots:"
_THROTTLE = "throttle:"
_RATE = "rate:"


class PostgresLimits:
    """``Limits`` on the shared connection pool (connections are not autocommit)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def acquire(
        self, claims: Sequence[SlotClaim], *, holder: str, now: datetime, lease_s: float
    ) -> Acquired:
        wanted = limits.normalise(claims)
        if not wanted:
            return GRANTED
        now = limits.aware(now)
        keys = [claim.key for claim in wanted]
        rows = await self._transaction(
            [_SLOTS + key for key in keys],
            "coord_slots_acquire",
            {
                "keys": keys,
                "limits": [claim.limit for claim in wanted],
                "holder": holder,
                "now": now,
                "expires_at": now + timedelta(microseconds=limits.lease_us(lease_s)),
            },
        )
        if not rows:
            return GRANTED
        full_key, in_use = rows[0]
        return Acquired(ok=False, full_key=str(full_key), in_use=int(in_use))

    async def release(self, keys: Sequence[str], *, holder: str) -> None:
        if keys:
            await self._transaction(
                [], "coord_slots_release", {"keys": list(keys), "holder": holder}
            )

    async def refresh(self, holdings: Sequence[Holding], *, now: datetime, lease_s: float) -> None:
        # Distinct (ON CONFLICT may not touch one row twice) and sorted (one row-lock order).
        pairs = sorted({(key, holder) for keys, holder in holdings for key in keys})
        if not pairs:
            return
        now = limits.aware(now)
        await self._transaction(
            [],
            "coord_slots_refresh",
            {
                "keys": [key for key, _ in pairs],
                "holders": [holder for _, holder in pairs],
                "expires_at": now + timedelta(microseconds=limits.lease_us(lease_s)),
            },
        )

    async def in_use(self, key: str, *, now: datetime) -> int:
        rows = await self._read("coord_slots_in_use", {"key": key, "now": limits.aware(now)})
        return int(rows[0][0])

    async def throttle(
        self, key: str, *, limit: int, period_s: float, burst: int, now: datetime
    ) -> datetime | None:
        gcra = Gcra.of(limit=limit, period_s=period_s, burst=burst)
        allow_at = await self._take(_THROTTLE + key, gcra, now)
        return None if allow_at <= now else allow_at

    async def rate_limit(self, key: str, *, limit: int, period_s: float, now: datetime) -> bool:
        gcra = Gcra.of(limit=limit, period_s=period_s, burst=limit)
        return await self._take(_RATE + key, gcra, now) <= now

    async def sweep(self, *, now: datetime) -> int:
        now = limits.aware(now)
        slots = await self._transaction([], "coord_slots_sweep", {"now": now}, rowcount=True)
        buckets = await self._transaction([], "coord_buckets_sweep", {"now": now}, rowcount=True)
        return int(slots[0][0]) + int(buckets[0][0])

    async def _take(self, bucket: str, gcra: Gcra, now: datetime) -> datetime:
        now = limits.aware(now)
        rows = await self._transaction(
            [bucket],
            "coord_bucket_take",
            {
                "key": bucket,
                "now": now,
                "emission": timedelta(microseconds=gcra.emission_us),
                "tolerance": timedelta(microseconds=gcra.tolerance_us),
            },
        )
        allow_at: datetime = rows[0][0]
        return allow_at

    async def _transaction(
        self,
        lock_keys: Sequence[str],
        name: str,
        params: dict[str, Any],
        *,
        rowcount: bool = False,
    ) -> list[TupleRow]:
        """Run statement ``name`` in its own transaction, after advisory locks on ``lock_keys``,
        as one pipeline: a single round trip. Returns its rows, or [(rowcount,)]."""
        async with self._pool.connection() as conn:
            try:
                # Autocommit for the length of the call, so that BEGIN and COMMIT travel in the
                # pipeline with the statements: psycopg's implicit BEGIN, and commit(), each wait
                # for a round trip of their own (3 round trips instead of 1: about 3x slower).
                await conn.set_autocommit(True)
                async with conn.pipeline():
                    await _execute(conn, "coord_begin", None)
                    await _execute(conn, "coord_no_sync_commit", None)
                    if lock_keys:
                        await _execute(conn, "coord_lock", {"lock_keys": sorted(lock_keys)})
                    cur = conn.cursor(row_factory=tuple_row)
                    await cur.execute(SQL[name], params)
                    await _execute(conn, "coord_commit", None)
                # Leaving the pipeline synced: every result is here.
                if rowcount:
                    return [(cur.rowcount,)]
                return await cur.fetchall() if cur.description is not None else []
            finally:
                # Shielded: a connection must go back to the pool outside any transaction and
                # out of autocommit mode (its other users expect psycopg's implicit transactions),
                # even when this call is cancelled half way.
                with anyio.CancelScope(shield=True):
                    await _restore(conn)

    async def _read(self, name: str, params: dict[str, Any]) -> list[TupleRow]:
        """Run one read-only statement on its own: autocommit, no transaction to open or end."""
        async with self._pool.connection() as conn:
            try:
                await conn.set_autocommit(True)
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(SQL[name], params)
                return await cur.fetchall()
            finally:
                # Shielded, as in _transaction.
                with anyio.CancelScope(shield=True):
                    await _restore(conn)


async def _restore(conn: Conn) -> None:
    if conn.closed:
        # psycopg closes a connection whose query was cancelled; the pool discards it.
        return
    try:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        await conn.set_autocommit(False)
    except Exception:
        # Whatever state it is in, a closed connection is one the pool discards.
        logger.warning(
            "coordination connection dropped",
            extra={"action": "coord.conn_reset_failed"},
            exc_info=True,
        )
        await conn.close()


async def _execute(conn: Conn, name: str, params: dict[str, Any] | None) -> None:
    # Not closed here: in pipeline mode its result arrives only when the pipeline syncs.
    await conn.execute(SQL[name], params)
