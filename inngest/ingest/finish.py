"""Ending a run: its status, cleanup, the parent's invoke, and the lifecycle events.

Used by the worker (a run completes or fails) and by the API (a run is cancelled), always in
the caller's transaction and after the run row is locked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from inngest.clock import to_ms
from inngest.db.pool import Conn
from inngest.engine.run import RunStatus
from inngest.ingest import flow, parent
from inngest.ingest.events import ingest
from inngest.protocol.events import Event, new_event
from inngest.queue import ops as queue
from inngest.store import pauses, runs

FINISHED = "inngest/function.finished"
FAILED = "inngest/function.failed"
CANCELLED = "inngest/function.cancelled"
# Runs triggered by lifecycle events emit none themselves: a failure handler that fails must not
# trigger failure handlers forever.
_LIFECYCLE = frozenset({FINISHED, FAILED, CANCELLED})
CANCELLED_ERROR = {"name": "Error", "message": "function run was cancelled"}


async def finish_run(
    conn: Conn,
    *,
    run_id: str,
    function_slug: str,
    events: Sequence[dict[str, Any]],
    status: RunStatus,
    output: Any,
    error: dict[str, Any] | None,
    now: datetime,
    cancelled_by: str | None = None,
    limiter: flow.RateLimiter | None = None,
) -> bool:
    """End the run if it has not ended; False when something else ended it first."""
    ended = await runs.finish(
        conn,
        run_id,
        status=status.value,
        output=output,
        error=error,
        now=now,
        cancelled_by=cancelled_by,
    )
    if not ended:
        return False
    summary: dict[str, Any] = {"output": output} if status is RunStatus.COMPLETED else {}
    if error is not None:
        summary["error"] = error
    if cancelled_by is not None:
        summary["cancelled_by"] = cancelled_by
    await runs.add_history(
        conn, [runs.HistoryEntry(run_id, now, f"run.{status.value.lower()}", data=summary)]
    )
    # A finished run leaves nothing behind in the hot queue table, and no pause.
    await queue.delete_partition(conn, run_id)
    await pauses.delete_for_run(conn, run_id)
    first = dict(events[0]) if events else {}
    correlation_id = parent.correlation_id(first)
    if correlation_id is not None:
        await parent.resolve(conn, correlation_id, _invoke_memo(status, output, error), now=now)
    if first.get("name") not in _LIFECYCLE:
        emitted = lifecycle_events(
            run_id, function_slug, events, status, output, error, correlation_id, now=now
        )
        await ingest(conn, emitted, now=now, limiter=limiter)
    return True


def _invoke_memo(status: RunStatus, output: Any, error: dict[str, Any] | None) -> dict[str, Any]:
    """What the parent's step.invoke receives when the child ends."""
    if status is RunStatus.COMPLETED:
        return {"data": output}
    if status is RunStatus.CANCELLED:
        return {"error": CANCELLED_ERROR}
    return {"error": error or {"name": "Error", "message": "invoked function failed"}}


def lifecycle_events(
    run_id: str,
    function_slug: str,
    events: Sequence[dict[str, Any]],
    status: RunStatus,
    output: Any,
    error: dict[str, Any] | None,
    correlation_id: str | None,
    *,
    now: datetime,
) -> list[Event]:
    """`inngest/function.finished`, plus `failed` or `cancelled` (PROTOCOL.md §4.6, §6.3)."""
    data: dict[str, Any] = {
        "function_id": function_slug,
        "run_id": run_id,
        "event": dict(events[0]) if events else {},
        "events": [dict(e) for e in events],
    }
    if status is RunStatus.COMPLETED:
        data["result"] = output
    elif status is RunStatus.FAILED:
        data["error"] = error or {"name": "Error", "message": "function failed"}
    if correlation_id is not None:
        data["correlation_id"] = correlation_id
    now_ms = to_ms(now)
    emitted = [new_event(FINISHED, {**data, "_inngest": {"status": status.value}}, now_ms=now_ms)]
    if status is RunStatus.FAILED:
        emitted.append(
            new_event(
                FAILED, {**data, "_inngest": {"status": status.value}}, now_ms=now_ms, id=run_id
            )
        )
    elif status is RunStatus.CANCELLED:
        emitted.append(
            new_event(
                CANCELLED, {**data, "_inngest": {"status": status.value}}, now_ms=now_ms, id=run_id
            )
        )
    return emitted
