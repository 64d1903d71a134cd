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
