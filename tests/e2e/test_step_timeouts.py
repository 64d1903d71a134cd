"""timeouts.finish: ``finish-timeout`` (finish: 2s) sleeps 5 s, longer than it may run.

Two seconds after its first call the run is cancelled with ``cancelled_by``
"timeouts.finish": the step before the sleep ran, the one after it never does, and the run
ends well before the sleep would have.
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
