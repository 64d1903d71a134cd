"""Pauses: the rows that waits, invokes and cancellation matchers live in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from inngest.db import named_sql, pool
from inngest.db.pool import Conn

_SQL = named_sql.load("inngest.store", "pauses.sql")

WAIT = "wait"
INVOKE = "invoke"
CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Candidate:
    id: uuid.UUID
    run_id: str
    kind: str
    step_id: str | None
    step_name: str | None
    event_name: str
    expression: str | None
    origin_event: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Consumed:
    id: uuid.UUID
    run_id: str
    kind: str
    step_id: str | None
    step_name: str | None
    timeout_item_id: int | None


@dataclass(frozen=True, slots=True)
class NewMatcher:
    """A cancelOn matcher stored when a run starts."""

    run_id: str
    event_name: str
    expression: str | None
    origin_event: dict[str, Any]
    expires_at: datetime


async def insert(
    conn: Conn,
    *,
    pause_id: uuid.UUID,
    run_id: str,
    kind: str,
    step_id: str,
    step_name: str,
    expires_at: datetime,
    timeout_item_id: int | None,
    now: datetime,
    event_name: str | None = None,
    expression: str | None = None,
    origin_event: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    await conn.execute(
        _SQL["pauses_insert"],
        {
            "id": pause_id,
            "run_id": run_id,
            "kind": kind,
            "step_id": step_id,
            "step_name": step_name,
            "event_name": event_name,
            "expression": expression,
            "origin_event": None if origin_event is None else Jsonb(origin_event),
            "correlation_id": correlation_id,
            "expires_at": expires_at,
            "timeout_item_id": timeout_item_id,
            "now": now,
        },
    )


async def insert_matchers(conn: Conn, matchers: Sequence[NewMatcher], *, now: datetime) -> None:
    if not matchers:
        return
    await conn.execute(
        _SQL["pauses_insert_many"],
        {
            "ids": [uuid.uuid4() for _ in matchers],
            "run_ids": [m.run_id for m in matchers],
            "kinds": [CANCEL] * len(matchers),
            "event_names": [m.event_name for m in matchers],
            "expressions": [m.expression for m in matchers],
            "origin_events": [Jsonb(m.origin_event) for m in matchers],
            "expires_ats": [m.expires_at for m in matchers],
            "now": now,
        },
    )


async def lock_names_shared(conn: Conn, names: Sequence[str]) -> None:
    await conn.execute(_SQL["pauses_lock_event_names_shared"], {"names": list(names)})


async def lock_name(conn: Conn, name: str) -> None:
    await conn.execute(_SQL["pauses_lock_event_name"], {"name": name})


async def candidates(conn: Conn, names: Sequence[str], *, now: datetime) -> list[Candidate]:
    cur = await conn.execute(_SQL["pauses_for_names"], {"names": list(names), "now": now})
    return [Candidate(*row) for row in await cur.fetchall()]


async def consume(conn: Conn, ids: Sequence[uuid.UUID]) -> list[Consumed]:
    if not ids:
        return []
    cur = await conn.execute(_SQL["pauses_consume"], {"ids": list(ids)})
    return [Consumed(*row) for row in await cur.fetchall()]


async def consume_correlation(conn: Conn, correlation_id: str) -> Consumed | None:
    cur = await conn.execute(_SQL["pauses_consume_correlation"], {"correlation_id": correlation_id})
    row = await cur.fetchone()
    return None if row is None else Consumed(*row)


async def delete_for_run(conn: Conn, run_id: str) -> None:
    await conn.execute(_SQL["pauses_delete_for_run"], {"run_id": run_id})


async def events_since(conn: Conn, name: str, since: datetime) -> list[dict[str, Any]]:
    cur = await conn.execute(_SQL["events_since"], {"name": name, "since": since})
    result = []
    for row in await cur.fetchall():
        event = {"name": row[0], "data": row[1], "id": row[2], "ts": row[3], "user": row[4]}
        if row[5] is not None:
            event["v"] = row[5]
        result.append(event)
    return result


async def for_run(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(conn, _SQL["pauses_for_run"], {"run_id": run_id})
