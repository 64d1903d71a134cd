"""Gates before an SDK call: concurrency slots (held while the call is in flight) and the
throttle on run starts (PROTOCOL.md §6.7, §6.8).

An item that cannot pass is parked in the queue, not retried: it loses no attempt, holds no
lease, and is woken when a slot frees (open_gate) or, as a safety net, after PARK_S.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inngest.coord.limits import Limits, SlotClaim
from inngest.ingest import flow
from inngest.protocol import durations

# How long a parked item waits if no release wakes it (a release in a process that died, or a
# slot whose lease simply expired): the poll that keeps waiting correct without busy-polling.
PARK_S = 10.0


@dataclass(frozen=True, slots=True)
class Passed:
    keys: tuple[str, ...]  # concurrency keys now held for this call (release them after)


@dataclass(frozen=True, slots=True)
class Blocked:
    until: datetime
    gate_key: str  # what the item waits for, shown by "why is this run waiting?"
    reason: str
    limit: int | None = None  # the concurrency limit of gate_key


def slot_claims(config: dict[str, Any], function_id: str, event: dict[str, Any]) -> list[SlotClaim]:
    """Up to two concurrency limits, as namespaced slot keys (scope fn, env or account)."""
    raw = config.get("concurrency")
    entries: list[Any]
    if isinstance(raw, int):
        entries = [{"limit": raw}]
    elif isinstance(raw, dict):
        entries = [raw]
    elif isinstance(raw, list):
        entries = raw[:2]
    else:
        return []
    claims = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        limit = entry.get("limit")
        if not isinstance(limit, int) or limit <= 0:
            continue  # 0 or absent means "no limit" in Inngest's configs
        scope = entry.get("scope") or "fn"
        value = flow.key_value(entry.get("key"), event)
        if scope == "fn":
            key = f"c:fn:{function_id}:{value}"
        elif scope == "env":
            key = f"c:env:{value}"
        else:
            key = f"c:account:{value}"
        claims.append(SlotClaim(key=key, limit=limit))
    return claims


async def enter(
    limits: Limits,
    *,
    holder: str,
    function_id: str,
    config: dict[str, Any],
    event: dict[str, Any],
    first_call: bool,
    now: datetime,
    lease_s: float,
) -> Passed | Blocked:
    """Throttle (run starts only), then concurrency slots; all or nothing."""
    throttle = config.get("throttle")
    if first_call and isinstance(throttle, dict):
        blocked = await _throttle(limits, throttle, function_id, event, now=now)
        if blocked is not None:
            return blocked
    claims = slot_claims(config, function_id, event)
    if not claims:
        return Passed(())
    acquired = await limits.acquire(claims, holder=holder, now=now, lease_s=lease_s)
    if acquired.ok:
        return Passed(tuple(c.key for c in claims))
    full = acquired.full_key or claims[0].key
    limit = next((c.limit for c in claims if c.key == full), None)
    return Blocked(now + timedelta(seconds=PARK_S), full, "concurrency limit reached", limit)


async def _throttle(
    limits: Limits,
    config: dict[str, Any],
    function_id: str,
    event: dict[str, Any],
    *,
    now: datetime,
) -> Blocked | None:
    limit, period = config.get("limit"), config.get("period")
    if not isinstance(limit, int) or limit < 1 or not isinstance(period, str):
        return None
    burst = config.get("burst")
    key = f"t:{function_id}:{flow.key_value(config.get('key'), event)}"
    until = await limits.throttle(
        key,
        limit=limit,
        period_s=durations.parse_duration(period).total_seconds(),
        burst=burst if isinstance(burst, int) and burst > 0 else 1,
        now=now,
    )
    if until is None:
        return None
    return Blocked(until, key, "throttled")
