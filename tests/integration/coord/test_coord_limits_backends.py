"""What each flow-control backend owes beyond the shared semantics: Redis keys live under the
configured prefix and expire by themselves; PostgreSQL hands its pooled connections back clean,
even when a call is cancelled half way."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import anyio
import pytest
from psycopg.pq import TransactionStatus
from redis.asyncio import Redis

from inngest.coord.keys import Keys
from inngest.coord.limits import SlotClaim
from inngest.coord.pg_limits import PostgresLimits
from inngest.coord.redis_limits import KEY_GRACE_MS, RedisLimits
from inngest.db.pool import open_pool

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def test_redis_keys_live_under_the_prefix_and_expire(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    prefix = f"inngest-test-{secrets.token_hex(6)}"
    limits = RedisLimits(client, Keys(prefix))
    try:
        assert (await limits.acquire([SlotClaim("fn:a", 2)], holder="h", now=NOW, lease_s=30)).ok
        assert await limits.throttle("fn:a", limit=1, period_s=10, burst=1, now=NOW) is None
        assert await limits.rate_limit("fn:a", limit=5, period_s=60, now=NOW)
        found = sorted([key.decode() async for key in client.scan_iter(match=f"{prefix}:*")])
        assert found == [f"{prefix}:rate:fn:a", f"{prefix}:slots:fn:a", f"{prefix}:throttle:fn:a"]
        ttl = {key: await client.pttl(key) for key in found}
        # A set lives as long as its latest lease plus the grace; a bucket until it is full.
        assert 0 < ttl[f"{prefix}:slots:fn:a"] <= 30_000 + KEY_GRACE_MS
        assert 0 < ttl[f"{prefix}:throttle:fn:a"] <= 10_000
        assert 0 < ttl[f"{prefix}:rate:fn:a"] <= 12_000
        # A released key's empty set is gone at once.
        await limits.release(["fn:a"], holder="h")
        assert await client.exists(f"{prefix}:slots:fn:a") == 0
    finally:
        found = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if found:
            await client.delete(*found)
        await client.aclose()


async def test_postgres_connections_go_back_to_the_pool_clean(coord_db_url: str) -> None:
    pool = await open_pool(coord_db_url, min_size=2, max_size=2, name="coord-cancel-test")
    limits = PostgresLimits(pool)
    try:
        # Cancel calls at every stage of their life, from before the connection is taken to
        # after the results are back; some are cut half way through their pipeline.
        cancelled = 0
        for attempt in range(60):
            with anyio.move_on_after(attempt * 0.00005) as scope:
                await limits.acquire(
                    [SlotClaim(f"fn:{attempt % 3}", 100)],
                    holder=f"h{attempt}",
                    now=NOW,
                    lease_s=30,
                )
            cancelled += scope.cancelled_caught
        assert cancelled > 0
        # Both connections of the pool at once, so each is looked at.
        async with pool.connection() as first, pool.connection() as second:
            for conn in (first, second):
                assert conn.autocommit is False
                assert conn.info.transaction_status == TransactionStatus.IDLE
        # And they still work.
        assert (await limits.acquire([SlotClaim("fn:x", 1)], holder="h", now=NOW, lease_s=30)).ok
        assert await limits.in_use("fn:x", now=NOW) == 1
    finally:
        await pool.close()
