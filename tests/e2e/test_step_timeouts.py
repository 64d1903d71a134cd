"""Run timeouts.

* ``timeouts.finish``: ``finish-timeout`` (finish: 2s) sleeps 5 s, longer than it may run. Two
  seconds after its first call the run is cancelled with ``cancelled_by`` "timeouts.finish":
  the step before the sleep ran, the one after it never does, and the run ends well before
  the sleep would have.
* ``timeouts.start``: ``start-timeout`` (concurrency 1, start: 1s) holds its only slot for 4 s
  in run A's step. Run B, triggered meanwhile, cannot make its first call within a second, so
  it is cancelled with ``cancelled_by`` "timeouts.start" without the app ever being called for
  it; A, which started in time, completes.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_finish_timeout_cancels_a_run_that_runs_too_long(deployment: harness.Deployment) -> None:
    run_id = deployment.trigger("test/finish-timeout", {"id": harness.unique_id("timeout")})

    run = deployment.api.wait_for_run_end(run_id)

    assert run["status"] == "Cancelled", run
    assert run["cancelled_by"] == "timeouts.finish"
    assert list(harness.steps_by_name(run)) == ["begin"]
    assert deployment.app.step_calls("finish-timeout", "end", run_id=run_id) == []
    ran_for = harness.parse_time(run["ended_at"]) - harness.parse_time(run["started_at"])
    assert 2 <= ran_for.total_seconds() < 5, ran_for
    assert harness.history_kinds(run)[-1] == "run.cancelled"


def test_start_timeout_cancels_a_run_that_cannot_start(deployment: harness.Deployment) -> None:
    app = deployment.app
    run_a = deployment.trigger(
        "test/start-timeout", {"id": harness.unique_id("a"), "hold_ms": 4000}
    )
    harness.wait_until(
        lambda: app.step_calls("start-timeout", "hold", run_id=run_a),
        what="run A to hold the concurrency slot",
    )

    run_b = deployment.trigger("test/start-timeout", {"id": harness.unique_id("b"), "hold_ms": 0})

    late = deployment.api.wait_for_run_end(run_b)
    assert late["status"] == "Cancelled", late
    assert late["cancelled_by"] == "timeouts.start"
    assert "run.started" not in harness.history_kinds(late), late["history"]
    assert app.calls(run_id=run_b) == []
    first = deployment.api.wait_for_run_end(run_a)
    assert first["status"] == "Completed", first
    assert first["output"] == "started in time"
    assert app.calls(run_id=run_b) == []
