"""Every named statement of inngest/store loads, parses on PostgreSQL, and gets from each Python
call site exactly the placeholders it names; the runs list filtered by event uses its GIN index."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from inngest.db import named_sql
from inngest.db.pool import Pool
from inngest.store import runs
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import sync

pytestmark = pytest.mark.anyio

STORE = "inngest.store"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sql_files() -> list[str]:
    return sorted(f.name for f in resources.files(STORE).iterdir() if f.name.endswith(".sql"))


def statements() -> dict[str, str]:
    merged: dict[str, str] = {}
    for filename in sql_files():
        loaded = named_sql.load(STORE, filename)
        assert loaded, f"{filename} holds no named statement"
        duplicates = set(merged) & set(loaded)
        assert not duplicates, f"{filename} redefines {duplicates}"
        merged.update(loaded)
    return merged


def call_sites() -> Iterator[tuple[str, int, str, set[str] | None]]:
    """(module, line, statement, keys passed) for every ``f(_SQL["name"], {...})`` in the store
    modules; keys is None when the parameters are not a dict literal (not checkable here)."""
    for entry in resources.files(STORE).iterdir():
        if not entry.name.endswith(".py"):
            continue
        tree = ast.parse(entry.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            # The statement is the first argument (conn.execute) or the second
            # (pool.fetch_dicts(conn, ...)); its parameters follow it.
            at = next(
                (
                    i
                    for i, arg in enumerate(node.args[:2])
                    if isinstance(arg, ast.Subscript)
                    and isinstance(arg.value, ast.Name)
                    and arg.value.id == "_SQL"
                    and isinstance(arg.slice, ast.Constant)
                ),
                None,
            )
            if at is None:
                continue
            first = node.args[at]
            assert isinstance(first, ast.Subscript)
            assert isinstance(first.slice, ast.Constant)
            name = str(first.slice.value)
            rest = node.args[at + 1 :]
            if not rest and not node.keywords:
                yield entry.name, node.lineno, name, set()
            elif rest and isinstance(rest[0], ast.Dict):
                keys = rest[0].keys
                assert all(isinstance(k, ast.Constant) for k in keys), (entry.name, node.lineno)
                yield entry.name, node.lineno, name, {str(k.value) for k in keys}  # type: ignore[union-attr]
            else:
                yield entry.name, node.lineno, name, None


def test_every_call_site_passes_exactly_the_placeholders() -> None:
    named = statements()
    used: set[str] = set()
    problems: list[str] = []
    for module, line, name, keys in call_sites():
        used.add(name)
        if name not in named:
            problems.append(f"{module}:{line}: unknown statement {name}")
            continue
        if keys is None:
            problems.append(f"{module}:{line}: {name} parameters are not a dict literal")
            continue
        needed = named_sql.params_of(named[name])
        if keys != needed:
            problems.append(
                f"{module}:{line}: {name} missing {sorted(needed - keys)} "
                f"extra {sorted(keys - needed)}"
            )
    assert problems == []
    assert set(named) - used == set(), "statements no store module uses"


def test_no_bind_is_swallowed_by_a_cast_suffix() -> None:
    # `%(p)s::type` works with psycopg, but the same text under SQLAlchemy text() loses the bind;
    # the house style is CAST(... AS type) everywhere.
    for name, sql in statements().items():
        assert not re.search(r"%\(\w+\)s::", sql), name


def _positional(sql: str) -> tuple[str, int]:
    order: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${order.setdefault(match.group(1), len(order) + 1)}"

    return re.sub(r"%\((\w+)\)s", number, sql), len(order)


async def test_every_statement_parses_and_plans(pool: Pool) -> None:
    """PREPARE each statement (placeholders as $n): PostgreSQL parses it, resolves every table,
    column and function, and infers a type for every parameter."""
    async with pool.connection() as conn:
        for name, sql in statements().items():
            text, _ = _positional(sql)
            try:
                await conn.execute(f"PREPARE check_stmt AS {text}")  # type: ignore[arg-type]
                await conn.execute("DEALLOCATE check_stmt")
            except Exception as exc:
                pytest.fail(f"{name}: {exc}")
            await conn.rollback()


def index_names(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for value in plan.values():
            found |= index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= index_names(value)
    return found


async def test_runs_list_by_event_uses_the_gin_index(pool: Pool, stub: StubSdk) -> None:
    await sync(pool, stub.app_sync([{"id": "stub-app-plan", "event": "demo/plan"}]), T0)
    async with pool.connection() as conn:
        await conn.execute(
            """
            INSERT INTO runs (id, function_id, function_version, event_ids, status, created_at)
            SELECT lpad(i::text, 26, '0'), f.id, 1, ARRAY['evt-' || i, 'evt-shared-' || (i %% 7)],
                   CASE WHEN i %% 3 = 0 THEN 'Completed' ELSE 'Scheduled' END, %s
            FROM generate_series(1, 3000) AS i, functions AS f
            """,
            (T0,),
        )
        await conn.execute("ANALYZE runs")
        await conn.commit()
        # A test database stays small, and on a small table a sequential scan can beat any
        # index; switching it off asks "can and will the planner use the index" without
        # seeding the millions of rows that would make the choice on its own.
        await conn.execute("SET enable_seqscan = off")
        params = {
            "status": None,
            "function_slug": None,
            "event_id": "evt-1234",
            "cursor": None,
            "limit": 50,
        }
        sql = named_sql.load(STORE, "runs.sql")["runs_list"]
        cur = await conn.execute("EXPLAIN (FORMAT JSON) " + sql, params)  # type: ignore[operator]
        row = await cur.fetchone()
        assert row is not None
        assert "ix_runs_event_ids" in index_names(row[0]), row[0]
        found = await runs.list_page(conn, **params)
        assert [r["id"] for r in found] == ["1234".rjust(26, "0")]
        await conn.rollback()
