"""Cron triggers (PROTOCOL.md §6.15): an app serving ``fc-cron`` on ``* * * * * *`` (the
six-field form, seconds first: every second) gets one run per tick.

Each run's event is ``inngest/scheduled.timer`` with the tick's ``scheduledAt``; ticks are
whole seconds, each appears in exactly one run, and several distinct ticks fire within
seconds. Runs on ``inngest dev`` and on ``inngest start`` with Redis.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import harness

pytestmark = pytest.mark.e2e

EVERY_SECOND = "* * * * * *"


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
        lambda: harness.completed_runs(server.api, slug, at_least=4),
        timeout_s=30,
        what="four cron runs",
    )

    assert len(set(harness.assert_one_run_per_tick(runs))) >= 4
    called = {c["run_id"] for c in app.handler_calls("fc-cron")}
    assert {r["id"] for r in runs} <= called
