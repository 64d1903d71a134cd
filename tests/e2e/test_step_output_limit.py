"""Step output limit: a step returning more than 4 MiB fails the run.

``big-output`` returns a 5 MiB string from a step. The server does not store it: the run is
Failed with an error named ``StepOutputTooLarge`` and no output is recorded for the step.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_oversized_step_output_fails_the_run(deployment: harness.Deployment) -> None:
    run_id = deployment.trigger("test/big-output", {"id": harness.unique_id("big"), "mib": 5})

    run = deployment.api.wait_for_run_end(run_id)

    assert run["status"] == "Failed", {k: v for k, v in run.items() if k != "steps"}
    assert run["error"]["name"] == "StepOutputTooLarge", run["error"]
    assert run["output"] is None
    assert "big" not in harness.steps_by_name(run)
    assert harness.history_kinds(run)[-1] == "run.failed"
