"""Flow control when runs start: idempotency keys, rate limits, singletons, priority and fair
ordering between functions (PROTOCOL.md §6.6, §6.9, §6.12, §6.14).

Concurrency and throttle act later, in the worker, because they gate SDK calls, not run starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from inngest.db.pool import Conn
from inngest.expr import evaluate_int, evaluate_key
from inngest.protocol import durations
from inngest.store import runs

# Priority is "as if enqueued that many seconds earlier", bounded as the SDK docs say.
MAX_PRIORITY_S = 600


class RateLimiter(Protocol):
    async def rate_limit(self, key: str, *, limit: int, period_s: float, now: datetime) -> bool: ...


@dataclass
class Start:
    """A run about to start, with what flow control decided for it."""

    run: runs.NewRun
    config: dict[str, Any]
    event: dict[str, Any]
    available_at: datetime | None = None
    skip_reason: str | None = None
    cancels: list[str] = field(default_factory=list)  # active runs a singleton replaces


def key_hash(value: str) -> str:
    """Short, stable key material for user-controlled values (any length, any characters)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def run_key(config: dict[str, Any], event: dict[str, Any], default: str) -> str:
    """The run's idempotency key: the `idempotency` expression's value, else the event id."""
    source = config.get("idempotency")
    if isinstance(source, str) and source:
        value = evaluate_key(source, event)
        if value is not None:
            return f"idempotency:{key_hash(value)}"
    return default


async def admit(
    conn: Conn, starts: Sequence[Start], *, limiter: RateLimiter | None, now: datetime
) -> None:
    """Mark starts that rate limits or singletons skip; note the runs a singleton cancels."""
    singletons: dict[tuple[object, str], str] = {}
    for start in starts:
        reason = await _rate_limited(start, limiter, now=now)
        if reason is None:
            reason = await _singleton(conn, start, singletons)
        start.skip_reason = reason


async def _rate_limited(start: Start, limiter: RateLimiter | None, *, now: datetime) -> str | None:
    config = start.config.get("rateLimit")
    if limiter is None or not isinstance(config, dict):
        return None
    limit, period = config.get("limit"), config.get("period")
    if not isinstance(limit, int) or limit < 1 or not isinstance(period, str):
        return None
    value = key_value(config.get("key"), start.event)
    key = f"rl:{start.run.function_id}:{value}"
    allowed = await limiter.rate_limit(
        key, limit=limit, period_s=durations.parse_duration(period).total_seconds(), now=now
    )
    return None if allowed else "rate limited"


async def _singleton(
    conn: Conn, start: Start, admitted: dict[tuple[object, str], str]
) -> str | None:
    config = start.config.get("singleton")
    if not isinstance(config, dict):
        return None
    value = key_value(config.get("key"), start.event)
    start.run = runs.NewRun(**{**_fields(start.run), "singleton_key": value})
    mode = config.get("mode", "skip")
    seen = (start.run.function_id, value)
    # The lock makes "is a run of this key active?" and the new run's insert one step for
    # concurrent ingests; it is released when the ingest commits.
    await runs.lock_singleton(conn, start.run.function_id, value)
    active = admitted.get(seen) or await runs.active_singleton(conn, start.run.function_id, value)
    if active is not None:
        if mode == "cancel":
            start.cancels.append(active)
        else:
            return "singleton run active"
    admitted[seen] = start.run.id
    return None


def _fields(run: runs.NewRun) -> dict[str, Any]:
    return {name: getattr(run, name) for name in run.__dataclass_fields__}


def key_value(source: Any, event: dict[str, Any]) -> str:
    """A flow-control key expression's value for ``event``, hashed; "" when unset or failing."""
    if not isinstance(source, str) or not source:
        return ""
    value = evaluate_key(source, event)
    return "" if value is None else key_hash(value)


def priority_s(config: dict[str, Any], event: dict[str, Any]) -> int:
    source = (config.get("priority") or {}).get("run") if isinstance(config, dict) else None
    if not isinstance(source, str) or not source:
        return 0
    return max(-MAX_PRIORITY_S, min(MAX_PRIORITY_S, evaluate_int(source, event)))


async def order(conn: Conn, starts: Sequence[Start], *, now: datetime) -> None:
    """Give each start its place in its function's line: shifted earlier by its priority.

    Fairness between functions needs nothing here: claims go round-robin across functions.
    """
    for start in starts:
        start.available_at = now - timedelta(seconds=priority_s(start.config, start.event))
