"""Stand-ins for `inngest.server` used by the CLI tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inngest.config import Settings


@dataclass
class FakeServerInfo:
    api_url: str = "http://127.0.0.1:8288"
    docs_url: str = "http://127.0.0.1:8288/docs"
    database: str = "postgresql://postgres:***@127.0.0.1:5432/inngest"
    redis: str | None = None
    personality: str = "dev"


@dataclass
class FakeServer:
    """Records the settings `inngest.server.run` was called with and reports ready at once."""

    calls: list[Settings] = field(default_factory=list)
    info: FakeServerInfo = field(default_factory=FakeServerInfo)

    def run(self, settings: Settings, *, on_ready: Callable[[Any], None] | None = None) -> None:
        self.calls.append(settings)
        if on_ready is not None:
            self.info.personality = settings.personality
            on_ready(self.info)

    @property
    def settings(self) -> Settings:
        assert len(self.calls) == 1
        return self.calls[0]
