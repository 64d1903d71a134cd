"""Conformance of the flow-control backends: Redis and PostgreSQL grant concurrency slots,
throttle and rate-limit exactly alike. Time is passed in, so expiry is tested without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from inngest.coord.limits import Acquired, SlotClaim
from tests.integration.coord.conftest import Backend

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LEASE_S = 10.0
FN = "fn:0b6f3a52-6f0e-4d5e-9a53-5b1c2a7e9d10"
KEYED = f"{FN}:9f86d081"
SHARED = "env:shared"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def acquire(backend: Backend, holder: str, *claims: SlotClaim, now: float = 0) -> Acquired:
    return await backend.limits.acquire(claims, holder=holder, now=at(now), lease_s=LEASE_S)


# Concurrency.


async def test_limit_is_respected(backend: Backend) -> None:
    claim = SlotClaim(FN, 2)
    assert await acquire(backend, "a", claim) == Acquired(ok=True, full_key=None, in_use=0)
    assert (await acquire(backend, "b", claim)).ok
    assert await acquire(backend, "c", claim) == Acquired(ok=False, full_key=FN, in_use=2)
    assert await backend.limits.in_use(FN, now=at(0)) == 2


async def test_all_or_nothing_over_two_keys(backend: Backend) -> None:
    fn, shared = SlotClaim(FN, 5), SlotClaim(SHARED, 1)
    assert (await acquire(backend, "other", shared)).ok
    # The second key is full: the first is left untouched.
    refused = await acquire(backend, "run", fn, shared)
    assert refused == Acquired(ok=False, full_key=SHARED, in_use=1)
    assert await backend.limits.in_use(FN, now=at(0)) == 0
    # Once there is room in both, the holder gets both.
    await backend.limits.release([SHARED], holder="other")
    assert (await acquire(backend, "run", fn, shared)).ok
    assert await backend.limits.in_use(FN, now=at(0)) == 1
    assert await backend.limits.in_use(SHARED, now=at(0)) == 1


async def test_refusal_leaves_the_holders_other_slot_as_it_was(backend: Backend) -> None:
    fn, shared = SlotClaim(FN, 5), SlotClaim(SHARED, 1)
    assert (await acquire(backend, "run", fn, now=0)).ok
    assert (await acquire(backend, "other", shared, now=0)).ok
    assert not (await acquire(backend, "run", fn, shared, now=5)).ok
    # The refused call did not extend the lease it already had in FN: it ends at 10, not 15.
    assert await backend.limits.in_use(FN, now=at(9)) == 1
    assert await backend.limits.in_use(FN, now=at(10)) == 0


async def test_the_first_full_key_in_the_callers_order_is_reported(backend: Backend) -> None:
    assert (await acquire(backend, "x", SlotClaim(FN, 1), SlotClaim(SHARED, 1))).ok
    refused = await acquire(backend, "y", SlotClaim(SHARED, 1), SlotClaim(FN, 1))
    assert refused == Acquired(ok=False, full_key=SHARED, in_use=1)
    refused = await acquire(backend, "y", SlotClaim(FN, 1), SlotClaim(SHARED, 1))
    assert refused == Acquired(ok=False, full_key=FN, in_use=1)


async def test_acquire_is_idempotent_and_extends_the_lease(backend: Backend) -> None:
    claim = SlotClaim(FN, 1)
    assert (await acquire(backend, "a", claim, now=0)).ok
    assert (await acquire(backend, "a", claim, now=8)).ok
    assert await backend.limits.in_use(FN, now=at(8)) == 1
    # Extended to 18 by the second call.
    assert await backend.limits.in_use(FN, now=at(15)) == 1
    assert not (await acquire(backend, "b", claim, now=15)).ok
    assert (await acquire(backend, "b", claim, now=18)).ok


async def test_a_holder_keeps_its_slot_when_the_limit_is_lowered(backend: Backend) -> None:
    assert (await acquire(backend, "a", SlotClaim(FN, 3))).ok
    assert (await acquire(backend, "b", SlotClaim(FN, 3))).ok
    # Re-acquiring as a holder succeeds whatever the count; a newcomer waits.
    assert (await acquire(backend, "b", SlotClaim(FN, 1))).ok
    assert await acquire(backend, "c", SlotClaim(FN, 1)) == Acquired(False, FN, 2)


async def test_repeated_keys_count_once_with_the_smaller_limit(backend: Backend) -> None:
    assert (await acquire(backend, "a", SlotClaim(FN, 3), SlotClaim(FN, 1))).ok
    assert await backend.limits.in_use(FN, now=at(0)) == 1
    assert not (await acquire(backend, "b", SlotClaim(FN, 2), SlotClaim(FN, 1))).ok


async def test_release_frees_the_slot(backend: Backend) -> None:
    claim = SlotClaim(FN, 1)
    assert (await acquire(backend, "a", claim)).ok
    assert not (await acquire(backend, "b", claim)).ok
    await backend.limits.release([FN], holder="a")
    assert await backend.limits.in_use(FN, now=at(0)) == 0
    assert (await acquire(backend, "b", claim)).ok
    # Releasing what is not held changes nothing.
    await backend.limits.release([FN, SHARED], holder="a")
    await backend.limits.release([], holder="b")
    assert await backend.limits.in_use(FN, now=at(0)) == 1


async def test_expired_leases_stop_counting(backend: Backend) -> None:
    claim = SlotClaim(FN, 1)
    assert (await acquire(backend, "crashed", claim, now=0)).ok
    assert await backend.limits.in_use(FN, now=at(LEASE_S - 0.001)) == 1
    assert not (await acquire(backend, "b", claim, now=LEASE_S - 0.001)).ok
    # A lease ending at exactly `now` has ended.
    assert await backend.limits.in_use(FN, now=at(LEASE_S)) == 0
    assert (await acquire(backend, "b", claim, now=LEASE_S)).ok
    assert await backend.limits.in_use(FN, now=at(LEASE_S)) == 1


async def test_an_expired_holder_acquires_like_a_newcomer(backend: Backend) -> None:
    claim = SlotClaim(FN, 1)
    assert (await acquire(backend, "a", claim, now=0)).ok
    assert (await acquire(backend, "b", claim, now=20)).ok
    assert await acquire(backend, "a", claim, now=21) == Acquired(False, FN, 1)


async def test_refresh_rebuilds_the_counts_after_the_state_was_lost(backend: Backend) -> None:
    """The FLUSHALL scenario: Redis restarts empty (or the tables are emptied); the worker's next
    heartbeat re-asserts what is in flight and the limits hold again."""
    fn, shared = SlotClaim(FN, 2), SlotClaim(SHARED, 5)
    assert (await acquire(backend, "run-1", fn, shared)).ok
    assert (await acquire(backend, "run-2", fn)).ok
    await backend.wipe()
    assert await backend.limits.in_use(FN, now=at(1)) == 0
    await backend.limits.refresh(
        [([FN, SHARED], "run-1"), ([FN], "run-2")], now=at(1), lease_s=LEASE_S
    )
    assert await backend.limits.in_use(FN, now=at(1)) == 2
    assert await backend.limits.in_use(SHARED, now=at(1)) == 1
    assert await acquire(backend, "run-3", fn, now=1) == Acquired(False, FN, 2)
    # The refresh is also a lease extension: valid until 11.
    assert await backend.limits.in_use(FN, now=at(10.5)) == 2
    assert await backend.limits.in_use(FN, now=at(11)) == 0


async def test_refresh_re_creates_slots_even_above_the_limit(backend: Backend) -> None:
    """Work already running is never revoked: a key may sit above its limit until enough
    holders leave; meanwhile nobody new gets in."""
    claim = SlotClaim(FN, 2)
    assert (await acquire(backend, "run-1", claim)).ok
    assert (await acquire(backend, "run-2", claim)).ok
    await backend.wipe()
    # Before the heartbeat, a newcomer gets in on the lost count...
    assert (await acquire(backend, "run-3", claim)).ok
    await backend.limits.refresh([([FN], "run-1"), ([FN], "run-2")], now=at(0), lease_s=LEASE_S)
    assert await backend.limits.in_use(FN, now=at(0)) == 3
    await backend.limits.release([FN], holder="run-1")
    assert await acquire(backend, "run-4", claim) == Acquired(False, FN, 2)
    await backend.limits.release([FN], holder="run-2")
    assert (await acquire(backend, "run-4", claim)).ok


async def test_refresh_never_shortens_a_lease(backend: Backend) -> None:
    assert (await acquire(backend, "a", SlotClaim(FN, 1), now=5)).ok
    await backend.limits.refresh([([FN], "a")], now=at(0), lease_s=LEASE_S)
    await backend.limits.refresh([], now=at(0), lease_s=LEASE_S)
    assert await backend.limits.in_use(FN, now=at(12)) == 1


async def test_fifty_racing_acquires_get_exactly_the_limit(backend: Backend) -> None:
    claim = SlotClaim(FN, 5)
    results: list[bool] = []

    async def contend(i: int) -> None:
        results.append((await acquire(backend, f"run-{i}", claim)).ok)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(contend, i)
    assert results.count(True) == 5
    assert await backend.limits.in_use(FN, now=at(0)) == 5


async def test_racing_acquires_over_two_keys_stay_all_or_nothing(backend: Backend) -> None:
    keyed, shared = SlotClaim(KEYED, 5), SlotClaim(SHARED, 3)
    results: list[bool] = []

    async def contend(i: int) -> None:
        # Half of them name the keys in the other order: locks are still taken in one order.
        claims = (keyed, shared) if i % 2 else (shared, keyed)
        results.append((await acquire(backend, f"run-{i}", *claims)).ok)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(contend, i)
    assert results.count(True) == 3
    assert await backend.limits.in_use(KEYED, now=at(0)) == 3
    assert await backend.limits.in_use(SHARED, now=at(0)) == 3


async def test_sweep_removes_only_what_has_expired(backend: Backend) -> None:
    assert (await acquire(backend, "a", SlotClaim(FN, 1), now=0)).ok
    assert await backend.limits.throttle(FN, limit=1, period_s=60, burst=1, now=at(0)) is None
    await backend.limits.sweep(now=at(5))
    assert await backend.limits.in_use(FN, now=at(5)) == 1
    assert await backend.limits.throttle(FN, limit=1, period_s=60, burst=1, now=at(5)) == at(60)
    await backend.limits.sweep(now=at(61))
    assert await backend.limits.in_use(FN, now=at(61)) == 0
    assert (await acquire(backend, "b", SlotClaim(FN, 1), now=61)).ok


async def test_bad_arguments_are_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="limit"):
        await acquire(backend, "a", SlotClaim(FN, 0))
    with pytest.raises(ValueError, match="naive"):
        await backend.limits.in_use(FN, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="burst"):
        await backend.limits.throttle(FN, limit=1, period_s=1, burst=0, now=at(0))
    with pytest.raises(ValueError, match="period_s"):
        await backend.limits.rate_limit(FN, limit=1, period_s=0, now=at(0))


# Throttle.


async def test_throttle_smooths_starts_over_the_period(backend: Backend) -> None:
    async def throttle(now: float) -> datetime | None:
        return await backend.limits.throttle(FN, limit=2, period_s=10, burst=1, now=at(now))

    assert await throttle(0) is None
    # Burst 1: no two starts at once; one every 10 s / 2.
    assert await throttle(0) == at(5)
    assert await throttle(5) is None
    # The third call within the period learns when it can start...
    assert await throttle(6) == at(10)
    assert await throttle(9.999) == at(10)
    # ...and does then.
    assert await throttle(10) is None
    # An idle bucket refills, up to the burst only.
    assert await throttle(100) is None
    assert await throttle(100) == at(105)


async def test_throttle_allows_bursts_up_to_burst(backend: Backend) -> None:
    async def throttle(now: float) -> datetime | None:
        return await backend.limits.throttle(KEYED, limit=3, period_s=30, burst=3, now=at(now))

    assert [await throttle(0) for _ in range(3)] == [None, None, None]
    assert await throttle(0) == at(10)
    assert await throttle(10) is None
    assert await throttle(10) == at(20)


async def test_throttle_keys_are_independent(backend: Backend) -> None:
    assert await backend.limits.throttle(FN, limit=1, period_s=10, burst=1, now=at(0)) is None
    assert await backend.limits.throttle(KEYED, limit=1, period_s=10, burst=1, now=at(0)) is None
    # The same caller key used for a rate limit and a concurrency limit is separate state.
    assert await backend.limits.rate_limit(FN, limit=1, period_s=10, now=at(0))
    assert (await acquire(backend, "a", SlotClaim(FN, 1))).ok


# Rate limit.


async def test_rate_limit_allows_the_limit_then_skips_until_the_period_passes(
    backend: Backend,
) -> None:
    async def rate_limit(now: float) -> bool:
        return await backend.limits.rate_limit(SHARED, limit=3, period_s=60, now=at(now))

    assert [await rate_limit(0) for _ in range(3)] == [True, True, True]
    # Refused calls consume nothing, however many there are.
    assert [await rate_limit(1) for _ in range(5)] == [False] * 5
    assert await rate_limit(19.999) is False
    # A full period later the whole allowance is back.
    assert [await rate_limit(60) for _ in range(4)] == [True, True, True, False]


async def test_rate_limit_refills_gradually(backend: Backend) -> None:
    """GCRA: one unit comes back every period / limit."""

    async def rate_limit(now: float) -> bool:
        return await backend.limits.rate_limit(SHARED, limit=3, period_s=60, now=at(now))

    assert [await rate_limit(0) for _ in range(3)] == [True, True, True]
    assert [await rate_limit(20) for _ in range(2)] == [True, False]
    assert [await rate_limit(40) for _ in range(2)] == [True, False]
