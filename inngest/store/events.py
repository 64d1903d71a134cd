"""Stored events: the write of an ingest and the reads of the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from inngest.db import named_sql
from inngest.db.pool import Conn
from inngest.protocol.events import Event

_SQL = named_sql.load("inngest.store", "events.sql")


async def insert(conn: Conn, events: Sequence[Event], *, now: datetime) -> None:
    """One statement for the whole request: per-row round trips would cap ingest rates."""
    if not events:
        return
    await conn.execute(
        _SQL["events_insert"],
        {
            "internal_ids": [e.internal_id for e in events],
            "ids": [e.id for e in events],
            "names": [e.name for e in events],
            "datas": [Jsonb(e.data) for e in events],
            "tss": [e.ts for e in events],
            "users": [Jsonb(e.user) for e in events],
            "vs": [e.v for e in events],
            "nows": [now] * len(events),
        },
    )


def _rows(cur: Any, rows: list[Any]) -> list[dict[str, Any]]:
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def get(conn: Conn, internal_id: str) -> dict[str, Any] | None:
    cur = await conn.execute(_SQL["events_get"], {"internal_id": internal_id})
    row = await cur.fetchone()
    return None if row is None else _rows(cur, [row])[0]


async def list_page(
    conn: Conn, *, name: str | None, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    cur = await conn.execute(_SQL["events_list"], {"name": name, "cursor": cursor, "limit": limit})
    return _rows(cur, await cur.fetchall())
