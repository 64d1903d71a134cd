"""Fixtures for the core integration tests: a migrated template database built once per session,
a fresh copy of it per test (``CREATE DATABASE ... TEMPLATE``), an opened pool, a stub SDK app,
and helpers to sync functions, ingest events and wait for runs."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from inngest.db import migrate
from inngest.db.pool import Pool, open_pool
from tests.integration.core.stub_sdk import StubSdk, start_stub

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # psycopg's async connections run on asyncio only.
    return "asyncio"


def _server_url() -> str:
    url = os.environ.get("INNGEST_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _as_url(conninfo: str) -> str:
    """A postgresql:// URL (what Settings and Alembic accept) for a libpq conninfo string."""
    parts = conninfo_to_dict(conninfo)
    user = parts.get("user", "postgres")
    password = f":{parts['password']}" if parts.get("password") else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"postgresql://{user}{password}@{host}:{port}/{parts['dbname']}"


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """Name of a database migrated to head once per session; tests copy it, never use it."""
    server = _server_url()
    name = f"inngest_tpl_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        migrate.upgrade(_as_url(make_conninfo(server, dbname=name)))
        yield name
    finally:
        _drop(server, name)


@pytest.fixture
def db_url(template_db: str) -> Iterator[str]:
    """A postgresql:// URL of a database of this test's own, copied from the template."""
    server = _server_url()
    name = f"inngest_test_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    try:
        yield _as_url(make_conninfo(server, dbname=name))
    finally:
        _drop(server, name)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[Pool]:
    opened = await open_pool(db_url, min_size=1, max_size=8, name="test")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def stub() -> AsyncIterator[StubSdk]:
    async with start_stub() as sdk:
        yield sdk
