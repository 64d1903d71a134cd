"""Cancelling a run from outside (API, bulk cancellation)."""

from __future__ import annotations

from datetime import datetime

from inngest.db.pool import Conn
from inngest.engine.run import RunStatus
from inngest.errors import NotFound
from inngest.ingest.finish import finish_run
from inngest.store import runs


async def cancel_run(conn: Conn, run_id: str, *, reason: str, now: datetime) -> bool:
    """Cancel ``run_id`` in the caller's transaction; False when it had already ended.

    A call in flight for the run may still return; its commit finds the run ended and records
    nothing, so a cancelled run makes no further progress.
    """
    locked = await runs.lock(conn, run_id)
    if locked is None:
        raise NotFound("run", run_id)
    if RunStatus(locked[0]).ended:
        return False
    state = await runs.load_for_call(conn, run_id)
    assert state is not None
    return await finish_run(
        conn,
        run_id=run_id,
        function_slug=state.function_slug,
        events=state.events,
        status=RunStatus.CANCELLED,
        output=None,
        error=None,
        now=now,
        cancelled_by=reason,
    )
