"""Settings shared by every test suite: where the test PostgreSQL and Redis are."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL with the right to CREATE DATABASE (INNGEST_TEST_DATABASE_URL)."""
    return os.environ.get(
        "INNGEST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL tests may write to under their own key prefix (INNGEST_TEST_REDIS_URL)."""
    return os.environ.get("INNGEST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
