"""A caught step failure: ``step-caught`` (retries: 0) has a step that always throws.

With no retries the step fails on its only attempt and its error is recorded as the step's
result (history ``step.failed``). The function catches the error the SDK raises for it and
returns its message, so the run completes.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_step_failure_caught_by_user_code(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("caught")

    run_id = deployment.trigger("test/step-caught", {"id": id_})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"caught": f"doomed {id_}"}
    step = harness.steps_by_name(run)["doomed"]
    assert step["memo"]["error"]["message"] == f"doomed {id_}", step
    assert len(harness.history(run, "step.failed", step="doomed")) == 1
    assert len(deployment.app.step_calls("step-caught", "doomed", run_id=run_id)) == 1
    assert run["error"] is None
