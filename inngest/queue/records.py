"""The records that go into and come out of the work queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to enqueue. ``available_at`` None means due at the enqueue's ``now``."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    available_at: datetime | None = None
    partition_key: str | None = None
    # Fairness group (e.g. a function): claims go round-robin across groups.
    group_key: str = ""


@dataclass(frozen=True, slots=True)
class Claimed:
    """An item held under a lease; ``(id, lease_token)`` fences every later write for it.

    The items of one claim share a fresh token; the pair is what is unique, so fencing is per item.

    ``attempt`` counts retries recorded through ``ops.retry`` (0 on the first delivery); a lease
    that simply expired is not an attempt.
    """

    id: int
    kind: str
    payload: dict[str, Any]
    priority: int
    attempt: int
    lease_token: UUID
    partition_key: str | None
    created_at: datetime
    # When the item was due before this claim (its place in line; kept by park for the gate).
    due_at: datetime | None = None

    @property
    def lease(self) -> tuple[int, UUID]:
        """The ``(id, lease_token)`` pair that extend, complete and release take."""
        return (self.id, self.lease_token)
