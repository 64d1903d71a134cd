"""Fixtures for the queue and wake-up integration tests: a throwaway database per session holding
only the queue table, a fresh connection per test, and a Redis URL with a random key prefix."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import AsyncConnection, sql
from psycopg.conninfo import make_conninfo

from inngest.db import tables

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

Connect = Callable[[], Awaitable[AsyncConnection[Any]]]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # psycopg's async connections run on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def queue_db_url() -> Iterator[str]:
    """A database created for this session (and this xdist worker), dropped at the end."""
    server = os.environ.get("INNGEST_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    server = server.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"inngest_queue_test_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(server, dbname=name)
    engine = sa.create_engine(
        sa.engine.make_url(_sqlalchemy_url(server)).set(database=name), poolclass=sa.NullPool
    )
    try:
        with engine.begin() as conn:
            tables.metadata.create_all(conn, tables=[tables.queue_items])
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _sqlalchemy_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


@pytest.fixture
async def connect(queue_db_url: str) -> AsyncIterator[Connect]:
    """Opens autocommit connections to the session database; closes them after the test."""
    opened: list[AsyncConnection[Any]] = []

    async def _connect() -> AsyncConnection[Any]:
        conn = await AsyncConnection.connect(queue_db_url, autocommit=True)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        await conn.close()


@pytest.fixture
async def conn(connect: Connect) -> AsyncConnection[Any]:
    """An autocommit connection to an emptied queue table."""
    conn = await connect()
    await conn.execute("TRUNCATE queue_items RESTART IDENTITY")
    return conn


@pytest.fixture
def redis_url() -> str:
    return os.environ.get("INNGEST_TEST_REDIS_URL", DEFAULT_REDIS_URL)


@pytest.fixture
def key_prefix() -> str:
    """A random Redis key prefix, so parallel sessions never hear each other."""
    return f"inngest-test-{secrets.token_hex(6)}"
