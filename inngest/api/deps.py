"""What every handler may use, wired once by the server."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from litestar.di import NamedDependency

from inngest.clock import Clock
from inngest.config import Settings
from inngest.coord.limits import Limits
from inngest.coord.wakeup import Wakeups
from inngest.db.pool import Pool


@dataclass(frozen=True, slots=True)
class ApiDeps:
    settings: Settings
    pool: Pool
    clock: Clock
    client: httpx.AsyncClient  # for sync PUTs to apps
    wakeups: Wakeups
    redis_ping: object | None = None  # an async callable returning bool, when Redis is used
    limits: Limits | None = None  # flow control (rate limits at ingest); None disables it

    @property
    def keyed(self) -> bool:
        return self.settings.personality == "cloud"

    @property
    def signing_keys(self) -> list[str]:
        keys = [self.settings.auth.signing_key, self.settings.auth.signing_key_fallback]
        return [k.get_secret_value() for k in keys if k is not None]

    @property
    def event_keys(self) -> set[str]:
        return {k.get_secret_value() for k in self.settings.auth.event_keys}


# Handlers ask for the dependencies by this annotation (Litestar 3 drops inferred dependencies).
Deps = NamedDependency[ApiDeps]
