"""Sleep: ``sleeper`` records a timestamp, sleeps ``sleep_ms``, records another, returns both.

While it sleeps the run is Running with a ``sleep.started`` line whose ``until`` is the wake-up
time; it wakes no earlier than that (``sleep.completed`` at or after ``until``) and the step
after the sleep runs at least ``sleep_ms`` after the one before it. The sleep is recorded as a
``Sleep`` step with a null result.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e

SLEEP_MS = 1000


def test_sleep_resumes_the_run_after_the_duration(deployment: harness.Deployment) -> None:
    app = deployment.app

    run_id = deployment.trigger(
        "test/sleeper", {"id": harness.unique_id("sleep"), "sleep_ms": SLEEP_MS}
    )

    sleeping = deployment.wait_for_history(run_id, "sleep.started", step="nap")
    assert sleeping["status"] == "Running", sleeping
    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"]["after"] - run["output"]["before"] >= SLEEP_MS, run["output"]

    [started] = harness.history(run, "sleep.started", step="nap")
    [completed] = harness.history(run, "sleep.completed", step="nap")
    assert harness.parse_time(completed["at"]) >= harness.parse_time(started["data"]["until"])

    steps = harness.steps_by_name(run)
    assert list(steps) == ["before", "nap", "after"]
    assert steps["nap"]["op"] == "Sleep"
    assert steps["nap"]["memo"] is None
    for name in ("before", "after"):
        assert len(app.step_calls("sleeper", name, run_id=run_id)) == 1, name
