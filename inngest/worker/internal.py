"""Queue items that need no SDK call: sleeps ending, waits and invokes resolving, pause
deadlines, cancellations and run timeouts. Each becomes a decision applied like a call's."""

from __future__ import annotations

import uuid
from typing import Any

from inngest.db.pool import Conn
from inngest.engine import decide as engine
from inngest.engine.run import RunStatus
from inngest.ingest import items
from inngest.queue import records
from inngest.store import pauses
from inngest.worker.commit import Decider

INVOKE_TIMEOUT_ERROR = {
    "name": "InngestInvokeTimeoutError",
    "message": "Timed out waiting for invoked function to complete",
}


def decision_for(item: records.Claimed) -> engine.Decision | Decider:
    payload = item.payload
    if item.kind == items.WAKE:
        step_id = str(payload["step_id"])
        return _resume(step_id, str(payload.get("name") or step_id), "Sleep", None)
    if item.kind == items.RESUME:
        step_id = str(payload["step_id"])
        return _resume(
            step_id, str(payload.get("name") or step_id), str(payload["op"]), payload["memo"]
        )
    if item.kind == items.PAUSE_TIMEOUT:
        return _pause_deadline(uuid.UUID(str(payload["pause_id"])))
    if item.kind == items.CANCEL:
        reason = str(payload.get("reason") or "cancelled")
        return engine.Decision(
            (engine.Finish(RunStatus.CANCELLED, cancelled_by=reason),), "cancelled"
        )
    if item.kind == items.RUN_TIMEOUT:
        return _run_timeout(str(payload["which"]))
    raise ValueError(f"not an internal item kind: {item.kind}")


def _resume(step_id: str, name: str, op: str, memo: Any) -> engine.Decision:
    return engine.Decision(
        (engine.SaveStep(step_id, name, op, memo, 1), engine.Discover(coalesce=True)), "resume"
    )


def _pause_deadline(pause_id: uuid.UUID) -> Decider:
    async def decide(conn: Conn, status: RunStatus) -> engine.Decision:
        consumed = await pauses.consume(conn, [pause_id])
        if not consumed or consumed[0].step_id is None:
            # Already resolved by an event or a result (which won the DELETE), or a matcher.
            return engine.Decision((), "noop")
        pause = consumed[0]
        name = pause.step_name or pause.step_id or ""
        if pause.kind == pauses.INVOKE:
            return _resume(
                pause.step_id or "", name, "InvokeFunction", {"error": INVOKE_TIMEOUT_ERROR}
            )
        return _resume(pause.step_id or "", name, "WaitForEvent", None)

    return decide


def _run_timeout(which: str) -> Decider:
    async def decide(conn: Conn, status: RunStatus) -> engine.Decision:
        # start: the run never began its first call in time; finish: it ran too long.
        if (which == "start" and status is RunStatus.SCHEDULED) or (
            which == "finish" and not status.ended
        ):
            finish = engine.Finish(RunStatus.CANCELLED, cancelled_by=f"timeouts.{which}")
            return engine.Decision((finish,), "cancelled")
        return engine.Decision((), "noop")

    return decide
