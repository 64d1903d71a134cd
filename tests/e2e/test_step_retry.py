"""Step retries: ``step-flaky`` (retries: 3) has a step that throws on attempts 0 and 1.

The server retries the step (1 s apart in these tests) and the third attempt succeeds: the
run completes with ``{"wobbly": {"attempt": 2}}``, the step is recorded once with 3 attempts,
the step's code ran on attempts 0, 1 and 2, and the history shows two failed attempts before
the step completed.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_failing_step_is_retried_until_it_succeeds(deployment: harness.Deployment) -> None:
    run_id = deployment.trigger("test/step-flaky", {"id": harness.unique_id("retry")})

    run = deployment.api.wait_for_run_end(run_id)

    assert run["status"] == "Completed", run
    assert run["output"] == {"wobbly": {"attempt": 2}}
    step = harness.steps_by_name(run)["wobbly"]
    assert step["op"] == "StepRun"
    assert step["attempts"] == 3, step
    assert harness.step_output(step) == {"attempt": 2}
    calls = deployment.app.step_calls("step-flaky", "wobbly", run_id=run_id)
    assert [c["attempt"] for c in calls] == [0, 1, 2]

    kinds = harness.history_kinds(run)
    failed = [i for i, k in enumerate(kinds) if k == "attempt.failed"]
    assert len(failed) == 2, kinds
    [completed] = harness.history(run, "step.completed", step="wobbly")
    assert completed["attempt"] == 3
    assert max(failed) < kinds.index("step.completed")
    assert "wobble on attempt 0" in str(run["history"][failed[0]]["data"]["error"])
