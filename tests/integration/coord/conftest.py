"""Fixtures for the flow-control conformance suite: every test runs once against Redis (a random
key prefix per test) and once against PostgreSQL (a throwaway database per session holding only
the coordination tables, emptied before each test)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from psycopg.conninfo import make_conninfo
from redis.asyncio import Redis

from inngest.coord.keys import Keys
from inngest.coord.limits import Limits
from inngest.coord.pg_limits import PostgresLimits
from inngest.coord.redis_limits import RedisLimits
from inngest.db import tables
from inngest.db.pool import open_pool

COORD_TABLES = [tables.coord_slots, tables.coord_buckets]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # psycopg's async connections run on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def coord_db_url(postgres_url: str) -> Iterator[str]:
    """A database created for this session (and this xdist worker), dropped at the end."""
    server = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"inngest_coord_test_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(server, dbname=name)
    engine = sa.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=sa.NullPool
    )
    try:
        with engine.begin() as conn:
            tables.metadata.create_all(conn, tables=COORD_TABLES)
        yield url
    finally:
        engine.dispose()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class Backend:
    """A ``Limits`` under test, and how to lose all of its state (Redis FLUSHALL, or the
    PostgreSQL tables emptied) without touching anyone else's."""

    name: str
    limits: Limits
    wipe: Callable[[], Awaitable[None]]


@pytest.fixture(params=["redis", "postgres"])
async def backend(
    request: pytest.FixtureRequest, redis_url: str, coord_db_url: str
) -> AsyncIterator[Backend]:
    if request.param == "redis":
        client = Redis.from_url(redis_url)
        prefix = f"inngest-test-{secrets.token_hex(6)}"

        async def wipe_redis() -> None:
            found = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
            if found:
                await client.delete(*found)

        try:
            yield Backend("redis", RedisLimits(client, Keys(prefix)), wipe_redis)
        finally:
            await wipe_redis()
            await client.aclose()
    else:
        # Ten connections: enough for the concurrency tests to race real transactions.
        pool = await open_pool(coord_db_url, min_size=1, max_size=10, name="coord-test")

        async def wipe_postgres() -> None:
            async with pool.connection() as conn:
                await conn.execute("DELETE FROM coord_slots")
                await conn.execute("DELETE FROM coord_buckets")

        try:
            await wipe_postgres()
            yield Backend("postgres", PostgresLimits(pool), wipe_postgres)
        finally:
            await pool.close()
