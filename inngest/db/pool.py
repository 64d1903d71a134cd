"""The PostgreSQL connection pool every component shares (psycopg 3, async)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

Conn = AsyncConnection[Any]
Row = dict[str, Any]
Pool = AsyncConnectionPool[AsyncConnection[Any]]


async def open_pool(url: str, *, min_size: int, max_size: int, name: str = "inngest") -> Pool:
    """Open a pool and wait until its first connections work, so start-up fails fast."""
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max(max_size, min_size),
        name=name,
        open=False,
        # Short-lived statements only: no transaction is ever held across an HTTP call.
        kwargs={"autocommit": False, "prepare_threshold": 5},
    )
    await pool.open(wait=True, timeout=15.0)
    return pool


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and banners."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def reading(pool: Pool) -> AsyncIterator[Conn]:
    """A connection for one read: autocommit, so the read is one round trip (no BEGIN, and no
    ROLLBACK when the pool takes the connection back)."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            await conn.set_autocommit(False)


@asynccontextmanager
async def writing(pool: Pool) -> AsyncIterator[Conn]:
    """A transaction in pipeline mode: statements whose results nobody reads yet travel together,
    so BEGIN rides with the first statement and the trailing writes with COMMIT."""
    async with pool.connection() as conn, conn.pipeline(), conn.transaction():
        yield conn


async def fetch_dicts(conn: Conn, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
    """Rows as column -> value mappings (psycopg's dict_row), for API-facing reads."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return await cur.fetchall()


async def fetch_dict(conn: Conn, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
    rows = await fetch_dicts(conn, sql, params)
    return rows[0] if rows else None
