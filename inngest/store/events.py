"""Stored events: the write of an ingest and the reads of the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from inngest.db import named_sql, pool
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


async def get(conn: Conn, internal_id: str) -> dict[str, Any] | None:
    return await pool.fetch_dict(conn, _SQL["events_get"], {"internal_id": internal_id})


async def list_page(
    conn: Conn, *, name: str | None, cursor: str | None, limit: int
) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(
        conn, _SQL["events_list"], {"name": name, "cursor": cursor, "limit": limit}
    )
