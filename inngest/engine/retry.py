"""Retry timing: Inngest's backoff table, jitter, and Retry-After overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Inngest's table, indexed by the attempt that just failed; the last value repeats. Keeping the
# same schedule means a function behaves the same here as on Inngest's servers.
BACKOFF_S: tuple[int, ...] = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
# Spread retries of many runs that failed together so they do not return as a herd.
MAX_JITTER_S = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before the next attempt of a call."""

    fixed_interval_s: float | None = None  # `--retry-interval`: a flat delay, handy in development

    def next_at(
        self, now: datetime, failed_attempt: int, jitter: float, retry_at: datetime | None = None
    ) -> datetime:
        """When attempt ``failed_attempt + 1`` may run; ``jitter`` is a random number in [0, 1)."""
        if retry_at is not None:
            return max(retry_at, now)
        if self.fixed_interval_s is not None:
            return now + timedelta(seconds=self.fixed_interval_s)
        base = BACKOFF_S[min(failed_attempt, len(BACKOFF_S) - 1)]
        return now + timedelta(seconds=base + jitter * MAX_JITTER_S)
