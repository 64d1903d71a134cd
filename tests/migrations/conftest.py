"""Fixtures for the migration tests: an empty database per test, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _server_url() -> str:
    url = os.environ.get("INNGEST_TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """A postgresql:// URL of a new, empty database of this test's own."""
    server = _server_url()
    name = f"inngest_mig_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = conninfo_to_dict(server)
    password = f":{parts['password']}" if parts.get("password") else ""
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", "5432")
    try:
        yield f"postgresql://{parts.get('user', 'postgres')}{password}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
