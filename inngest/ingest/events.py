"""Ingest a batch of events in the caller's transaction.

Storing the events, creating the runs they trigger and queueing those runs' first calls happen
in one transaction, so a crash never leaves an event without its runs or a run without work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ulid import ULID

from inngest.db.pool import Conn
from inngest.expr import compile_expression
from inngest.ingest import items
from inngest.protocol.events import Event
from inngest.queue import ops as queue
from inngest.store import events as event_store
from inngest.store import functions, runs


@dataclass(frozen=True, slots=True)
class Ingested:
    run_ids: tuple[str, ...]
    skipped_duplicates: int


async def ingest(
    conn: Conn, events: Sequence[Event], *, now: datetime, dedup_window_s: float
) -> Ingested:
    await event_store.insert(conn, events, now=now)
    matches = await functions.triggered_by(conn, sorted({e.name for e in events}))
    candidates: list[runs.NewRun] = []
    seen: set[tuple[object, str]] = set()
    for event in events:
        wire = event.to_wire()
        for match in matches:
            if not match.names(event.name):
                continue
            if match.expression and not compile_expression(match.expression).matches(
                {"event": wire}
            ):
                continue
            key = (match.function_id, event.id)
            if key in seen:  # the same event id twice in one request starts one run
                continue
            seen.add(key)
            candidates.append(
                runs.NewRun(
                    id=str(ULID()),
                    function_id=match.function_id,
                    function_version=match.version,
                    event_ids=(event.internal_id,),
                    key=event.id,
                )
            )
    winners = await runs.claim_keys(
        conn, candidates, now=now, window_start=now - timedelta(seconds=dedup_window_s)
    )
    started = [r for r in candidates if r.id in winners]
    await runs.insert(conn, started, now=now)
    await queue.enqueue(conn, [items.discovery(r.id, now=now) for r in started], now=now)
    return Ingested(tuple(r.id for r in started), len(candidates) - len(started))


async def rerun(
    conn: Conn,
    *,
    original_run_id: str,
    function_id: uuid.UUID,
    version: int,
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
    await runs.insert(conn, [new], now=now)
    await queue.enqueue(conn, [items.discovery(new.id, now=now)], now=now)
    return new.id
