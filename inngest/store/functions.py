"""Reading functions: which ones an event triggers, and per-function statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inngest.db import named_sql, pool
from inngest.db.pool import Conn

_SQL = named_sql.load("inngest.store", "functions.sql")


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    """A function whose event trigger names an incoming event (expression not yet applied)."""

    function_id: uuid.UUID
    slug: str
    version: int
    config: dict[str, Any]
    event_name: str  # exact name, or the prefix of a wildcard
    wildcard: bool
    expression: str | None

    def names(self, event_name: str) -> bool:
        if self.wildcard:
            return event_name.startswith(self.event_name)
        return event_name == self.event_name


async def triggered_by(conn: Conn, names: Sequence[str]) -> list[TriggerMatch]:
    cur = await conn.execute(_SQL["functions_triggered_by"], {"names": list(names)})
    return [
        TriggerMatch(
            function_id=row[0],
            slug=row[1],
            version=row[2],
            config=row[3],
            expression=row[4],
            event_name=row[5],
            wildcard=row[6],
        )
        for row in await cur.fetchall()
    ]


async def by_slug(conn: Conn, slug: str) -> dict[str, Any] | None:
    return await pool.fetch_dict(conn, _SQL["functions_by_slug"], {"slug": slug})


async def list_with_stats(
    conn: Conn, *, since: datetime, include_archived: bool = False
) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(
        conn,
        _SQL["functions_list_with_stats"],
        {"since": since, "include_archived": include_archived},
    )
