"""The buffer tests use the core suite's fixtures: a per-test database copied from a migrated
template, an opened pool and a stub SDK app."""

from __future__ import annotations

from tests.integration.core.conftest import (  # noqa: F401  (fixtures, found by name)
    anyio_backend,
    db_url,
    pool,
    stub,
    template_db,
)
