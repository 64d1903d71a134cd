"""The queue items a run is driven by: their kinds and payloads, built in one place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from inngest.queue import records

CALL = "call"  # discovery call: run the function from the top (payload: run_id)
PLANNED = "planned"  # targeted call of one planned step (payload: run_id, step_id, race)
WAKE = "wake"  # a sleep is over (payload: run_id, step_id, name); no HTTP call
RESUME = (
    "resume"  # a wait or invoke resolved: record memo (payload: run_id, step_id, name, op, memo)
)
PAUSE_TIMEOUT = "pause_timeout"  # a pause's deadline (payload: run_id, pause_id)
CANCEL = "cancel"  # cancel a run (payload: run_id, reason)
RUN_TIMEOUT = "run_timeout"  # timeouts.start / timeouts.finish (payload: run_id, which)
# A function's next cron tick (payload: function_id, slug, cron, jitter, scheduled_at); keyed by
# function, not run, so a sync can find and replace a function's ticks.
CRON = "cron"
# A debounce's quiet period may be over (payload: function_id, key, debounce_id) and a batch's
# timeout (payload: function_id, key, batch_id). Keyed by function and key value, not run: no run
# exists until they fire.
DEBOUNCE = "debounce"
BATCH = "batch"
KINDS = (CALL, PLANNED, WAKE, RESUME, PAUSE_TIMEOUT, CANCEL, RUN_TIMEOUT, CRON, DEBOUNCE, BATCH)
# Items that settle part of a parallel group: the next discovery call waits for all of them.
GROUP_KINDS = (PLANNED, WAKE, RESUME, PAUSE_TIMEOUT)
# Cancellation jumps the queue: a cancelled run should make no further calls.
CANCEL_PRIORITY = 100


def discovery(run_id: str, *, now: datetime, group: str = "") -> records.NewItem:
    """``group`` is the function's slug: claims go round-robin across functions."""
    return records.NewItem(
        kind=CALL,
        payload={"run_id": run_id},
        available_at=now,
        partition_key=run_id,
        group_key=group,
    )


def planned(
    run_id: str, step_id: str, name: str, *, race: bool, now: datetime, group: str = ""
) -> records.NewItem:
    return records.NewItem(
        kind=PLANNED,
        payload={"run_id": run_id, "step_id": step_id, "name": name, "race": race},
        available_at=now,
        partition_key=run_id,
        group_key=group,
    )


def wake(run_id: str, step_id: str, name: str, *, at: datetime, group: str = "") -> records.NewItem:
    return records.NewItem(
        kind=WAKE,
        payload={"run_id": run_id, "step_id": step_id, "name": name},
        available_at=at,
        partition_key=run_id,
        group_key=group,
    )


def resume(
    run_id: str, step_id: str, name: str, op: str, memo: Any, *, now: datetime
) -> records.NewItem:
    return records.NewItem(
        kind=RESUME,
        payload={"run_id": run_id, "step_id": step_id, "name": name, "op": op, "memo": memo},
        available_at=now,
        partition_key=run_id,
    )


def pause_timeout(run_id: str, pause_id: str, *, at: datetime) -> records.NewItem:
    return records.NewItem(
        kind=PAUSE_TIMEOUT,
        payload={"run_id": run_id, "pause_id": pause_id},
        available_at=at,
        partition_key=run_id,
    )


def cancel(run_id: str, reason: str, *, now: datetime) -> records.NewItem:
    return records.NewItem(
        kind=CANCEL,
        payload={"run_id": run_id, "reason": reason},
        priority=CANCEL_PRIORITY,
        # Also first within its group: claims rank items of a group by due time.
        available_at=now - timedelta(days=1),
        partition_key=run_id,
    )


def run_timeout(run_id: str, which: str, *, at: datetime) -> records.NewItem:
    return records.NewItem(
        kind=RUN_TIMEOUT,
        payload={"run_id": run_id, "which": which},
        available_at=at,
        partition_key=run_id,
    )


def cron_partition(function_id: str) -> str:
    return f"cron:{function_id}"


def cron_tick(
    function_id: str, slug: str, cron: str, jitter: str | None, scheduled_at: str, *, at: datetime
) -> records.NewItem:
    """One pending tick of one cron trigger, due at its fire time (the tick plus its jitter)."""
    return records.NewItem(
        kind=CRON,
        payload={
            "function_id": function_id,
            "slug": slug,
            "cron": cron,
            "jitter": jitter,
            "scheduled_at": scheduled_at,
        },
        available_at=at,
        partition_key=cron_partition(function_id),
    )


def buffer_partition(kind: str, function_id: str, key_hash: str) -> str:
    """``debounce:<function id>:<key hash>`` or ``batch:...``: one buffer's items."""
    return f"{kind}:{function_id}:{key_hash}"


def debounce(function_id: str, key_hash: str, debounce_id: str, *, at: datetime) -> records.NewItem:
    """The item that fires a pending debounce at its due time."""
    return records.NewItem(
        kind=DEBOUNCE,
        payload={"function_id": function_id, "key": key_hash, "debounce_id": debounce_id},
        available_at=at,
        partition_key=buffer_partition(DEBOUNCE, function_id, key_hash),
    )


def batch_flush(function_id: str, key_hash: str, batch_id: str, *, at: datetime) -> records.NewItem:
    """The item that starts an open batch's run at its timeout, with what it holds then."""
    return records.NewItem(
        kind=BATCH,
        payload={"function_id": function_id, "key": key_hash, "batch_id": batch_id},
        available_at=at,
        partition_key=buffer_partition(BATCH, function_id, key_hash),
    )
