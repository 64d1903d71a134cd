"""Parallel steps: ``parallel-steps`` runs p1, p2, p3 at once, then ``sum`` over their results.

The SDK plans the three steps in one answer (history ``steps.planned``); the server calls each
planned step on its own (one attempt targeted at each step id); each runs exactly once; only
after all three are recorded does the function go on, and ``sum`` sees all three results.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_parallel_steps_all_run_then_the_final_step_uses_their_results(
    deployment: harness.Deployment,
) -> None:
    app = deployment.app

    run_id = deployment.trigger("test/parallel-steps", {"id": harness.unique_id("par"), "n": 4})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"parts": [41, 42, 43], "sum": 126}
    steps = harness.steps_by_name(run)
    assert set(steps) == {"p1", "p2", "p3", "sum"}
    assert steps["sum"]["position"] == 3, "sum is recorded after every parallel step"
    for name, value in {"p1": 41, "p2": 42, "p3": 43, "sum": 126}.items():
        assert harness.step_output(steps[name]) == value, name
        assert len(app.step_calls("parallel-steps", name, run_id=run_id)) == 1, name

    [planned] = harness.history(run, "steps.planned")
    assert sorted(planned["data"]["steps"]) == ["p1", "p2", "p3"]
    targeted = {a["target_step"] for a in run["attempts"]}
    assert {steps[p]["step_id"] for p in ("p1", "p2", "p3")} <= targeted

    kinds = harness.history_kinds(run)
    completed = [h["step_name"] for h in harness.history(run, "step.completed")]
    assert sorted(completed[:3]) == ["p1", "p2", "p3"]
    assert completed[3:] == ["sum"]
    assert kinds.index("steps.planned") < kinds.index("step.completed")
