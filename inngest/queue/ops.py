"""The queue's operations: enqueue, claim, extend, complete, retry, release, and small queries.

Every function takes a psycopg ``AsyncConnection`` and runs exactly one statement on it; the caller
owns the transaction, so an ack can commit together with the caller's other writes. Time comes in
as ``now`` (never the database clock), so leases and delays follow the injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection
from psycopg.rows import TupleRow, tuple_row
from psycopg.types.json import Jsonb

from inngest.db import named_sql
from inngest.queue.records import Claimed, NewItem

SQL = named_sql.load("inngest.queue", "queries.sql")

Lease = tuple[int, UUID]
Conn = AsyncConnection[Any]


async def _rows(conn: Conn, name: str, params: dict[str, Any]) -> list[TupleRow]:
    # A tuple-row cursor whatever the connection's row factory, so callers may use dict rows.
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(SQL[name], params)
        return await cur.fetchall()


async def _rowcount(conn: Conn, name: str, params: dict[str, Any]) -> int:
    async with conn.cursor(row_factory=tuple_row) as cur:
        # In pipeline mode the row count exists only once the pipeline syncs; leaving an inner
        # pipeline block syncs (and costs nothing extra outside pipeline mode).
        async with conn.pipeline():
            await cur.execute(SQL[name], params)
        return cur.rowcount


def _lease_arrays(leases: Sequence[Lease]) -> dict[str, Any]:
    # Array literals built here cost a join; psycopg's list dumper quotes element by element in
    # Python, which is most of an ack's client CPU at large batches. Ints and uuids need no quoting.
    return {
        "ids": "{" + ",".join([str(item_id) for item_id, _ in leases]) + "}",
        "tokens": "{" + ",".join([str(token) for _, token in leases]) + "}",
    }


async def enqueue(conn: Conn, items: Sequence[NewItem], *, now: datetime) -> list[int]:
    """Insert ``items`` in one statement; return their ids in input order."""
    if not items:
        return []
    rows = await _rows(
        conn,
        "queue_enqueue",
        {
            "kinds": [item.kind for item in items],
            "payloads": [Jsonb(item.payload) for item in items],
            "priorities": [item.priority for item in items],
            "available_ats": [item.available_at or now for item in items],
            "partition_keys": [item.partition_key for item in items],
            "group_keys": [item.group_key for item in items],
        },
    )
    # Identity values ascend in insertion order within one statement; RETURNING order does not
    # promise it, so sort.
    return sorted(row[0] for row in rows)


async def claim(
    conn: Conn,
    *,
    limit: int,
    lease_s: float,
    now: datetime,
    kinds: Sequence[str] | None = None,
    fair: bool = False,
) -> list[Claimed]:
    """Lease up to ``limit`` due items (or expired leases) in one round trip. The plain claim
    goes by priority descending, then due time, then id; a ``fair`` claim goes round-robin
    across fairness groups first. ``kinds`` restricts the claim to those kinds."""
    if limit <= 0:
        return []
    token = uuid4()
    rows = await _rows(
        conn,
        "queue_claim_fair" if fair else "queue_claim",
        {
            "now": now,
            "lease_until": now + timedelta(seconds=lease_s),
            "limit": limit,
            "lease_token": token,
            "kinds": list(kinds) if kinds is not None else None,
        },
    )
    return [
        Claimed(row[0], row[1], row[2], row[3], row[4], token, row[5], row[6], row[7])
        for row in rows
    ]


@dataclass
class ClaimPolicy:
    """When to pay for a fair claim. Under a backlog (the last claim came back full) fair and
    plain claims alternate, so one group's backlog still yields to other groups every other
    claim; otherwise every claim is fair (an unsaturated queue has time for it)."""

    _fair: bool = True

    def fair(self) -> bool:
        return self._fair

    def observe(self, claimed: int, limit: int) -> None:
        self._fair = not self._fair if claimed >= limit else True


async def extend(conn: Conn, leases: Sequence[Lease], *, lease_s: float, now: datetime) -> set[int]:
    """Push the leases' expiry to ``now + lease_s``; return the ids still held."""
    if not leases:
        return set()
    params = _lease_arrays(leases)
    params["lease_until"] = now + timedelta(seconds=lease_s)
    return {row[0] for row in await _rows(conn, "queue_extend", params)}


async def complete(conn: Conn, leases: Sequence[Lease]) -> set[int]:
    """Delete the items still held under these leases; return their ids. A missing id means its
    lease was lost (taken over, or the item was deleted): that holder's work must not commit."""
    if not leases:
        return set()
    return {row[0] for row in await _rows(conn, "queue_complete", _lease_arrays(leases))}


async def retry(
    conn: Conn,
    item_id: int,
    lease_token: UUID,
    *,
    available_at: datetime,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Count an attempt, drop the lease and make the item due at ``available_at``, optionally with
    a new payload. False when the lease was lost."""
    count = await _rowcount(
        conn,
        "queue_retry",
        {
            "id": item_id,
            "lease_token": lease_token,
            "available_at": available_at,
            "payload": Jsonb(payload) if payload is not None else None,
        },
    )
    return count == 1


async def release(conn: Conn, leases: Sequence[Lease], *, now: datetime) -> set[int]:
    """Give held items back at once without counting an attempt (e.g. on shutdown); return the
    ids released."""
    if not leases:
        return set()
    params = _lease_arrays(leases)
    params["now"] = now
    return {row[0] for row in await _rows(conn, "queue_release", params)}


async def delete_partition(conn: Conn, partition_key: str) -> int:
    """Delete every item of a partition, held or not (a holder's later ack then finds its lease
    lost); return how many."""
    return await _rowcount(conn, "queue_delete_partition", {"partition_key": partition_key})


async def pending_count(conn: Conn) -> int:
    """Items in the queue: due, scheduled for later, or held."""
    rows = await _rows(conn, "queue_pending_count", {})
    return int(rows[0][0])


async def next_due(conn: Conn, *, now: datetime) -> datetime | None:
    """The earliest ``available_at`` after ``now`` (a future item or a lease's expiry), so a poller
    can sleep until then; None when nothing is scheduled."""
    rows = await _rows(conn, "queue_next_due", {"now": now})
    moment: datetime | None = rows[0][0]
    return moment


async def count_partition(conn: Conn, partition_key: str, *, kinds: Sequence[str]) -> int:
    """Items of the given kinds left in a partition (held or not)."""
    rows = await _rows(
        conn, "queue_count_partition", {"partition_key": partition_key, "kinds": list(kinds)}
    )
    return int(rows[0][0])


async def delete_items(conn: Conn, ids: Sequence[int]) -> int:
    """Delete items by id whoever holds them (a holder's later ack then finds its lease lost)."""
    if not ids:
        return 0
    return await _rowcount(conn, "queue_delete_items", {"ids": list(ids)})


async def partition_items(conn: Conn, partition_key: str) -> list[dict[str, Any]]:
    """A partition's items (held or not), soonest first: what a run is waiting for."""
    names = (
        "id",
        "kind",
        "payload",
        "priority",
        "attempt",
        "available_at",
        "leased",
        "created_at",
        "gate_key",
    )
    rows = await _rows(conn, "queue_partition_items", {"partition_key": partition_key})
    return [dict(zip(names, row, strict=True)) for row in rows]


async def park(
    conn: Conn,
    item_id: int,
    lease_token: UUID,
    *,
    available_at: datetime,
    gate_key: str | None,
    gate_order: datetime | None = None,
) -> bool:
    """Give a held item back, not counting an attempt, parked behind ``gate_key`` (a resource
    it waits for) until ``available_at``; False when the lease was lost."""
    params = {
        "id": item_id,
        "lease_token": lease_token,
        "available_at": available_at,
        "gate_key": gate_key,
        "gate_order": gate_order,
    }
    return await _rowcount(conn, "queue_park", params) == 1


async def open_gate(conn: Conn, gate_key: str, *, now: datetime, count: int = 1) -> int:
    """Make up to ``count`` items parked behind ``gate_key`` due now; returns how many."""
    rows = await _rows(conn, "queue_open_gate", {"gate_key": gate_key, "now": now, "count": count})
    return len(rows)


async def enqueue_leased(conn: Conn, item: NewItem, *, lease_s: float, now: datetime) -> Claimed:
    """Insert ``item`` already claimed by the caller (a fresh lease), and return the claim."""
    token = uuid4()
    rows = await _rows(
        conn,
        "queue_enqueue_leased",
        {
            "kind": item.kind,
            "payload": Jsonb(item.payload),
            "priority": item.priority,
            "lease_until": now + timedelta(seconds=lease_s),
            "partition_key": item.partition_key,
            "group_key": item.group_key,
            "lease_token": token,
            "now": now,
        },
    )
    item_id, created_at = rows[0][0], rows[0][1]
    return Claimed(
        item_id, item.kind, item.payload, item.priority, 0, token, item.partition_key, created_at
    )
