"""Cron triggers (PROTOCOL.md §6.15): an app serving ``fc-cron`` on ``* * * * * *`` (the
six-field form, seconds first: every second) gets one run per tick.

Each run's event is ``inngest/scheduled.timer`` with the tick's ``scheduledAt``; ticks are
whole seconds, each appears in exactly one run, and several distinct ticks fire within
seconds. Runs on ``inngest dev`` and on ``inngest start`` with Redis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e

EVERY_SECOND = "* * * * * *"


def cron_runs(api: harness.ApiClient, slug: str) -> list[dict[str, Any]]:
    """Completed runs of ``slug`` with their outputs (the list shows outputs already)."""
    return [r for r in api.list_runs(function=slug) if r["status"] == "Completed"]


def assert_one_run_per_tick(runs: list[dict[str, Any]]) -> list[str]:
    """Every run is a timer run of a whole-second tick, and no tick ran twice; the ticks."""
    ticks = []
    for run in runs:
        output = run["output"]
        assert output["name"] == "inngest/scheduled.timer", run
        tick = harness.parse_time(output["data"]["scheduledAt"])
        assert tick.microsecond == 0, tick
        ticks.append(output["data"]["scheduledAt"])
    repeated = {tick: n for tick, n in Counter(ticks).items() if n > 1}
    assert not repeated, f"ticks with more than one run: {repeated}"
    return ticks


@pytest.mark.parametrize("mode", harness.DEPLOYMENT_MODES)
def test_every_second_cron_runs_once_per_tick(
    sdk: harness.Sdk,
    mode: harness.DeploymentMode,
    redis_url: str,
    start_server: Callable[..., harness.Server],
    start_app: Callable[..., harness.SdkApp],
) -> None:
    server = start_server(mode, redis_url=redis_url if mode == "start" else None)
    app = start_app(
        sdk,
        server,
        mode="cloud" if mode == "start" else "dev",
        functions=["fc-cron"],
        env={"CRON_SCHEDULE": EVERY_SECOND},
    )
    server.api.sync_app(app.url)
    slug = app.slug("fc-cron")

    runs = harness.wait_until(
        lambda: (found := cron_runs(server.api, slug)) and len(found) >= 4 and found,
        timeout_s=30,
        what="four cron runs",
    )

    assert len(set(assert_one_run_per_tick(runs))) >= 4
    called = {c["run_id"] for c in app.handler_calls("fc-cron")}
    assert {r["id"] for r in runs} <= called
