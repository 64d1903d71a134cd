"""Apps and their functions: what a sync writes, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from inngest.db import named_sql, pool
from inngest.db.pool import Conn
from inngest.protocol import register

_SQL = named_sql.load("inngest.store", "apps.sql")


@dataclass(frozen=True, slots=True)
class SyncResult:
    app_id: uuid.UUID
    modified: bool
    archived: tuple[str, ...]  # slugs of functions gone from the app


async def sync(conn: Conn, app: register.AppSync, now: datetime) -> SyncResult:
    """Upsert the app, replace its function set and archive what disappeared.

    Must run inside the caller's transaction: the app row lock serialises two syncs of one app.
    """
    cur = await conn.execute(_SQL["apps_lock_by_name"], {"name": app.app_name})
    existing = await cur.fetchone()
    if existing is not None and existing[1] == app.checksum and existing[2] == app.url:
        await conn.execute(_SQL["apps_touch"], {"id": existing[0], "now": now})
        return SyncResult(existing[0], False, ())
    cur = await conn.execute(
        _SQL["apps_upsert"],
        {
            "id": uuid.uuid4(),
            "name": app.app_name,
            "url": app.url,
            "sdk_language": app.sdk_language,
            "sdk_version": app.sdk_version,
            "framework": app.framework,
            "app_version": app.app_version,
            "checksum": app.checksum,
            "now": now,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    app_id: uuid.UUID = row[0]

    function_ids: list[uuid.UUID] = []
    trigger_rows: list[tuple[uuid.UUID, str, bool, str | None]] = []
    for fn in app.functions:
        cur = await conn.execute(
            _SQL["functions_upsert"],
            {
                "id": uuid.uuid4(),
                "app_id": app_id,
                "slug": fn.slug,
                "name": fn.name,
                "url": fn.url,
                "max_attempts": fn.max_attempts,
                "config": Jsonb(fn.config),
                "now": now,
            },
        )
        fn_row = await cur.fetchone()
        assert fn_row is not None
        function_ids.append(fn_row[0])
        for trigger in fn.triggers:
            if trigger.event is None:
                continue  # cron triggers are scheduled elsewhere
            wildcard = trigger.event.endswith("*")
            name = trigger.event[:-1] if wildcard else trigger.event
            trigger_rows.append((fn_row[0], name, wildcard, trigger.expression))

    cur = await conn.execute(
        _SQL["functions_archive_missing"],
        {"app_id": app_id, "slugs": [fn.slug for fn in app.functions], "now": now},
    )
    archived = await cur.fetchall()
    await conn.execute(
        _SQL["triggers_delete_for"],
        {"function_ids": function_ids + [r[0] for r in archived]},
    )
    if trigger_rows:
        await conn.execute(
            _SQL["triggers_insert"],
            {
                "function_ids": [r[0] for r in trigger_rows],
                "event_names": [r[1] for r in trigger_rows],
                "wildcards": [r[2] for r in trigger_rows],
                "expressions": [r[3] for r in trigger_rows],
            },
        )
    return SyncResult(app_id, True, tuple(r[1] for r in archived))


async def record_error(conn: Conn, url: str, error: str) -> None:
    await conn.execute(_SQL["apps_set_error"], {"url": url, "error": error})


async def list_all(conn: Conn) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(conn, _SQL["apps_list"])


async def urls(conn: Conn) -> list[str]:
    cur = await conn.execute(_SQL["apps_urls"])
    return [row[0] for row in await cur.fetchall()]
