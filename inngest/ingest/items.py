"""The queue items a run is driven by: their kinds and payloads, built in one place."""

from __future__ import annotations

from datetime import datetime

from inngest.queue import records

CALL = "call"  # discovery call: run the function from the top (payload: run_id)
PLANNED = "planned"  # targeted call of one planned step (payload: run_id, step_id, race)
WAKE = "wake"  # a sleep is over (payload: run_id, step_id, name); no HTTP call
KINDS = (CALL, PLANNED, WAKE)
# Items whose completion may have to wait for siblings before the next discovery call.
GROUP_KINDS = (PLANNED, WAKE)


def discovery(run_id: str, *, now: datetime) -> records.NewItem:
    return records.NewItem(
        kind=CALL, payload={"run_id": run_id}, available_at=now, partition_key=run_id
    )


def planned(run_id: str, step_id: str, name: str, *, race: bool, now: datetime) -> records.NewItem:
    return records.NewItem(
        kind=PLANNED,
        payload={"run_id": run_id, "step_id": step_id, "name": name, "race": race},
        available_at=now,
        partition_key=run_id,
    )


def wake(run_id: str, step_id: str, name: str, *, at: datetime) -> records.NewItem:
    return records.NewItem(
        kind=WAKE,
        payload={"run_id": run_id, "step_id": step_id, "name": name},
        available_at=at,
        partition_key=run_id,
    )
