"""Debounce and batching: events held in rows until they become one run (PROTOCOL.md §6.10,
§6.11). Runs of functions without either pass straight through.

A buffer is one row per function and key value (``inngest.store.buffers``) plus the one queue
item that fires it, written together in the ingest transaction:

* debounce: the row holds the latest event and ``due_at = min(now + period, first_at +
  timeout)``; each new event replaces the event and moves the item to the new ``due_at``. When
  the item fires (``inngest.worker.buffers``) the row becomes one run with the latest event.
* batching: the row holds the open batch's events in order. Filling ``maxSize`` starts the run
  here, in the ingest transaction; otherwise the batch's first event armed an item at ``now +
  timeout`` that starts the run with what is there. Events failing ``if`` run alone at once.

The runs go through ``flow.admit`` and ``events.start_runs`` like any other, so rate limits,
singletons and priorities still apply; each run's idempotency key is its buffer's id, so a
buffer can never start two runs. Invoked runs (``step.invoke``) are never held: the parent
waits for that one run's result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from inngest.db.pool import Conn
from inngest.errors import ValidationError
from inngest.expr import compile_expression
from inngest.ingest import flow, items, parent
from inngest.protocol import durations
from inngest.queue import ops as queue
from inngest.store import buffers as store
from inngest.store import runs

DEBOUNCE_FIELD = "debounce"
BATCH_FIELD = "batchEvents"
# PROTOCOL.md §6.10 bounds the period to 1 s…7 d; the SDKs check it too, so out-of-range values
# are clamped rather than refused.
MIN_DEBOUNCE_PERIOD = timedelta(seconds=1)
MAX_DEBOUNCE_PERIOD = timedelta(days=7)
# §6.11: a batch waits at most 10 minutes.
MAX_BATCH_TIMEOUT = timedelta(minutes=10)
# Run keys (run_keys.key) of the runs buffers start.
DEBOUNCE_RUN_KEY = "debounce:"
BATCH_RUN_KEY = "batch:"
# Buffer ids are fresh ULIDs, so their run keys never meet an older claim; the claim records the
# key like any other (for the dedup window's expiry to clear it).
RUN_KEY_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DebounceConfig:
    period: timedelta
    timeout: timedelta | None
    key: str | None


@dataclass(frozen=True, slots=True)
class BatchConfig:
    max_size: int
    timeout: timedelta
    key: str | None
    condition: str | None  # `if`: events failing it are not batched


def debounce_config(config: dict[str, Any]) -> DebounceConfig | None:
    """The function's debounce, or None (absent or unusable: the sync validates it)."""
    raw = config.get(DEBOUNCE_FIELD)
    if not isinstance(raw, dict):
        return None
    period = _duration(raw.get("period"))
    if period is None:
        return None
    timeout = _duration(raw.get("timeout"))
    return DebounceConfig(
        period=max(MIN_DEBOUNCE_PERIOD, min(MAX_DEBOUNCE_PERIOD, period)),
        timeout=timeout if timeout is not None and timeout > timedelta(0) else None,
        key=_text(raw.get("key")),
    )


def batch_config(config: dict[str, Any]) -> BatchConfig | None:
    """The function's event batching, or None (absent or unusable: the sync validates it)."""
    raw = config.get(BATCH_FIELD)
    if not isinstance(raw, dict):
        return None
    size = raw.get("maxSize")
    timeout = _duration(raw.get("timeout"))
    if not isinstance(size, int) or isinstance(size, bool) or size < 1 or timeout is None:
        return None
    return BatchConfig(
        max_size=size,
        timeout=max(timedelta(0), min(MAX_BATCH_TIMEOUT, timeout)),
        key=_text(raw.get("key")),
        condition=_text(raw.get("if")),
    )


def _duration(value: Any) -> timedelta | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return durations.parse_duration(value)
    except ValidationError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def lock_key(partition_key: str) -> str:
    """The advisory lock of a buffer is named after its queue partition."""
    return f"buffer:{partition_key}"


@dataclass
class _Group:
    """The starts of one request that go to one buffer, in request order."""

    kind: str  # items.DEBOUNCE | items.BATCH
    function_id: uuid.UUID
    key_hash: str
    starts: list[flow.Start]

    @property
    def partition(self) -> str:
        return items.buffer_partition(self.kind, str(self.function_id), self.key_hash)


async def divert(conn: Conn, starts: Sequence[flow.Start], *, now: datetime) -> list[flow.Start]:
    """Take the starts of debounced or batched functions into their buffers; return the rest,
    followed by the runs of batches this request filled."""
    passed: list[flow.Start] = []
    groups: dict[str, _Group] = {}
    for start in starts:
        config = start.config
        # The common case costs two dict lookups and no query.
        if DEBOUNCE_FIELD not in config and BATCH_FIELD not in config:
            passed.append(start)
            continue
        kind, key = _buffer_of(start)
        if kind is None:
            passed.append(start)
            continue
        group = _Group(kind, start.run.function_id, key, [])
        groups.setdefault(group.partition, group).starts.append(start)
    if not groups:
        return passed
    filled: list[flow.Start] = []
    # Buffers are locked in one global order (by name), so two ingests that touch the same
    # buffers cannot deadlock.
    for partition in sorted(groups):
        group = groups[partition]
        if group.kind == items.DEBOUNCE:
            await _debounce(conn, group, now=now)
        else:
            filled.extend(await _batch(conn, group, now=now))
    if filled:
        claimed = await runs.claim_keys(
            conn, [s.run for s in filled], now=now, window_start=now - RUN_KEY_WINDOW
        )
        filled = [s for s in filled if s.run.id in claimed]
    return passed + filled


def _buffer_of(start: flow.Start) -> tuple[str | None, str]:
    """Which buffer a start goes to: (kind, key hash), or (None, "") to run it now.

    A function with both options is debounced, not batched (the SDKs document them as
    exclusive, so this only settles a config that sets both).
    """
    if start.event.get("name") == parent.INVOKED:
        return None, ""
    debounce = debounce_config(start.config)
    if debounce is not None:
        return items.DEBOUNCE, flow.key_value(debounce.key, start.event)
    batch = batch_config(start.config)
    if batch is None:
        return None, ""
    if batch.condition is not None and not _admits(batch.condition, start.event):
        return None, ""
    return items.BATCH, flow.key_value(batch.key, start.event)


def _admits(condition: str, event: dict[str, Any]) -> bool:
    """``batchEvents.if``; one that does not compile (synced before it was checked) admits
    nothing, so those events run unbatched rather than fail the ingest."""
    try:
        return compile_expression(condition).matches({"event": event})
    except ValidationError:
        return False


async def _debounce(conn: Conn, group: _Group, *, now: datetime) -> None:
    latest = group.starts[-1]
    config = debounce_config(latest.config)
    assert config is not None
    # The lock makes read-modify-write of the row one step for concurrent ingests of this key
    # and for the worker firing it (which locks before its fenced ack): without it two events
    # could both create the row, or an event could update a row the worker is turning into a
    # run. Row locks cannot do this alone, as there is no row to lock before the first event.
    # A separate statement, so the read below sees whatever committed while we waited.
    await store.lock(conn, lock_key(group.partition))
    row = await store.debounce_get(conn, group.function_id, group.key_hash)
    first_at = row.first_at if row is not None else now
    due_at = now + config.period
    if config.timeout is not None:
        due_at = min(due_at, first_at + config.timeout)
    debounce_id = row.id if row is not None else str(ULID())
    if row is not None and row.due_at == due_at:
        item_id = row.item_id  # capped by the timeout: the item is already where it belongs
    else:
        if row is not None:
            # A worker holding the old item finds its lease gone at its fenced ack.
            await queue.delete_items(conn, [row.item_id])
        fid = str(group.function_id)
        (item_id,) = await queue.enqueue(
            conn, [items.debounce(fid, group.key_hash, debounce_id, at=due_at)], now=now
        )
    await store.debounce_put(
        conn,
        store.Debounce(
            group.function_id,
            group.key_hash,
            debounce_id,
            latest.run.event_ids[0],
            first_at,
            due_at,
            item_id,
        ),
    )


async def _batch(conn: Conn, group: _Group, *, now: datetime) -> list[flow.Start]:
    latest = group.starts[-1]
    config = batch_config(latest.config)
    assert config is not None
    # Serialises appends to this key's batch with each other and with the worker flushing it
    # (which locks before its fenced ack), so no event joins a batch that is becoming a run and
    # no two events both open a batch. Separate statement: the read sees what committed meanwhile.
    await store.lock(conn, lock_key(group.partition))
    row = await store.batch_get(conn, group.function_id, group.key_hash)
    batch_id = row.id if row is not None else str(ULID())
    created_at = row.created_at if row is not None else now
    pending = list(row.event_ids) if row is not None else []
    full: list[tuple[str, list[str]]] = []
    for start in group.starts:
        pending.extend(start.run.event_ids)
        while len(pending) >= config.max_size:
            full.append((batch_id, pending[: config.max_size]))
            pending = pending[config.max_size :]
            batch_id, created_at = str(ULID()), now

    fid = str(group.function_id)
    if row is not None and row.id != batch_id:
        await queue.delete_items(conn, [row.item_id])  # the stored batch became a run
    if not pending:
        if row is not None:
            await store.batch_delete(conn, group.function_id, group.key_hash)
    else:
        if row is not None and row.id == batch_id:
            item_id = row.item_id
        else:
            at = created_at + config.timeout
            (item_id,) = await queue.enqueue(
                conn, [items.batch_flush(fid, group.key_hash, batch_id, at=at)], now=now
            )
        await store.batch_put(
            conn,
            store.Batch(
                group.function_id, group.key_hash, batch_id, tuple(pending), created_at, item_id
            ),
        )
    if not full:
        return []
    wires = {s.run.event_ids[0]: s.event for s in group.starts}
    missing = [ids[0] for _, ids in full if ids[0] not in wires]
    wires.update(await store.events_wire(conn, missing))
    return [
        batch_start(
            group.function_id, latest.run.function_version, latest.config, bid, ids, wires[ids[0]]
        )
        for bid, ids in full
    ]


def batch_start(
    function_id: uuid.UUID,
    version: int,
    config: dict[str, Any],
    batch_id: str,
    event_ids: Sequence[str],
    first_event: dict[str, Any],
) -> flow.Start:
    """The run of a batch: all its events, ``event`` = the first (PROTOCOL.md §6.11)."""
    run = runs.NewRun(
        id=str(ULID()),
        function_id=function_id,
        function_version=version,
        event_ids=tuple(event_ids),
        key=BATCH_RUN_KEY + batch_id,
    )
    return flow.Start(run, config, first_event)


def debounce_start(
    function_id: uuid.UUID,
    version: int,
    config: dict[str, Any],
    debounce_id: str,
    event_id: str,
    event: dict[str, Any],
) -> flow.Start:
    """The run of a debounce: its latest event only."""
    run = runs.NewRun(
        id=str(ULID()),
        function_id=function_id,
        function_version=version,
        event_ids=(event_id,),
        key=DEBOUNCE_RUN_KEY + debounce_id,
    )
    return flow.Start(run, config, event)
