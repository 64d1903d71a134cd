"""Flow-control coordination: concurrency slots, throttle and rate-limit buckets, one interface.

Two implementations pass the same conformance suite: ``redis_limits.RedisLimits`` (Lua scripts
on sorted sets and plain keys) and ``pg_limits.PostgresLimits`` (the ``coord_slots`` and
``coord_buckets`` tables). This module holds what they share: the records, the protocol, and the
pure arithmetic (time in integer microseconds, GCRA parameters), so both decide alike.

Concurrency slots are leases
    ``acquire`` gives ``holder`` a slot in every claimed key or in none (a function may have two
    concurrency limits; a run must fit both). A slot expires ``lease_s`` after the ``now`` it was
    last asserted; an expired holder no longer counts, so a crashed process never leaks capacity.
    Acquiring again as a current holder succeeds whatever the count (idempotent) and extends the
    lease. Expiry never moves backwards: re-asserting with an earlier expiry keeps the later one.
    ``refresh`` re-asserts (keys, holder) pairs without looking at limits, re-creating any that
    are missing: the worker calls it from its lease heartbeat for everything in flight, so after
    Redis lost its data (restart, FLUSHALL) or the tables were emptied, the counts are rebuilt from
    what really runs within one heartbeat. Until then a key may admit more than its limit, and a
    refresh may leave a key above its limit (work already running is never revoked); new acquires
    wait until the count drops below the limit again.

Throttle (GCRA)
    A bucket per key refilled at ``limit / period_s`` and holding ``burst`` starts: at most
    ``burst`` at one instant, then one every ``period_s / limit``. ``burst=1`` means strictly
    smoothed, as Inngest documents it ("defaults to 1, which disables bursting"): limit 2 per 10 s
    admits one start every 5 s. Over any window of length ``period_s`` at most
    ``limit + burst - 1`` starts pass. A refused call learns the earliest instant at which a
    retry succeeds (if nobody else takes the capacity first) and consumes nothing.

Rate limit (GCRA with the burst equal to the limit)
    ``limit`` calls may pass at once; after that one more every ``period_s / limit``, so a key
    that used its whole allowance is whole again ``period_s`` later. On average at most ``limit``
    per ``period_s``; in the worst case a window of length ``period_s`` sees ``2 * limit - 1``
    (a full burst at its start, then the refill). This is Inngest's own choice too; it keeps one
    number per key instead of a log of every call. A refused call consumes nothing.

Clocks
    Every decision uses the ``now`` the caller passes, never the Redis or PostgreSQL clock, so
    behaviour follows the injected clock and tests need no waiting. With several processes, their
    clocks must agree (NTP) to well within ``lease_s`` and the throttle spacing: a process whose
    clock runs ahead sees other holders' leases expire early and admits too much by that much.
    Time is integer microseconds since the Unix epoch throughout (exact in a Lua double until
    year 2255; PostgreSQL's own resolution); a GCRA emission interval is rounded up to a whole
    microsecond, which errs on the side of admitting slightly less.

Keys are namespaced by the caller ("fn:<uuid>", "fn:<uuid>:<key hash>", "env:<name>"); the
implementations keep slots, throttle and rate-limit state of one key apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SlotClaim:
    """A slot wanted in ``key``, which admits at most ``limit`` holders (>= 1)."""

    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Acquired:
    """The answer of ``acquire``. When refused, ``full_key`` is the first claimed key (in the
    caller's order) that had no room and ``in_use`` its live holders at that moment, for "why is
    this run waiting?". When granted, ``full_key`` is None and ``in_use`` 0."""

    ok: bool
    full_key: str | None
    in_use: int


GRANTED = Acquired(ok=True, full_key=None, in_use=0)

Holding = tuple[Sequence[str], str]
"""(keys, holder): the slots one in-flight item holds."""


class Limits(Protocol):
    """Concurrency slots, throttle and rate limit; see the module docstring for the semantics."""

    async def acquire(
        self, claims: Sequence[SlotClaim], *, holder: str, now: datetime, lease_s: float
    ) -> Acquired:
        """All or nothing: afterwards ``holder`` holds a slot in every claimed key, or the
        answer says which key was full and nothing changed for ``holder``."""
        ...

    async def release(self, keys: Sequence[str], *, holder: str) -> None:
        """Give up ``holder``'s slots in ``keys``; releasing what is not held is a no-op."""
        ...

    async def refresh(self, holdings: Sequence[Holding], *, now: datetime, lease_s: float) -> None:
        """Re-assert every (keys, holder) until ``now + lease_s``, re-creating missing slots
        whatever the limits say (the reconcile path)."""
        ...

    async def in_use(self, key: str, *, now: datetime) -> int:
        """Live holders of ``key`` at ``now``."""
        ...

    async def throttle(
        self, key: str, *, limit: int, period_s: float, burst: int, now: datetime
    ) -> datetime | None:
        """None: allowed, and counted. Otherwise the earliest instant a retry can pass."""
        ...

    async def rate_limit(self, key: str, *, limit: int, period_s: float, now: datetime) -> bool:
        """True: allowed, and counted. False: over the limit (the caller skips the run)."""
        ...

    async def sweep(self, *, now: datetime) -> int:
        """Delete state that has expired by ``now`` and that no later call would look at
        (slots of keys nobody acquires again, drained buckets); return how much went. For a
        periodic maintenance task; correctness never depends on it."""
        ...


# Shared arithmetic.


def aware(when: datetime) -> datetime:
    """``when`` itself, once checked to be timezone-aware: a naive time means a caller bug, and
    each backend would read it differently (Redis as UTC, PostgreSQL in its session zone)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when!r}: pass an aware one (UTC)")
    return when


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch; ``when`` must be timezone-aware."""
    return (aware(when) - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def lease_us(lease_s: float) -> int:
    if not lease_s > 0:
        raise ValueError(f"lease_s must be positive, got {lease_s}")
    return math.ceil(lease_s * 1_000_000)


def normalise(claims: Sequence[SlotClaim]) -> list[SlotClaim]:
    """Claims in the caller's order with repeated keys merged (the smallest limit wins), so
    "first full key" keeps its meaning and no backend sees a key twice."""
    merged: dict[str, int] = {}
    for claim in claims:
        if claim.limit < 1:
            raise ValueError(f"concurrency limit of {claim.key!r} must be >= 1, got {claim.limit}")
        merged[claim.key] = min(claim.limit, merged.get(claim.key, claim.limit))
    return [SlotClaim(key, limit) for key, limit in merged.items()]


@dataclass(frozen=True, slots=True)
class Gcra:
    """GCRA parameters in microseconds: one start per ``emission_us``; a start is allowed when
    ``max(tat, now) + emission_us - tolerance_us <= now``, where ``tat`` is the bucket's
    theoretical arrival time, which then moves to ``max(tat, now) + emission_us``."""

    emission_us: int
    tolerance_us: int

    @classmethod
    def of(cls, *, limit: int, period_s: float, burst: int) -> Gcra:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        if not period_s > 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        # Rounded up: never admit faster than the configured rate.
        emission_us = max(1, math.ceil(period_s * 1_000_000 / limit))
        return cls(emission_us=emission_us, tolerance_us=emission_us * burst)
