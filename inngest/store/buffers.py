"""Pending debounces and open event batches (PROTOCOL.md §6.10, §6.11), one row per function
and key value. Callers serialise the writers of one buffer with ``lock`` first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inngest.db import named_sql
from inngest.db.pool import Conn

_SQL = named_sql.load("inngest.store", "buffers.sql")


@dataclass(frozen=True, slots=True)
class Debounce:
    function_id: uuid.UUID
    key_hash: str
    id: str  # the debounce id: its run's idempotency key
    event_id: str  # internal id of the latest event
    first_at: datetime
    due_at: datetime
    item_id: int  # the queue item that fires at due_at


@dataclass(frozen=True, slots=True)
class Batch:
    function_id: uuid.UUID
    key_hash: str
    id: str  # the batch id: its run's idempotency key
    event_ids: tuple[str, ...]  # internal ids, in arrival order
    created_at: datetime
    item_id: int  # the queue item that flushes the batch at its timeout


@dataclass(frozen=True, slots=True)
class Function:
    id: uuid.UUID
    version: int
    config: dict[str, Any]
    archived: bool


async def lock(conn: Conn, lock_key: str) -> None:
    """Take the transaction-scoped lock of one buffer (released at commit or rollback)."""
    await conn.execute(_SQL["buffers_lock"], {"lock_key": lock_key})


async def debounce_get(conn: Conn, function_id: uuid.UUID, key_hash: str) -> Debounce | None:
    cur = await conn.execute(
        _SQL["debounces_get"], {"function_id": function_id, "key_hash": key_hash}
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return Debounce(function_id, key_hash, row[0], row[1], row[2], row[3], row[4])


async def debounce_put(conn: Conn, debounce: Debounce) -> None:
    await conn.execute(
        _SQL["debounces_put"],
        {
            "function_id": debounce.function_id,
            "key_hash": debounce.key_hash,
            "id": debounce.id,
            "event_id": debounce.event_id,
            "first_at": debounce.first_at,
            "due_at": debounce.due_at,
            "item_id": debounce.item_id,
        },
    )


async def debounce_delete(conn: Conn, function_id: uuid.UUID, key_hash: str) -> None:
    await conn.execute(_SQL["debounces_delete"], {"function_id": function_id, "key_hash": key_hash})


async def batch_get(conn: Conn, function_id: uuid.UUID, key_hash: str) -> Batch | None:
    cur = await conn.execute(
        _SQL["event_batches_get"], {"function_id": function_id, "key_hash": key_hash}
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return Batch(function_id, key_hash, row[0], tuple(row[1]), row[2], row[3])


async def batch_put(conn: Conn, batch: Batch) -> None:
    await conn.execute(
        _SQL["event_batches_put"],
        {
            "function_id": batch.function_id,
            "key_hash": batch.key_hash,
            "id": batch.id,
            "event_ids": list(batch.event_ids),
            "created_at": batch.created_at,
            "item_id": batch.item_id,
        },
    )


async def batch_delete(conn: Conn, function_id: uuid.UUID, key_hash: str) -> None:
    await conn.execute(
        _SQL["event_batches_delete"], {"function_id": function_id, "key_hash": key_hash}
    )


async def function(conn: Conn, function_id: uuid.UUID) -> Function | None:
    """The function as it is now (a flush starts its run with the current version)."""
    cur = await conn.execute(_SQL["buffers_function"], {"function_id": function_id})
    row = await cur.fetchone()
    if row is None:
        return None
    return Function(row[0], row[1], row[2], row[3] is not None)


async def events_wire(conn: Conn, internal_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored events by internal id, in the shape SDKs receive; absent ids are left out."""
    if not internal_ids:
        return {}
    cur = await conn.execute(_SQL["buffers_events"], {"internal_ids": list(internal_ids)})
    return {row[0]: row[1] for row in await cur.fetchall()}
