"""Flow control on Redis: concurrency leases in sorted sets, throttle and rate limit as GCRA.

Semantics are in ``inngest.coord.limits``; this module maps them onto Redis with one round trip
per call:

- A concurrency key is a sorted set ``Keys.slots(key)``: member = holder, score = lease expiry in
  microseconds. ``slots_acquire.lua`` removes expired holders, checks every key, then adds the
  holder to all of them, in one script over all the claimed keys (all or nothing, atomically).
  ``slots_release.lua`` and ``slots_refresh.lua`` each take a whole batch in one call.
- Throttle and rate-limit buckets are plain keys holding the GCRA theoretical arrival time,
  updated by ``gcra.lua``, expiring when the bucket is full again (absent = full).
- Every key carries a TTL, so keys of per-value limits nobody uses again disappear by themselves.

Redis is never the only copy: losing its data loses leases the worker re-asserts through
``refresh`` from its heartbeat, and buckets, which then start full (a short burst of admissions).

Scripts are loaded once per server (EVALSHA; on NOSCRIPT, as after a Redis restart, SCRIPT LOAD
and again). Time is the caller's ``now`` (see "Clocks" in ``inngest.coord.limits``), never Redis
TIME, so every process's decisions follow its injected clock. Not for Redis Cluster: one acquire's
keys may hash to different slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from inngest.coord import limits
from inngest.coord.keys import Keys
from inngest.coord.limits import GRANTED, Acquired, Gcra, Holding, SlotClaim

# A concurrency set outlives its latest lease by this much, measured on the Redis clock while the
# lease is on the callers' clocks: generous room for clock skew between processes, at the cost of
# an abandoned set of a few bytes lingering for a minute.
KEY_GRACE_MS = 60_000
# Pairs per refresh script call: keeps any one script short, as Redis runs nothing else meanwhile
# (a few microseconds per pair); a worker rarely has more in flight.
REFRESH_CHUNK = 1000


class _Script:
    """One Lua file of this package, sent by its SHA1 and loaded when the server lacks it."""

    def __init__(self, filename: str) -> None:
        self.text = resources.files("inngest.coord").joinpath(filename).read_text("utf-8")
        self.sha: str | None = None

    async def __call__(self, client: Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        if self.sha is not None:
            try:
                return await client.evalsha(self.sha, len(keys), *keys, *args)
            except NoScriptError:
                pass  # the server restarted or flushed its scripts: load it again below
        self.sha = str(await client.script_load(self.text))
        return await client.evalsha(self.sha, len(keys), *keys, *args)


class RedisLimits:
    """``Limits`` on one Redis (``client`` is shared; any ``decode_responses`` setting works,
    every reply used is an integer)."""

    def __init__(self, client: Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        # Per instance, not per module: the SHA is per server, and tests use several servers.
        self._acquire = _Script("slots_acquire.lua")
        self._release = _Script("slots_release.lua")
        self._refresh = _Script("slots_refresh.lua")
        self._gcra = _Script("gcra.lua")

    async def acquire(
        self, claims: Sequence[SlotClaim], *, holder: str, now: datetime, lease_s: float
    ) -> Acquired:
        wanted = limits.normalise(claims)
        if not wanted:
            return GRANTED
        now_us = limits.to_us(now)
        reply = await self._acquire(
            self._client,
            [self._keys.slots(claim.key) for claim in wanted],
            [
                holder,
                now_us,
                now_us + limits.lease_us(lease_s),
                KEY_GRACE_MS,
                *[claim.limit for claim in wanted],
            ],
        )
        index, in_use = int(reply[0]), int(reply[1])
        if index == 0:
            return GRANTED
        return Acquired(ok=False, full_key=wanted[index - 1].key, in_use=in_use)

    async def release(self, keys: Sequence[str], *, holder: str) -> None:
        if keys:
            await self._release(self._client, [self._keys.slots(key) for key in keys], [holder])

    async def refresh(self, holdings: Sequence[Holding], *, now: datetime, lease_s: float) -> None:
        pairs = [(self._keys.slots(key), holder) for keys, holder in holdings for key in keys]
        now_us = limits.to_us(now)
        expires_us = now_us + limits.lease_us(lease_s)
        for start in range(0, len(pairs), REFRESH_CHUNK):
            chunk = pairs[start : start + REFRESH_CHUNK]
            await self._refresh(
                self._client,
                [key for key, _ in chunk],
                [now_us, expires_us, KEY_GRACE_MS, *[holder for _, holder in chunk]],
            )

    async def in_use(self, key: str, *, now: datetime) -> int:
        # "(" makes the bound exclusive: a lease expiring at exactly `now` has expired.
        count = await self._client.zcount(self._keys.slots(key), f"({limits.to_us(now)}", "+inf")
        return int(count)

    async def throttle(
        self, key: str, *, limit: int, period_s: float, burst: int, now: datetime
    ) -> datetime | None:
        gcra = Gcra.of(limit=limit, period_s=period_s, burst=burst)
        allow_at = await self._take(self._keys.throttle(key), gcra, now)
        return None if allow_at == 0 else limits.from_us(allow_at)

    async def rate_limit(self, key: str, *, limit: int, period_s: float, now: datetime) -> bool:
        gcra = Gcra.of(limit=limit, period_s=period_s, burst=limit)
        return await self._take(self._keys.rate_limit(key), gcra, now) == 0

    async def sweep(self, *, now: datetime) -> int:
        # Nothing to do: every key carries a TTL.
        return 0

    async def _take(self, bucket: str, gcra: Gcra, now: datetime) -> int:
        reply = await self._gcra(
            self._client, [bucket], [limits.to_us(now), gcra.emission_us, gcra.tolerance_us]
        )
        return int(reply)
