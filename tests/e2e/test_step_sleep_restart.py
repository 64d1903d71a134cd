"""Sleep across a graceful restart: the server is stopped with SIGTERM while a run sleeps.

``sleeper`` starts a 2 s sleep; the server shuts down gracefully (exit code 0) and starts again
on the same database. The sleep, which is only a row, still ends on time: the run completes,
waking no earlier than ``until``, and the step recorded before the restart keeps its output
and never runs again.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e

SLEEP_MS = 2000


def test_sleep_survives_a_graceful_server_restart(own_deployment: harness.Deployment) -> None:
    deployment = own_deployment
    server, app = deployment.server, deployment.app
    run_id = deployment.trigger(
        "test/sleeper", {"id": harness.unique_id("sleep-restart"), "sleep_ms": SLEEP_MS}
    )
    sleeping = deployment.wait_for_history(run_id, "sleep.started", step="nap")
    before = harness.step_output(harness.steps_by_name(sleeping)["before"])

    server.process.stop()
    assert server.process.returncode() == 0, "graceful shutdown exits 0"
    server.start()

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"]["before"] == before
    assert run["output"]["after"] - before >= SLEEP_MS
    [started] = harness.history(run, "sleep.started", step="nap")
    [completed] = harness.history(run, "sleep.completed", step="nap")
    assert harness.parse_time(completed["at"]) >= harness.parse_time(started["data"]["until"])
    assert list(harness.steps_by_name(run)) == ["before", "nap", "after"]
    assert len(app.step_calls("sleeper", "before", run_id=run_id)) == 1
    assert len(app.step_calls("sleeper", "after", run_id=run_id)) == 1
