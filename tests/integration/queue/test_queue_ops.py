"""The queue's operations against a real PostgreSQL: order, exclusivity, leases and fencing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import anyio
import psycopg
import pytest
from psycopg import AsyncConnection

from inngest.queue import ops
from inngest.queue.records import NewItem

Connect = Callable[[], Awaitable[AsyncConnection[Any]]]

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_enqueue_returns_ids_in_input_order(conn: AsyncConnection[Any]) -> None:
    ids = await ops.enqueue(conn, [NewItem("a", {"n": n}) for n in range(5)], now=T0)
    assert len(ids) == 5
    assert ids == sorted(ids)
    claimed = await ops.claim(conn, limit=10, lease_s=30, now=T0)
    assert [c.payload["n"] for c in claimed] == [0, 1, 2, 3, 4]
    assert [c.id for c in claimed] == ids
    assert await ops.enqueue(conn, [], now=T0) == []


async def test_claim_orders_by_priority_then_due_time(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(
        conn,
        [
            NewItem("k", {"name": "low-early"}, priority=-1, available_at=at(-30)),
            NewItem("k", {"name": "mid-late"}, available_at=at(-10)),
            NewItem("k", {"name": "mid-early"}, available_at=at(-20)),
            NewItem("k", {"name": "high"}, priority=5, available_at=at(-1)),
            NewItem("k", {"name": "mid-now"}),
        ],
        now=T0,
    )
    first = await ops.claim(conn, limit=2, lease_s=30, now=T0)
    rest = await ops.claim(conn, limit=10, lease_s=30, now=T0)
    assert [c.payload["name"] for c in first] == ["high", "mid-early"]
    assert [c.payload["name"] for c in rest] == ["mid-late", "mid-now", "low-early"]
    assert await ops.claim(conn, limit=10, lease_s=30, now=T0) == []


async def test_claimed_record_fields(conn: AsyncConnection[Any]) -> None:
    [item_id] = await ops.enqueue(
        conn, [NewItem("step", {"x": [1, "two"]}, priority=3, partition_key="run-1")], now=T0
    )
    [claimed] = await ops.claim(conn, limit=1, lease_s=30, now=T0)
    assert claimed.id == item_id
    assert claimed.kind == "step"
    assert claimed.payload == {"x": [1, "two"]}
    assert claimed.priority == 3
    assert claimed.attempt == 0
    assert claimed.partition_key == "run-1"
    assert claimed.lease == (item_id, claimed.lease_token)
    assert claimed.created_at.tzinfo is not None


async def test_claim_filters_by_kind(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("a", {}), NewItem("b", {}), NewItem("c", {})], now=T0)
    claimed = await ops.claim(conn, limit=10, lease_s=30, now=T0, kinds=["c", "a"])
    assert sorted(c.kind for c in claimed) == ["a", "c"]
    assert [c.kind for c in await ops.claim(conn, limit=10, lease_s=30, now=T0)] == ["b"]


async def test_future_items_wait_until_due(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("sleep", {}, available_at=at(60))], now=T0)
    assert await ops.claim(conn, limit=10, lease_s=30, now=at(59.999)) == []
    assert await ops.next_due(conn, now=T0) == at(60)
    assert len(await ops.claim(conn, limit=10, lease_s=30, now=at(60))) == 1


async def test_each_claim_gets_a_fresh_lease_token(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {}) for _ in range(3)], now=T0)
    first = await ops.claim(conn, limit=2, lease_s=30, now=T0)
    [second] = await ops.claim(conn, limit=2, lease_s=30, now=T0)
    assert len({c.lease_token for c in first}) == 1
    assert second.lease_token != first[0].lease_token
    # Fencing is per item: another item's id with this claim's token matches nothing.
    assert await ops.complete(conn, [(second.id, first[0].lease_token)]) == set()


async def test_complete_deletes_only_held_items(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {}) for _ in range(3)], now=T0)
    a, b, c = await ops.claim(conn, limit=3, lease_s=30, now=T0)
    acked = await ops.complete(conn, [a.lease, (b.id, uuid4()), c.lease])
    assert acked == {a.id, c.id}
    assert await ops.pending_count(conn) == 1
    assert await ops.complete(conn, []) == set()


async def test_expired_lease_is_reclaimed_and_old_holder_is_fenced(
    conn: AsyncConnection[Any],
) -> None:
    [item_id] = await ops.enqueue(conn, [NewItem("k", {"v": 1})], now=T0)
    [old] = await ops.claim(conn, limit=1, lease_s=10, now=T0)
    # Still leased just before expiry, claimable at expiry.
    assert await ops.claim(conn, limit=1, lease_s=10, now=at(9.999)) == []
    [new] = await ops.claim(conn, limit=1, lease_s=10, now=at(10))
    assert new.id == item_id
    assert new.lease_token != old.lease_token
    assert new.attempt == 0  # an expired lease is not a counted attempt

    assert await ops.extend(conn, [old.lease], lease_s=100, now=at(11)) == set()
    assert await ops.retry(conn, old.id, old.lease_token, available_at=at(11)) is False
    assert await ops.release(conn, [old.lease], now=at(11)) == set()
    assert await ops.complete(conn, [old.lease]) == set()
    # The new holder's lease is untouched: its expiry still stands and its ack works.
    assert await ops.claim(conn, limit=1, lease_s=10, now=at(19.999)) == []
    assert await ops.next_due(conn, now=at(11)) == at(20)
    assert await ops.complete(conn, [new.lease]) == {item_id}
    assert await ops.pending_count(conn) == 0


async def test_extend_keeps_the_lease(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {})], now=T0)
    [held] = await ops.claim(conn, limit=1, lease_s=10, now=T0)
    assert await ops.extend(conn, [held.lease], lease_s=10, now=at(8)) == {held.id}
    assert await ops.claim(conn, limit=1, lease_s=10, now=at(17.999)) == []
    assert len(await ops.claim(conn, limit=1, lease_s=10, now=at(18))) == 1


async def test_retry_counts_an_attempt_and_delays(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {"v": 1})], now=T0)
    [held] = await ops.claim(conn, limit=1, lease_s=30, now=T0)
    assert await ops.retry(conn, held.id, held.lease_token, available_at=at(5)) is True
    assert await ops.claim(conn, limit=1, lease_s=30, now=at(4.999)) == []
    [again] = await ops.claim(conn, limit=1, lease_s=30, now=at(5))
    assert again.attempt == 1
    assert again.payload == {"v": 1}
    assert await ops.retry(conn, again.id, again.lease_token, available_at=at(5), payload={"v": 2})
    # The retried lease is gone: the token no longer fences anything.
    assert await ops.complete(conn, [again.lease]) == set()
    [third] = await ops.claim(conn, limit=1, lease_s=30, now=at(5))
    assert (third.attempt, third.payload) == (2, {"v": 2})


async def test_release_gives_items_back_without_an_attempt(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {"n": n}) for n in range(2)], now=T0)
    first, second = await ops.claim(conn, limit=2, lease_s=30, now=T0)
    assert await ops.release(conn, [first.lease, (second.id, uuid4())], now=at(1)) == {first.id}
    [again] = await ops.claim(conn, limit=10, lease_s=30, now=at(1))
    assert again.id == first.id
    assert again.attempt == 0
    assert await ops.release(conn, [], now=at(1)) == set()


async def test_delete_partition(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(
        conn,
        [
            NewItem("k", {}, partition_key="run-a"),
            NewItem("k", {}, partition_key="run-a", available_at=at(100)),
            NewItem("k", {}, partition_key="run-b"),
            NewItem("k", {}),
        ],
        now=T0,
    )
    assert await ops.count_partition(conn, "run-a", kinds=["k"]) == 2
    assert await ops.count_partition(conn, "run-a", kinds=["other"]) == 0
    assert await ops.delete_partition(conn, "run-a") == 2
    assert await ops.delete_partition(conn, "run-a") == 0
    assert await ops.pending_count(conn) == 2


async def test_next_due_across_priorities(conn: AsyncConnection[Any]) -> None:
    assert await ops.next_due(conn, now=T0) is None
    await ops.enqueue(
        conn,
        [
            NewItem("k", {}, priority=2, available_at=at(50)),
            NewItem("k", {}, priority=1, available_at=at(-5)),
            NewItem("k", {}, priority=-3, available_at=at(20)),
            NewItem("k", {}, priority=0, available_at=at(30)),
        ],
        now=T0,
    )
    assert await ops.next_due(conn, now=T0) == at(20)
    assert await ops.next_due(conn, now=at(20)) == at(30)
    assert await ops.next_due(conn, now=at(50)) is None


async def test_concurrent_claimers_never_share_an_item(
    conn: AsyncConnection[Any], connect: Connect
) -> None:
    total = 600
    for start in range(0, total, 100):
        await ops.enqueue(conn, [NewItem("k", {"n": n}) for n in range(start, start + 100)], now=T0)
    seen: list[list[int]] = []

    async def claimer() -> None:
        own = await connect()
        mine: list[int] = []
        seen.append(mine)
        while True:
            # In a transaction, so claims hold their row locks while others try the same rows.
            async with own.transaction():
                claimed = await ops.claim(own, limit=7, lease_s=300, now=T0)
            if not claimed:
                return
            mine.extend(c.id for c in claimed)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(claimer)
    everything = [item_id for mine in seen for item_id in mine]
    assert len(everything) == total
    assert len(set(everything)) == total


async def test_ack_in_the_callers_transaction_rolls_back(conn: AsyncConnection[Any]) -> None:
    await ops.enqueue(conn, [NewItem("k", {})], now=T0)
    [held] = await ops.claim(conn, limit=1, lease_s=30, now=T0)

    async with conn.transaction():
        assert await ops.complete(conn, [held.lease]) == {held.id}
        # Rollback leaves the block quietly and undoes everything in it, the ack included.
        raise psycopg.Rollback
    assert await ops.pending_count(conn) == 1
    assert await ops.complete(conn, [held.lease]) == {held.id}
