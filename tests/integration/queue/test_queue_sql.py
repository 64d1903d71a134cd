"""Every named queue statement gets exactly the parameters its placeholders name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from inngest.db import named_sql
from inngest.queue import ops
from inngest.queue.records import NewItem

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_each_statement_receives_its_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    passed: dict[str, set[str]] = {}

    async def record(_conn: Any, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        passed[name] = set(params)
        return [(0,) * 9]

    async def record_count(_conn: Any, name: str, params: dict[str, Any]) -> int:
        passed[name] = set(params)
        return 0

    monkeypatch.setattr(ops, "_rows", record)
    monkeypatch.setattr(ops, "_rowcount", record_count)
    conn: Any = None
    lease = (1, uuid4())
    await ops.enqueue(conn, [NewItem("k", {})], now=T0)
    await ops.claim(conn, limit=1, lease_s=1, now=T0)
    await ops.claim(conn, limit=1, lease_s=1, now=T0, kinds=["k"])
    await ops.extend(conn, [lease], lease_s=1, now=T0)
    await ops.complete(conn, [lease])
    await ops.retry(conn, 1, lease[1], available_at=T0)
    await ops.release(conn, [lease], now=T0)
    await ops.delete_partition(conn, "p")
    await ops.count_partition(conn, "p", kinds=["k"])
    await ops.delete_items(conn, [1])
    await ops.partition_items(conn, "p")
    await ops.park(conn, 1, UUID(int=1), available_at=T0, gate_key="g")
    await ops.open_gate(conn, "g", now=T0)
    await ops.enqueue_leased(conn, NewItem("k"), lease_s=1, now=T0)
    await ops.claim(conn, limit=1, lease_s=1, now=T0, fair=True)
    await ops.pending_count(conn)
    await ops.next_due(conn, now=T0)

    assert set(passed) == set(ops.SQL), "every named statement is used, and only those"
    for name, params in passed.items():
        assert params == named_sql.params_of(ops.SQL[name]), name


def test_statements_load_from_the_package() -> None:
    statements = named_sql.load("inngest.queue", "queries.sql")
    assert all(name.startswith("queue_") for name in statements)
    assert all(sql and not sql.endswith(";") for sql in statements.values())
