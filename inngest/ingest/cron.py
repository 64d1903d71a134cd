"""Cron triggers: scheduling ticks at sync and firing them, in the caller's transaction.

Every active function keeps exactly one pending ``cron`` queue item per cron trigger, in the
partition ``cron:<function id>``, due at the next tick's fire time. A sync reconciles that
partition with the function's triggers; firing a tick acks the item, starts a run of that one
function (never a broadcast) with an ``inngest/scheduled.timer`` event, and queues the next tick.

Each tick starts at most one run: the run's idempotency key is the tick's id (its scheduled time
in RFC 3339), claimed in ``run_keys`` like an event id, so a duplicated item, a second process or
two triggers firing at the same instant all end in one run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from inngest.clock import to_ms
from inngest.db.pool import Conn
from inngest.engine import cron as schedule
from inngest.ingest import events as ingest
from inngest.ingest import flow, items
from inngest.protocol import durations, register
from inngest.protocol.events import new_event
from inngest.queue import ops as queue
from inngest.queue import records
from inngest.store import events as event_store
from inngest.store import functions, runs

TIMER_EVENT = "inngest/scheduled.timer"


@dataclass(frozen=True, slots=True)
class Trigger:
    """One cron trigger of a function as registered: its expression and optional jitter."""

    cron: str
    jitter: str | None


@dataclass(frozen=True, slots=True)
class Fired:
    """What firing a tick did: the run it started (None: a duplicate or stale tick)."""

    run_id: str | None
    next_at: datetime | None  # when the next tick is due, if one was queued
    stale: bool = False


def triggers_of(config: dict[str, Any]) -> list[Trigger]:
    """A function's cron triggers, in order, without repeats."""
    found: list[Trigger] = []
    for entry in config.get("triggers") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("cron"), str):
            continue
        jitter = entry.get("jitter")
        trigger = Trigger(entry["cron"], jitter if isinstance(jitter, str) and jitter else None)
        if trigger not in found:
            found.append(trigger)
    return found


def next_tick(
    function_id: str, slug: str, trigger: Trigger, *, after: datetime
) -> records.NewItem | None:
    """The queue item of ``trigger``'s first tick strictly after ``after``; None if it has none."""
    at = schedule.parse(trigger.cron).next_after(after)
    if at is None:
        return None
    tick_id = schedule.rfc3339(at)
    return items.cron_tick(
        function_id,
        slug,
        trigger.cron,
        trigger.jitter,
        tick_id,
        at=at + _jitter(function_id, trigger, tick_id),
    )


def _jitter(function_id: str, trigger: Trigger, tick_id: str) -> timedelta:
    if trigger.jitter is None:
        return timedelta(0)
    return schedule.jitter_delay(
        durations.parse_duration(trigger.jitter), f"{function_id}:{trigger.cron}:{tick_id}"
    )


async def reconcile(
    conn: Conn, app: register.AppSync, *, archived: Sequence[str], now: datetime
) -> None:
    """After a sync: each function's pending ticks match its cron triggers; archived functions
    have none. Idempotent, so it runs on every sync, modified or not (which also schedules
    functions registered before their crons were known)."""
    for fn in app.functions:
        row = await functions.by_slug(conn, fn.slug)
        if row is not None:
            await schedule_function(conn, row["id"], fn.slug, triggers_of(fn.config), now=now)
    for slug in archived:
        row = await functions.by_slug(conn, slug)
        if row is not None:
            await queue.delete_partition(conn, items.cron_partition(str(row["id"])))


async def schedule_function(
    conn: Conn, function_id: uuid.UUID, slug: str, triggers: Sequence[Trigger], *, now: datetime
) -> int:
    """Keep one pending tick per trigger: ticks of unchanged triggers stay as they are (so a
    re-sync right at a tick loses nothing), others go, new triggers get their next tick.
    Returns how many items were queued."""
    partition = items.cron_partition(str(function_id))
    wanted = list(dict.fromkeys(triggers))
    kept: set[Trigger] = set()
    stale: list[int] = []
    for item in await queue.partition_items(conn, partition):
        payload = item["payload"]
        trigger = Trigger(str(payload.get("cron")), payload.get("jitter"))
        if trigger in wanted and trigger not in kept:
            kept.add(trigger)
        else:
            stale.append(int(item["id"]))
    await queue.delete_items(conn, stale)
    new = [
        tick
        for trigger in wanted
        if trigger not in kept
        and (tick := next_tick(str(function_id), slug, trigger, after=now)) is not None
    ]
    await queue.enqueue(conn, new, now=now)
    return len(new)


async def fire(
    conn: Conn,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedup_window_s: float = ingest.DEFAULT_DEDUP_WINDOW_S,
    limiter: flow.RateLimiter | None = None,
) -> Fired:
    """Fire the tick of a claimed ``cron`` item; the caller acks the item in this transaction."""
    function_id, slug = str(payload["function_id"]), str(payload["slug"])
    trigger = Trigger(str(payload["cron"]), payload.get("jitter"))
    fn = await functions.by_slug(conn, slug)
    if (
        fn is None
        or fn["archived_at"] is not None
        or str(fn["id"]) != function_id
        or trigger not in triggers_of(fn["config"])
    ):
        # The function went away or its crons changed after this tick was queued; the sync
        # that did it scheduled what is current.
        return Fired(None, None, stale=True)

    tick_id = str(payload["scheduled_at"])
    scheduled_at = durations.parse_instant(tick_id)
    fire_at = scheduled_at + _jitter(function_id, trigger, tick_id)
    event = new_event(
        TIMER_EVENT,
        {"cron": trigger.cron, "scheduledAt": tick_id, "fireAt": schedule.rfc3339(fire_at)},
        now_ms=to_ms(fire_at),
        id=tick_id,
    )
    wire = event.to_wire()
    start = flow.Start(
        runs.NewRun(
            id=str(ULID()),
            function_id=fn["id"],
            function_version=fn["version"],
            event_ids=(event.internal_id,),
            key=flow.run_key(fn["config"], wire, tick_id),
        ),
        fn["config"],
        wire,
    )
    won = await runs.claim_keys(
        conn, [start.run], now=now, window_start=now - timedelta(seconds=dedup_window_s)
    )
    run_id: str | None = None
    if won:
        await event_store.insert(conn, [event], now=now)
        await flow.admit(conn, [start], limiter=limiter, now=now)
        await ingest.start_runs(conn, [start], now=now)
        run_id = start.run.id

    # No catch-up after downtime: ticks already in the past are skipped (the jitter allowance
    # keeps a late-fired tick from skipping its successor).
    max_jitter = durations.parse_duration(trigger.jitter) if trigger.jitter else timedelta(0)
    following = next_tick(function_id, slug, trigger, after=max(scheduled_at, now - max_jitter))
    if following is None:
        return Fired(run_id, None)
    if not won and await _already_queued(conn, following):
        # A duplicate of this tick lost to the one that won, which queued the successor; not
        # queueing a second one lets duplicates die out instead of repeating every tick.
        return Fired(None, None)
    await queue.enqueue(conn, [following], now=now)
    return Fired(run_id, following.available_at)


async def _already_queued(conn: Conn, tick: records.NewItem) -> bool:
    assert tick.partition_key is not None
    return any(
        item["payload"] == tick.payload
        for item in await queue.partition_items(conn, tick.partition_key)
    )
