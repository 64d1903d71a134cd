"""Run lifecycle: statuses and the limits a run lives within."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """The wire names Inngest's REST API uses for run statuses."""

    SCHEDULED = "Scheduled"  # created, no SDK call has started yet
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"  # flow control (rate limit, singleton) decided it never runs

    @property
    def ended(self) -> bool:
        return self in (
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.SKIPPED,
        )


# Inngest's limits (PROTOCOL.md §6.21); past them a run fails non-retriably with a clear reason.
MAX_STEPS_PER_RUN = 1000
MAX_STEP_OUTPUT_BYTES = 4 * 1024 * 1024
MAX_RUN_STATE_BYTES = 32 * 1024 * 1024
MAX_SLEEP_S = 366 * 24 * 3600

# The discovery call's step id: "run the function and tell me what comes next".
DISCOVERY = "step"
