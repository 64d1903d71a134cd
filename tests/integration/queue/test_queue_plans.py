"""The claim and the acks use the intended indexes, under custom and generic plans alike.

psycopg prepares a statement after a few executions, and PostgreSQL may then switch to a generic
plan, so both plan modes are checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from psycopg import AsyncConnection

from inngest.db import named_sql
from inngest.queue import ops

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLAN_MODES = ["force_custom_plan", "force_generic_plan"]


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


def node_types(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Node Type" in plan:
            found.add(plan["Node Type"])
        for value in plan.values():
            found |= node_types(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= node_types(value)
    return found


async def explain(conn: AsyncConnection[Any], name: str, params: dict[str, Any]) -> Any:
    cur = await conn.execute("EXPLAIN (FORMAT JSON) " + ops.SQL[name], params)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
async def seeded(conn: AsyncConnection[Any]) -> AsyncConnection[Any]:
    # Many priorities and due times, a share of future items and held items, as in a busy queue.
    await conn.execute(
        """
        INSERT INTO queue_items (kind, payload, priority, available_at, partition_key)
        SELECT 'k' || (g %% 5), '{}'::jsonb, (g %% 3) - 1,
               %(t0)s + make_interval(secs => (g %% 1000) - 600), 'run-' || (g / 10)
        FROM generate_series(1, 50000) AS g
        """,
        {"t0": T0},
    )
    await conn.execute("ANALYZE queue_items")
    return conn


@pytest.mark.parametrize("plan_mode", PLAN_MODES)
@pytest.mark.parametrize("kinds", [None, ["k1", "k2"]])
@pytest.mark.parametrize(
    ("name", "index"),
    [("queue_claim", "ix_queue_items_claim"), ("queue_claim_fair", "ix_queue_items_group")],
)
async def test_claim_uses_the_claim_index(
    seeded: AsyncConnection[Any], plan_mode: str, kinds: list[str] | None, name: str, index: str
) -> None:
    await seeded.execute(f"SET plan_cache_mode = {plan_mode}")
    plan = await explain(
        seeded,
        name,
        {
            "now": T0,
            "lease_until": T0 + timedelta(seconds=30),
            "lease_token": uuid4(),
            "limit": 10,
            "kinds": kinds,
        },
    )
    assert index in index_names(plan), plan
    assert "Seq Scan" not in node_types(plan), plan


@pytest.mark.parametrize("plan_mode", PLAN_MODES)
@pytest.mark.parametrize("name", ["queue_complete", "queue_extend", "queue_release"])
async def test_batched_acks_use_the_primary_key(
    seeded: AsyncConnection[Any], plan_mode: str, name: str
) -> None:
    await seeded.execute(f"SET plan_cache_mode = {plan_mode}")
    params: dict[str, Any] = {
        "ids": list(range(1, 11)),
        "tokens": [uuid4() for _ in range(10)],
        "lease_until": T0,
        "now": T0,
    }
    plan = await explain(seeded, name, {k: params[k] for k in named_sql.params_of(ops.SQL[name])})
    assert "pk_queue_items" in index_names(plan), plan
    assert "Seq Scan" not in node_types(plan), plan


@pytest.mark.parametrize("plan_mode", PLAN_MODES)
async def test_retry_uses_the_primary_key(seeded: AsyncConnection[Any], plan_mode: str) -> None:
    await seeded.execute(f"SET plan_cache_mode = {plan_mode}")
    plan = await explain(
        seeded,
        "queue_retry",
        {"id": 7, "lease_token": uuid4(), "available_at": T0, "payload": None},
    )
    assert index_names(plan) == {"pk_queue_items"}, plan


async def test_next_due_probes_the_index(seeded: AsyncConnection[Any]) -> None:
    plan = await explain(seeded, "queue_next_due", {"now": T0})
    assert index_names(plan) == {"ix_queue_items_claim"}, plan
    assert "Seq Scan" not in node_types(plan), plan


async def test_delete_partition_uses_its_index(seeded: AsyncConnection[Any]) -> None:
    plan = await explain(seeded, "queue_delete_partition", {"partition_key": "run-7"})
    assert "ix_queue_items_partition_key" in index_names(plan), plan
