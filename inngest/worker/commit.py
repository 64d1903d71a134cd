"""Apply decide()'s commands in one transaction fenced by the queue item's lease.

The item is deleted (or rescheduled) in the same transaction that records the step results
and queues the follow-ups: if the lease was taken over meanwhile, the fenced statement touches
no row, LeaseLost rolls everything back, and the new holder's answer is the one recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inngest.db.pool import Conn
from inngest.engine import decide as engine
from inngest.engine.run import RunStatus
from inngest.errors import LeaseLost
from inngest.ingest import items
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import runs


@dataclass(frozen=True, slots=True)
class Applied:
    enqueued: int  # follow-up items queued (a reason to wake other workers)
    finished: RunStatus | None


async def apply(
    conn: Conn,
    item: records.Claimed,
    decision: engine.Decision,
    *,
    request_version: int | None,
    attempt: runs.AttemptRecord | None,
    now: datetime,
) -> Applied:
    """Must be called inside ``conn.transaction()``; raises LeaseLost to roll it back."""
    run_id = str(item.payload["run_id"])
    locked = await runs.lock(conn, run_id)
    if locked is None or RunStatus(locked[0]).ended:
        # Cancelled or finished while we were calling: drop the item, record nothing else.
        await _ack(conn, item)
        return Applied(0, None)
    _, step_count, disable_immediate = locked

    retry = next((c for c in decision.commands if isinstance(c, engine.Retry)), None)
    if retry is not None:
        if not await queue.retry(conn, item.id, item.lease_token, available_at=retry.at):
            raise LeaseLost(item.id, str(item.lease_token))
    else:
        await _ack(conn, item)

    saves = [c for c in decision.commands if isinstance(c, engine.SaveStep)]
    added = await runs.save_steps(
        conn,
        run_id,
        [runs.StepRecord(s.step_id, s.name, s.op, s.memo, s.attempts) for s in saves],
        first_position=step_count,
        now=now,
    )

    follow_ups: list[records.NewItem] = []
    finished: RunStatus | None = None
    race = bool(item.payload.get("race"))
    for command in decision.commands:
        if isinstance(command, engine.PlanSteps):
            disable_immediate = True
            follow_ups.extend(
                items.planned(run_id, step_id, name, race=command.race, now=now)
                for step_id, name in command.steps
            )
        elif isinstance(command, engine.Wake):
            follow_ups.append(items.wake(run_id, command.step_id, command.name, at=command.at))
        elif isinstance(command, engine.Discover):
            # Coalesce a parallel group: only the last sibling to settle calls discovery
            # (the run lock makes "last" well defined). Race mode calls after each one.
            if command.coalesce and not race:
                pending = await queue.count_partition(conn, run_id, kinds=items.GROUP_KINDS)
                if pending:
                    continue
                disable_immediate = False
            follow_ups.append(items.discovery(run_id, now=now))
        elif isinstance(command, engine.Finish):
            ended = await runs.finish(
                conn,
                run_id,
                status=command.status.value,
                output=command.output,
                error=command.error,
                now=now,
            )
            if ended:
                finished = command.status
                # A finished run leaves nothing behind in the hot queue table.
                await queue.delete_partition(conn, run_id)

    if follow_ups and finished is None:
        await queue.enqueue(conn, follow_ups, now=now)
    await runs.update_progress(
        conn,
        run_id,
        request_version=request_version,
        disable_immediate=disable_immediate,
        added_steps=added,
        now=now,
    )
    if attempt is not None:
        await runs.record_attempt(conn, attempt)
    return Applied(len(follow_ups) if finished is None else 0, finished)


async def _ack(conn: Conn, item: records.Claimed) -> None:
    acked = await queue.complete(conn, [(item.id, item.lease_token)])
    if item.id not in acked:
        raise LeaseLost(item.id, str(item.lease_token))
