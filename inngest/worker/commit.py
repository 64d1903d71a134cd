"""Apply decide()'s commands in one transaction fenced by the queue item's lease.

The item is deleted (or rescheduled) in the same transaction that records the step results
and queues the follow-ups: if the lease was taken over meanwhile, the fenced statement touches
no row, LeaseLost rolls everything back, and the new holder's answer is the one recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inngest.clock import to_ms
from inngest.db.pool import Conn
from inngest.engine import decide as engine
from inngest.engine.run import RunStatus
from inngest.errors import LeaseLost
from inngest.expr import evaluate_bool
from inngest.ingest import finish, flow, items
from inngest.ingest.events import INVOKED, ingest
from inngest.protocol.events import new_event
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import functions, pauses, runs


@dataclass(frozen=True, slots=True)
class Applied:
    enqueued: int  # follow-up items queued (a reason to wake other workers)
    finished: RunStatus | None
    # The run's next call, already claimed by this worker: executing it at once saves a trip
    # through the claimer (and halves how late a sleep's end is seen).
    continuation: records.Claimed | None = None


@dataclass
class _Txn:
    """What the commands of one decision accumulate before the final writes."""

    run_id: str
    step_count: int
    disable_immediate: bool
    saves: list[runs.StepRecord]
    follow_ups: list[records.NewItem]
    finished: RunStatus | None = None
    group: str = ""  # the function's slug: its fairness group in the queue
    added: int = 0
    added_bytes: int = 0
    history: list[runs.HistoryEntry] = field(default_factory=list)

    def note(
        self,
        at: datetime,
        kind: str,
        step: str | None = None,
        name: str | None = None,
        attempt: int | None = None,
        data: Any = None,
    ) -> None:
        self.history.append(runs.HistoryEntry(self.run_id, at, kind, step, name, attempt, data))


Decider = Callable[[Conn, RunStatus], Awaitable[engine.Decision]]


async def apply(
    conn: Conn,
    item: records.Claimed,
    decision: engine.Decision | Decider,
    *,
    state: runs.CallState,
    call_started_at: datetime,
    request_version: int | None,
    attempt: runs.AttemptRecord | None,
    now: datetime,
    limiter: flow.RateLimiter | None = None,
    continue_lease_s: float | None = None,
) -> Applied:
    """Must be called inside ``conn.transaction()``; raises LeaseLost to roll it back."""
    run_id = state.run_id
    locked = await runs.lock(conn, run_id)
    if locked is None or RunStatus(locked[0]).ended:
        # Cancelled or finished while we were calling: drop the item, record nothing else.
        await _ack(conn, item)
        return Applied(0, None)
    status, step_count, disable_immediate = locked
    if not isinstance(decision, engine.Decision):
        # Decisions that depend on rows only stable under the run lock (a pause's fate, the
        # run's status for timeouts) are made here, after the lock.
        decision = await decision(conn, RunStatus(status))

    txn = _Txn(run_id, step_count, disable_immediate, [], [], group=state.function_slug)
    retry = next((c for c in decision.commands if isinstance(c, engine.Retry)), None)
    if retry is not None:
        if not await queue.retry(conn, item.id, item.lease_token, available_at=retry.at):
            raise LeaseLost(item.id, str(item.lease_token))
        target = item.payload.get("step_id")
        txn.note(
            now,
            "attempt.failed",
            target,
            item.payload.get("name"),
            item.attempt,
            {"error": decision.error, "retry_at": retry.at.isoformat()},
        )
    else:
        await _ack(conn, item)
    race = bool(item.payload.get("race"))
    for command in decision.commands:
        if isinstance(command, engine.SaveStep):
            txn.saves.append(
                runs.StepRecord(
                    command.step_id, command.name, command.op, command.memo, command.attempts
                )
            )
            txn.note(
                now,
                _step_kind(command.op, command.memo),
                command.step_id,
                command.name,
                command.attempts,
                command.memo,
            )
        elif isinstance(command, engine.PlanSteps):
            txn.note(now, "steps.planned", data={"steps": [n for _, n in command.steps]})
            txn.disable_immediate = True
            txn.follow_ups.extend(
                items.planned(run_id, step_id, name, race=command.race, now=now, group=txn.group)
                for step_id, name in command.steps
            )
        elif isinstance(command, engine.Wake):
            txn.note(
                now,
                "sleep.started",
                command.step_id,
                command.name,
                data={"until": command.at.isoformat()},
            )
            txn.follow_ups.append(
                items.wake(run_id, command.step_id, command.name, at=command.at, group=txn.group)
            )
        elif isinstance(command, engine.Wait):
            await _wait(conn, txn, state, command, since=call_started_at, now=now)
        elif isinstance(command, engine.Invoke):
            await _invoke(conn, txn, state, command, now=now, limiter=limiter)
        elif isinstance(command, engine.Discover):
            await _discover(conn, txn, coalesce=command.coalesce and not race, now=now)
        elif isinstance(command, engine.Finish):
            await _save(conn, txn, now=now)
            ended = await finish.finish_run(
                conn,
                run_id=run_id,
                function_slug=state.function_slug,
                events=state.events,
                status=command.status,
                output=command.output,
                error=command.error,
                now=now,
                cancelled_by=command.cancelled_by,
                limiter=limiter,
            )
            if ended:
                txn.finished = command.status

    await _save(conn, txn, now=now)
    continuation = await _enqueue(conn, txn, continue_lease_s, now=now)
    await runs.update_progress(
        conn,
        run_id,
        request_version=request_version,
        disable_immediate=txn.disable_immediate,
        added_steps=txn.added,
        added_bytes=txn.added_bytes,
        now=now,
    )
    if attempt is not None:
        await runs.record_attempt(conn, attempt)
    await runs.add_history(conn, txn.history)
    enqueued = len(txn.follow_ups) if txn.finished is None else 0
    # Lifecycle events of a finished run may have started runs or resumed parents elsewhere.
    return Applied(enqueued + (1 if txn.finished is not None else 0), txn.finished, continuation)


async def _enqueue(
    conn: Conn, txn: _Txn, continue_lease_s: float | None, *, now: datetime
) -> records.Claimed | None:
    """Queue the follow-ups; the run's next call, if due now, comes back already claimed."""
    if txn.finished is not None:
        return None
    continuation = None
    if continue_lease_s is not None:
        nxt = next((f for f in txn.follow_ups if _continuable(f, now)), None)
        if nxt is not None:
            txn.follow_ups.remove(nxt)
            continuation = await queue.enqueue_leased(conn, nxt, lease_s=continue_lease_s, now=now)
    if txn.follow_ups:
        await queue.enqueue(conn, txn.follow_ups, now=now)
    return continuation


def _continuable(item: records.NewItem, now: datetime) -> bool:
    return item.kind in (items.CALL, items.PLANNED) and (item.available_at or now) <= now


def _step_kind(op: str, memo: Any) -> str:
    failed = isinstance(memo, dict) and set(memo) == {"error"}
    if op == "Sleep":
        return "sleep.completed"
    if op == "WaitForEvent":
        return "wait.timed_out" if memo is None else "wait.matched"
    if op == "InvokeFunction":
        return "invoke.failed" if failed else "invoke.completed"
    return "step.failed" if failed else "step.completed"


async def _save(conn: Conn, txn: _Txn, *, now: datetime) -> None:
    if not txn.saves:
        return
    added = await runs.save_steps(
        conn, txn.run_id, txn.saves, first_position=txn.step_count, now=now
    )
    txn.step_count += added.count
    txn.added += added.count
    txn.added_bytes += added.bytes
    txn.saves = []


async def _discover(conn: Conn, txn: _Txn, *, coalesce: bool, now: datetime) -> None:
    # Coalesce a parallel group: only the last member to settle calls discovery (the run lock
    # makes "last" well defined). Race mode calls after each one.
    if coalesce:
        pending = await queue.count_partition(conn, txn.run_id, kinds=items.GROUP_KINDS)
        pending -= sum(1 for f in txn.follow_ups if f.kind in items.GROUP_KINDS)
        if pending > 0:
            return
        txn.disable_immediate = False
    txn.follow_ups.append(items.discovery(txn.run_id, now=now, group=txn.group))


async def _wait(
    conn: Conn,
    txn: _Txn,
    state: runs.CallState,
    command: engine.Wait,
    *,
    since: datetime,
    now: datetime,
) -> None:
    """Store the wait, unless an event that arrived during the call already matches it.

    The exclusive advisory lock on the event name pairs with the shared one every ingest
    takes: an event committed concurrently is either in the lookback or sees the pause.
    """
    origin = dict(state.events[0]) if state.events else {}
    await pauses.lock_name(conn, command.event_name)
    for candidate in await pauses.events_since(conn, command.event_name, since):
        if command.expression is None or evaluate_bool(command.expression, origin, candidate):
            txn.saves.append(
                runs.StepRecord(command.step_id, command.name, "WaitForEvent", candidate, 1)
            )
            txn.note(now, "wait.matched", command.step_id, command.name, data=candidate)
            await _discover(conn, txn, coalesce=True, now=now)
            return
    txn.note(
        now,
        "wait.started",
        command.step_id,
        command.name,
        data={
            "event": command.event_name,
            "if": command.expression,
            "until": command.expires_at.isoformat(),
        },
    )
    await _pause_with_timeout(
        conn,
        txn,
        kind=pauses.WAIT,
        step_id=command.step_id,
        step_name=command.name,
        expires_at=command.expires_at,
        now=now,
        event_name=command.event_name,
        expression=command.expression,
        origin_event=origin,
    )


async def _invoke(
    conn: Conn,
    txn: _Txn,
    state: runs.CallState,
    command: engine.Invoke,
    *,
    now: datetime,
    limiter: flow.RateLimiter | None,
) -> None:
    fn = await functions.by_slug(conn, command.function_slug)
    if fn is None or fn["archived_at"] is not None:
        error = {
            "name": "Error",
            "message": f"could not find function with ID: {command.function_slug}",
        }
        txn.saves.append(
            runs.StepRecord(command.step_id, command.name, "InvokeFunction", {"error": error}, 1)
        )
        await _discover(conn, txn, coalesce=True, now=now)
        return
    correlation_id = f"{state.run_id}.{command.step_id}"
    txn.note(
        now,
        "invoke.started",
        command.step_id,
        command.name,
        data={"function": command.function_slug, "until": command.expires_at.isoformat()},
    )
    await _pause_with_timeout(
        conn,
        txn,
        kind=pauses.INVOKE,
        step_id=command.step_id,
        step_name=command.name,
        expires_at=command.expires_at,
        now=now,
        correlation_id=correlation_id,
    )
    meta: dict[str, Any] = {
        "fn_id": command.function_slug,
        "correlation_id": correlation_id,
        "expire": to_ms(command.expires_at),
        "name": command.name,
        "source_app_id": state.app_name,
        "source_fn_id": state.function_slug,
    }
    event = new_event(
        INVOKED, {**command.data, "_inngest": meta}, now_ms=to_ms(now), v=command.version
    )
    await ingest(conn, [event], now=now, limiter=limiter)


async def _pause_with_timeout(
    conn: Conn,
    txn: _Txn,
    *,
    kind: str,
    step_id: str,
    step_name: str,
    expires_at: datetime,
    now: datetime,
    event_name: str | None = None,
    expression: str | None = None,
    origin_event: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    pause_id = uuid.uuid4()
    [timeout_id] = await queue.enqueue(
        conn, [items.pause_timeout(txn.run_id, str(pause_id), at=expires_at)], now=now
    )
    await pauses.insert(
        conn,
        pause_id=pause_id,
        run_id=txn.run_id,
        kind=kind,
        step_id=step_id,
        step_name=step_name,
        expires_at=expires_at,
        timeout_item_id=timeout_id,
        now=now,
        event_name=event_name,
        expression=expression,
        origin_event=origin_event,
        correlation_id=correlation_id,
    )


async def _ack(conn: Conn, item: records.Claimed) -> None:
    acked = await queue.complete(conn, [(item.id, item.lease_token)])
    if item.id not in acked:
        raise LeaseLost(item.id, str(item.lease_token))
