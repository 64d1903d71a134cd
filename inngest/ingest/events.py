"""Ingest a batch of events in the caller's transaction.

Storing the events, starting the runs they trigger (with their cancellation matchers and start
timeouts), and resolving the waits and cancellations they match happen in one transaction, so a
crash never leaves an event half-applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from inngest.db.pool import Conn
from inngest.engine.run import MAX_SLEEP_S
from inngest.expr import compile_expression, evaluate_bool
from inngest.ingest import buffers, flow, items, parent
from inngest.protocol import durations
from inngest.protocol.events import Event
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import events as event_store
from inngest.store import functions, pauses, runs

INVOKED = parent.INVOKED
DEFAULT_DEDUP_WINDOW_S = 86400.0


@dataclass(frozen=True, slots=True)
class Ingested:
    run_ids: tuple[str, ...]
    skipped_duplicates: int
    resumed: int = 0
    cancelled: int = 0
    skipped: tuple[str, ...] = ()  # runs flow control decided never to run


async def ingest(
    conn: Conn,
    events: Sequence[Event],
    *,
    now: datetime,
    dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S,
    limiter: flow.RateLimiter | None = None,
) -> Ingested:
    if not events:
        return Ingested((), 0)
    names = sorted({e.name for e in events})
    await pauses.lock_names_shared(conn, names)
    await event_store.insert(conn, events, now=now)
    candidates = await _triggered(conn, events)
    winners = await runs.claim_keys(
        conn,
        [c.run for c in candidates],
        now=now,
        window_start=now - timedelta(seconds=dedup_window_s),
    )
    admitted = [c for c in candidates if c.run.id in winners]
    started = await buffers.divert(conn, admitted, now=now)
    await flow.admit(conn, started, limiter=limiter, now=now)
    await start_runs(conn, started, now=now)
    resumed, cancelled = await _resolve_pauses(conn, events, names, now=now)
    return Ingested(
        tuple(s.run.id for s in started if s.skip_reason is None),
        len(candidates) - len(admitted),  # held in a debounce or batch is not a duplicate
        resumed,
        cancelled,
        tuple(s.run.id for s in started if s.skip_reason is not None),
    )


async def _triggered(conn: Conn, events: Sequence[Event]) -> list[flow.Start]:
    matches = await functions.triggered_by(conn, sorted({e.name for e in events}))
    starts: list[flow.Start] = []
    seen: set[tuple[object, str]] = set()
    for event in events:
        wire = event.to_wire()
        if event.name == INVOKED:
            start = await _invoked(conn, event, wire)
            if start is not None:
                starts.append(start)
            continue
        for match in matches:
            if not match.names(event.name):
                continue
            if match.expression and not compile_expression(match.expression).matches(
                {"event": wire}
            ):
                continue
            run_key = flow.run_key(match.config, wire, event.id)
            key = (match.function_id, run_key)
            if key in seen:  # the same key twice in one request starts one run
                continue
            seen.add(key)
            run = runs.NewRun(
                id=str(ULID()),
                function_id=match.function_id,
                function_version=match.version,
                event_ids=(event.internal_id,),
                key=run_key,
            )
            starts.append(flow.Start(run, match.config, wire))
    return starts


async def _invoked(conn: Conn, event: Event, wire: dict[str, Any]) -> flow.Start | None:
    """``inngest/function.invoked`` starts the named function whatever its triggers."""
    meta = event.data.get("_inngest") if isinstance(event.data, dict) else None
    slug = meta.get("fn_id") if isinstance(meta, dict) else None
    if not isinstance(slug, str):
        return None
    fn = await functions.by_slug(conn, slug)
    if fn is None or fn["archived_at"] is not None:
        return None
    run = runs.NewRun(
        id=str(ULID()),
        function_id=fn["id"],
        function_version=fn["version"],
        event_ids=(event.internal_id,),
        key=event.id,
    )
    return flow.Start(run, fn["config"], wire)


async def start_runs(conn: Conn, starts: Sequence[flow.Start], *, now: datetime) -> None:
    """Insert runs with their first call, cancelOn matchers and start timeouts; skipped runs
    are recorded as such, and a skipped invoke fails its parent's step at once."""
    if not starts:
        return
    await runs.insert(
        conn, [s.run for s in starts], now=now, skip_reasons=[s.skip_reason for s in starts]
    )
    running = [s for s in starts if s.skip_reason is None]
    await flow.order(conn, running, now=now)
    follow_ups: list[records.NewItem] = []
    matchers: list[pauses.NewMatcher] = []
    for start in starts:
        if start.skip_reason is not None:
            await _skipped(conn, start, now=now)
    for start in running:
        run_id = start.run.id
        group = str(start.config.get("id") or "")
        follow_ups.append(items.discovery(run_id, now=start.available_at or now, group=group))
        follow_ups.extend(items.cancel(other, "singleton", now=now) for other in start.cancels)
        matchers.extend(cancel_matchers(run_id, start.config, start.event, now=now))
        start_timeout = (start.config.get("timeouts") or {}).get("start")
        if isinstance(start_timeout, str) and start_timeout:
            at = now + durations.parse_duration(start_timeout)
            follow_ups.append(items.run_timeout(run_id, "start", at=at))
    await pauses.insert_matchers(conn, matchers, now=now)
    await queue.enqueue(conn, follow_ups, now=now)
    await runs.add_history(
        conn,
        [
            runs.HistoryEntry(
                s.run.id,
                now,
                "run.skipped" if s.skip_reason else "run.scheduled",
                data={
                    "event_ids": list(s.run.event_ids),
                    "event": s.event.get("name"),
                    "reason": s.skip_reason,
                },
            )
            for s in starts
        ],
    )


async def _skipped(conn: Conn, start: flow.Start, *, now: datetime) -> None:
    correlation = parent.correlation_id(start.event)
    if correlation is not None:
        error = {"name": "Error", "message": f"invoked function was skipped: {start.skip_reason}"}
        await parent.resolve(conn, correlation, {"error": error}, now=now)


def cancel_matchers(
    run_id: str, config: dict[str, Any], event: dict[str, Any], *, now: datetime
) -> list[pauses.NewMatcher]:
    matchers = []
    for entry in config.get("cancel") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("event"), str):
            continue
        timeout = entry.get("timeout")
        if isinstance(timeout, str) and timeout:
            expires_at = durations.parse_time_or_duration(timeout, now)
        else:
            expires_at = now + timedelta(seconds=MAX_SLEEP_S)
        matchers.append(
            pauses.NewMatcher(run_id, entry["event"], entry.get("if") or None, event, expires_at)
        )
    return matchers


async def _resolve_pauses(
    conn: Conn, events: Sequence[Event], names: Sequence[str], *, now: datetime
) -> tuple[int, int]:
    candidates = await pauses.candidates(conn, names, now=now)
    if not candidates:
        return 0, 0
    matched: dict[uuid.UUID, Event] = {}
    for event in events:  # in request order: the first matching event wins a pause
        wire = event.to_wire()
        for pause in candidates:
            if pause.id in matched or pause.event_name != event.name:
                continue
            if pause.expression and not evaluate_bool(
                pause.expression, pause.origin_event or {}, wire
            ):
                continue
            matched[pause.id] = event
    consumed = await pauses.consume(conn, list(matched))
    follow_ups: list[records.NewItem] = []
    stale_timeouts: list[int] = []
    cancelled_runs: set[str] = set()
    for won in consumed:
        event = matched[won.id]
        if won.timeout_item_id is not None:
            stale_timeouts.append(won.timeout_item_id)
        if won.kind == pauses.WAIT and won.step_id is not None:
            follow_ups.append(
                items.resume(
                    won.run_id,
                    won.step_id,
                    won.step_name or won.step_id,
                    "WaitForEvent",
                    event.to_wire(),
                    now=now,
                )
            )
        elif won.kind == pauses.CANCEL and won.run_id not in cancelled_runs:
            cancelled_runs.add(won.run_id)
            follow_ups.append(
                items.cancel(won.run_id, f"event {event.name} ({event.internal_id})", now=now)
            )
    await queue.delete_items(conn, stale_timeouts)
    await queue.enqueue(conn, follow_ups, now=now)
    return len(consumed) - len(cancelled_runs), len(cancelled_runs)


async def rerun(
    conn: Conn,
    *,
    original_run_id: str,
    function_id: uuid.UUID,
    version: int,
    config: dict[str, Any],
    events: Sequence[dict[str, Any]],
    event_ids: Sequence[str],
    now: datetime,
) -> str:
    """Start a new run of the same function with the same events (dead-letter replay)."""
    new = runs.NewRun(
        id=str(ULID()),
        function_id=function_id,
        function_version=version,
        event_ids=tuple(event_ids),
        key=f"rerun:{original_run_id}:{ULID()}",
        original_run_id=original_run_id,
    )
    await start_runs(conn, [flow.Start(new, config, dict(events[0]) if events else {})], now=now)
    return new.id
