"""Serial steps: ``serial-steps`` runs ``step.run`` a, b, c, each using the previous output.

Each step executes exactly once and is recorded in order with its output; the run completes
with all three outputs. The history tells the same story: the run started, each step
completed in order, the run completed.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_serial_steps_run_once_each_in_order(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("serial")

    run_id = deployment.trigger("test/serial-steps", {"id": id_})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    expected = {"a": f"{id_}:a", "b": f"{id_}:a:b", "c": f"{id_}:a:b:c"}
    assert run["output"] == expected
    steps = harness.steps_by_name(run)
    assert list(steps) == ["a", "b", "c"]
    for name, step in steps.items():
        assert step["op"] == "StepRun", step
        assert harness.step_output(step) == expected[name]
        assert step["attempts"] == 1, step
        assert len(deployment.app.step_calls("serial-steps", name, run_id=run_id)) == 1, name

    completed = harness.history(run, "step.completed")
    assert [h["step_name"] for h in completed] == ["a", "b", "c"]
    kinds = harness.history_kinds(run)
    assert kinds[0] == "run.scheduled"
    assert kinds.index("run.started") < kinds.index("step.completed")
    assert kinds[-1] == "run.completed"
