"""Resolving a parent run's `step.invoke` when its child ends (or never starts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inngest.db.pool import Conn
from inngest.ingest import items
from inngest.queue import ops as queue
from inngest.store import pauses

INVOKED = "inngest/function.invoked"


def correlation_id(event: dict[str, Any]) -> str | None:
    """The `<parent run>.<step>` id an invoked run's event carries, if it is one."""
    if event.get("name") != INVOKED:
        return None
    data = event.get("data")
    meta = data.get("_inngest") if isinstance(data, dict) else None
    value = meta.get("correlation_id") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


async def resolve(conn: Conn, correlation: str, memo: dict[str, Any], *, now: datetime) -> bool:
    """Resume the parent with ``memo``; False when it had already timed out or ended."""
    pause = await pauses.consume_correlation(conn, correlation)
    if pause is None or pause.step_id is None:
        return False
    if pause.timeout_item_id is not None:
        await queue.delete_items(conn, [pause.timeout_item_id])
    await queue.enqueue(
        conn,
        [
            items.resume(
                pause.run_id,
                pause.step_id,
                pause.step_name or pause.step_id,
                "InvokeFunction",
                memo,
                now=now,
            )
        ],
        now=now,
    )
    return True
