"""Names every Redis key and channel the server uses, all under one configured prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under ``prefix`` (tests use a random prefix so runs never collide)."""

    prefix: str

    @property
    def wakeup_channel(self) -> str:
        """Pub/sub channel on which a process announces new due work."""
        return f"{self.prefix}:wakeup"

    # Flow control (inngest.coord.redis_limits). The caller's key is already namespaced
    # ("fn:<uuid>", "env:<name>", ...); the kind segment keeps a function's concurrency set, its
    # throttle bucket and its rate-limit bucket apart even when the caller uses one key for all.

    def slots(self, key: str) -> str:
        """Sorted set of a concurrency key's lease holders, scored by lease expiry (µs)."""
        return f"{self.prefix}:slots:{key}"

    def throttle(self, key: str) -> str:
        """GCRA theoretical arrival time (µs) of a throttle key."""
        return f"{self.prefix}:throttle:{key}"

    def rate_limit(self, key: str) -> str:
        """GCRA theoretical arrival time (µs) of a rate-limit key."""
        return f"{self.prefix}:rate:{key}"
