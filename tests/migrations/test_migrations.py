"""The Alembic revisions and the schema of record (inngest.db.tables) agree: one head, upgrade
from empty works, the result matches the tables, a second upgrade changes nothing, and two
processes migrating one database at once both succeed."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from inngest.db import migrate, tables

REPO_ROOT = Path(__file__).resolve().parents[2]


def _migration_lock_id() -> int:
    # env.py runs the migrations when imported, so its constant is read from the source text.
    source = (resources.files("inngest.db") / "migrations" / "env.py").read_text()
    found = re.search(r"^_MIGRATION_LOCK_ID = (0x[0-9A-Fa-f]+|\d+)", source, re.MULTILINE)
    assert found is not None, "migrations/env.py no longer defines _MIGRATION_LOCK_ID"
    return int(found.group(1), 0)


MIGRATION_LOCK_ID = _migration_lock_id()

# Enough to describe what a migration could change: columns, constraints, indexes.
SCHEMA_QUERY = """
SELECT 'column', table_name || '.' || column_name,
       concat_ws(' ', data_type, udt_name, is_nullable, column_default, is_identity)
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index', tablename || '.' || indexname, indexdef
FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1, 2
"""


def schema_of(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(SCHEMA_QUERY).fetchall()


def version_of(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchall()


def head(url: str) -> str:
    heads = ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads()
    assert len(heads) == 1, f"expected a single Alembic head, found {heads}"
    return heads[0]


def test_single_head(empty_db_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_db_url))
    assert len(script.get_heads()) == 1
    # Every revision hangs off one base: a linear history.
    assert len(script.get_bases()) == 1


def test_upgrade_from_empty(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    assert version_of(empty_db_url) == [(head(empty_db_url),)]
    with psycopg.connect(empty_db_url) as conn:
        found = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
    assert set(tables.metadata.tables) <= found
    assert found - set(tables.metadata.tables) == {"alembic_version"}


def test_schema_matches_the_tables(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = sa.create_engine(migrate.sqlalchemy_url(empty_db_url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "compare_server_default": True},
            )
            differences = compare_metadata(context, tables.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_second_upgrade_is_a_no_op(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    schema, version = schema_of(empty_db_url), version_of(empty_db_url)
    migrate.upgrade(empty_db_url)
    assert schema_of(empty_db_url) == schema
    assert version_of(empty_db_url) == version


def test_concurrent_upgrades_both_succeed(empty_db_url: str) -> None:
    """Two processes upgrade one empty database at once; the advisory lock in migrations/env.py
    makes the second wait for the first instead of failing on duplicate DDL.

    Processes, not threads: Alembic keeps its command context in a process-global proxy, so two
    upgrades in threads of one process trip over each other whatever the database does.
    To be sure both really overlap, the test holds the migration lock itself until both
    processes are seen waiting for it.
    """
    script = "import sys; from inngest.db import migrate; migrate.upgrade(sys.argv[1])"
    with psycopg.connect(empty_db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, empty_db_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=REPO_ROOT,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 60
            while waiting_for_lock(holder) < 2:
                assert time.monotonic() < deadline, "the upgrades never queued on the lock"
                assert all(p.poll() is None for p in procs), "an upgrade exited early"
                time.sleep(0.05)
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
        outcomes = [p.communicate(timeout=120) for p in procs]
    for proc, (_, stderr) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, stderr.decode()
    assert version_of(empty_db_url) == [(head(empty_db_url),)]


def waiting_for_lock(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND objid = %s AND objsubid = 1 AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())",
        (MIGRATION_LOCK_ID & 0xFFFFFFFF,),
    ).fetchone()
    assert row is not None
    return int(row[0])
