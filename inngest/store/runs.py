"""Runs, their step memo and their attempt history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from inngest.db import named_sql, pool
from inngest.db.pool import Conn

_SQL = named_sql.load("inngest.store", "runs.sql")


@dataclass(frozen=True, slots=True)
class NewRun:
    id: str
    function_id: uuid.UUID
    function_version: int
    event_ids: tuple[str, ...]
    key: str  # idempotency key within the dedup window (the event id by default)
    original_run_id: str | None = None
    singleton_key: str | None = None


@dataclass(frozen=True, slots=True)
class CallState:
    """What building one SDK call needs, loaded in one round trip."""

    run_id: str
    status: str
    request_version: int
    disable_immediate: bool
    step_count: int
    state_bytes: int
    function_slug: str
    url: str
    max_attempts: int
    app_name: str
    config: dict[str, Any]
    memo: tuple[tuple[str, Any], ...]  # (step id, memo value) in completion order
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class StepRecord:
    step_id: str
    name: str
    op: str
    memo: Any
    attempts: int


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    run_id: str
    target_step: str
    attempt: int
    started_at: datetime
    ended_at: datetime
    status_code: int | None
    outcome: str
    error: dict[str, Any] | None
    retry_at: datetime | None


async def claim_keys(
    conn: Conn, runs: Sequence[NewRun], *, now: datetime, window_start: datetime
) -> set[str]:
    """Ids of the runs whose (function, key) is free in the window; the others are duplicates."""
    if not runs:
        return set()
    cur = await conn.execute(
        _SQL["run_keys_claim"],
        {
            "function_ids": [r.function_id for r in runs],
            "keys": [r.key for r in runs],
            "run_ids": [r.id for r in runs],
            "nows": [now] * len(runs),
            "window_start": window_start,
        },
    )
    return {row[0] for row in await cur.fetchall()}


async def expire_keys(conn: Conn, *, window_start: datetime) -> int:
    cur = await conn.execute(_SQL["run_keys_expire"], {"window_start": window_start})
    return cur.rowcount


async def insert(
    conn: Conn,
    runs: Sequence[NewRun],
    *,
    now: datetime,
    skip_reasons: Sequence[str | None] | None = None,
) -> None:
    """Insert runs as Scheduled, or as Skipped (already ended) where a skip reason is given."""
    if not runs:
        return
    reasons = list(skip_reasons) if skip_reasons is not None else [None] * len(runs)
    await conn.execute(
        _SQL["runs_insert"],
        {
            "ids": [r.id for r in runs],
            "function_ids": [r.function_id for r in runs],
            "versions": [r.function_version for r in runs],
            "event_ids": [Jsonb(list(r.event_ids)) for r in runs],
            "original_run_ids": [r.original_run_id for r in runs],
            "statuses": ["Skipped" if reason else "Scheduled" for reason in reasons],
            "skip_reasons": reasons,
            "singleton_keys": [r.singleton_key for r in runs],
            "now": now,
        },
    )


async def load_for_call(conn: Conn, run_id: str) -> CallState | None:
    cur = await conn.execute(_SQL["runs_load_for_call"], {"run_id": run_id})
    row = await cur.fetchone()
    if row is None:
        return None
    return CallState(
        run_id=row[0],
        status=row[1],
        request_version=row[2],
        disable_immediate=row[3],
        step_count=row[4],
        state_bytes=row[5],
        function_slug=row[6],
        url=row[7],
        max_attempts=row[8],
        app_name=row[9],
        config=row[10],
        memo=tuple((entry[0], entry[1]) for entry in row[11]),
        events=tuple(row[12]),
    )


async def lock(conn: Conn, run_id: str) -> tuple[str, int, bool] | None:
    """Lock the run row for the rest of the transaction: (status, step_count, disable_immediate).

    Every write to a run's state goes through this lock, so two calls of one run (parallel
    steps) commit one after the other and see each other's steps. It is held for a few
    statements, never across an HTTP call.
    """
    cur = await conn.execute(_SQL["runs_lock"], {"run_id": run_id})
    row = await cur.fetchone()
    return None if row is None else (row[0], row[1], row[2])


async def mark_started(conn: Conn, run_id: str, *, now: datetime) -> None:
    await conn.execute(_SQL["runs_mark_started"], {"run_id": run_id, "now": now})


@dataclass(frozen=True, slots=True)
class Saved:
    count: int  # steps that were new
    bytes: int  # their memo's size as JSON text


async def save_steps(
    conn: Conn, run_id: str, steps: Sequence[StepRecord], *, first_position: int, now: datetime
) -> Saved:
    """Insert steps not yet recorded."""
    if not steps:
        return Saved(0, 0)
    cur = await conn.execute(
        _SQL["steps_insert"],
        {
            "run_id": run_id,
            "step_ids": [s.step_id for s in steps],
            "first_position": first_position,
            "names": [s.name for s in steps],
            "ops": [s.op for s in steps],
            "memos": [Jsonb(s.memo) for s in steps],
            "attempts": [s.attempts for s in steps],
            "now": now,
        },
    )
    rows = await cur.fetchall()
    return Saved(len(rows), sum(row[1] or 0 for row in rows))


async def update_progress(
    conn: Conn,
    run_id: str,
    *,
    request_version: int | None,
    disable_immediate: bool,
    added_steps: int,
    now: datetime,
    added_bytes: int = 0,
) -> None:
    await conn.execute(
        _SQL["runs_update_progress"],
        {
            "run_id": run_id,
            "request_version": request_version,
            "disable_immediate": disable_immediate,
            "added_steps": added_steps,
            "added_bytes": added_bytes,
            "now": now,
        },
    )


async def finish(
    conn: Conn,
    run_id: str,
    *,
    status: str,
    output: Any,
    error: dict[str, Any] | None,
    now: datetime,
    cancelled_by: str | None = None,
) -> bool:
    """End the run; False when it had already ended (the first ending wins)."""
    cur = await conn.execute(
        _SQL["runs_finish"],
        {
            "run_id": run_id,
            "status": status,
            "output": Jsonb(output),
            "error": None if error is None else Jsonb(error),
            "now": now,
            "cancelled_by": cancelled_by,
        },
    )
    return await cur.fetchone() is not None


async def record_attempt(conn: Conn, attempt: AttemptRecord) -> None:
    await conn.execute(
        _SQL["attempts_insert"],
        {
            "run_id": attempt.run_id,
            "target_step": attempt.target_step,
            "attempt": attempt.attempt,
            "started_at": attempt.started_at,
            "ended_at": attempt.ended_at,
            "status_code": attempt.status_code,
            "outcome": attempt.outcome,
            "error": None if attempt.error is None else Jsonb(attempt.error),
            "retry_at": attempt.retry_at,
        },
    )


async def get(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """A run with its steps and attempts, for the API."""
    run = await pool.fetch_dict(conn, _SQL["runs_get"], {"run_id": run_id})
    if run is None:
        return None
    run["steps"] = await pool.fetch_dicts(conn, _SQL["steps_for_run"], {"run_id": run_id})
    run["attempts"] = await pool.fetch_dicts(conn, _SQL["attempts_for_run"], {"run_id": run_id})
    run["history"] = await history(conn, run_id)
    return run


async def list_page(
    conn: Conn,
    *,
    status: str | None,
    function_slug: str | None,
    event_id: str | None,
    cursor: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(
        conn,
        _SQL["runs_list"],
        {
            "status": status,
            "function_slug": function_slug,
            "event_id": event_id,
            "cursor": cursor,
            "limit": limit,
        },
    )


async def active_ids(
    conn: Conn,
    *,
    function_slug: str,
    created_after: datetime | None,
    created_before: datetime | None,
    limit: int,
) -> list[str]:
    cur = await conn.execute(
        _SQL["runs_active_ids"],
        {
            "function_slug": function_slug,
            "created_after": created_after,
            "created_before": created_before,
            "limit": limit,
        },
    )
    return [row[0] for row in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a run's story (kinds like run.scheduled, step.completed, sleep.started)."""

    run_id: str
    at: datetime
    kind: str
    step_id: str | None = None
    step_name: str | None = None
    attempt: int | None = None
    data: Any = None


async def add_history(conn: Conn, entries: Sequence[HistoryEntry]) -> None:
    """One statement for all of a transaction's entries."""
    if not entries:
        return
    await conn.execute(
        _SQL["history_insert"],
        {
            "run_ids": [e.run_id for e in entries],
            "ats": [e.at for e in entries],
            "kinds": [e.kind for e in entries],
            "step_ids": [e.step_id for e in entries],
            "step_names": [e.step_name for e in entries],
            "attempts": [e.attempt for e in entries],
            "datas": [None if e.data is None else Jsonb(e.data) for e in entries],
        },
    )


async def history(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    return await pool.fetch_dicts(conn, _SQL["history_for_run"], {"run_id": run_id})


async def lock_singleton(conn: Conn, function_id: uuid.UUID, key: str) -> None:
    await conn.execute(_SQL["runs_lock_singleton"], {"lock_key": f"singleton:{function_id}:{key}"})


async def active_singleton(conn: Conn, function_id: uuid.UUID, key: str) -> str | None:
    cur = await conn.execute(
        _SQL["runs_active_singleton"], {"function_id": function_id, "singleton_key": key}
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])
