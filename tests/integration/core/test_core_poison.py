"""An item whose execution keeps crashing the server's own code is retried with backoff, then
given up: its run fails with the reason instead of being re-claimed forever."""

from __future__ import annotations

from typing import Any

import pytest

from inngest.clock import SystemClock
from inngest.db.pool import Pool
from inngest.worker import runtime as runtime_module
from inngest.worker.execute import Executor
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import rows, running_worker, send, sync, wait_final

pytestmark = pytest.mark.anyio


async def test_a_crashing_item_is_given_up_and_its_run_fails(
    pool: Pool, db_url: str, stub: StubSdk, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashes: list[int] = []

    async def crash(self: Executor, item: Any) -> None:
        crashes.append(item.attempt)
        raise RuntimeError("a bug in the server")

    monkeypatch.setattr(Executor, "run", crash)
    clock = SystemClock()
    await sync(pool, stub.app_sync([{"id": "stub-app-boom", "event": "demo/boom"}]), clock.now())
    _, ingested = await send(pool, {"name": "demo/boom", "data": {}}, now=clock.now())
    (run_id,) = ingested.run_ids
    async with running_worker(pool, db_url) as worker:
        worker.runtime.crash_backoff_s = 0.01
        run = await wait_final(pool, run_id)
    assert run["status"] == "Failed"
    assert run["error"]["name"] == "InternalError"
    assert crashes == list(range(runtime_module.MAX_CRASHES))
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]
