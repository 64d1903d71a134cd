"""Cancelling through the API: ``POST /api/v1/runs/{id}/cancel`` during a sleep.

Run A of ``cancellable`` sleeps 2 s and is cancelled while asleep: the answer says it was
cancelled, the run is Cancelled with ``cancelled_by`` "api", its wake-up is gone, and the app
is never called for it again. Run B, started after A went to sleep and sleeping as long, is
the control: once B has woken and completed, A's wake-up time has passed too. Cancelling A a
second time changes nothing.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_api_cancel_during_a_sleep(deployment: harness.Deployment) -> None:
    api, app = deployment.api, deployment.app
    run_a = deployment.trigger(
        "test/cancellable", {"id": harness.unique_id("api-a"), "sleep_ms": 2000}
    )
    deployment.wait_for_history(run_a, "sleep.started", step="long")
    run_b = deployment.trigger(
        "test/cancellable", {"id": harness.unique_id("api-b"), "sleep_ms": 2000}
    )
    calls_before = app.calls(run_id=run_a)

    answer = api.cancel_run(run_a)

    assert answer["cancelled"] is True, answer
    assert answer["status"] == "Cancelled", answer
    run = api.get_run(run_a)
    assert run["status"] == "Cancelled", run
    assert run["cancelled_by"] == "api"
    assert run["queued"] == [], run
    assert harness.history_kinds(run)[-1] == "run.cancelled"

    control = api.wait_for_run_end(run_b)
    assert control["status"] == "Completed", control
    assert app.calls(run_id=run_a) == calls_before
    assert api.get_run(run_a)["status"] == "Cancelled"
    assert "finished" not in harness.steps_by_name(api.get_run(run_a))

    again = api.cancel_run(run_a)
    assert again["cancelled"] is False, again
    assert again["status"] == "Cancelled", again
