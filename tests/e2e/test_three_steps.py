"""Three steps: an event sent with the SDK's own ``send()`` runs a three-step function.

The run completes with the function's return value, and ``GET /api/v1/runs/{id}`` shows the
three ``step.run`` steps in order with the outputs the SDK produced. Each step ran exactly once.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_three_steps_run_in_order_and_are_recorded(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    app = synced_app

    [event_id] = app.send({"name": "test/three-steps", "data": {"input": "abc"}})

    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["function_slug"] == app.slug("three-steps")
    expected = {
        "one": {"n": 1, "input": "abc"},
        "two": {"n": 2, "input": "abc"},
        "three": {"n": 3, "input": "abc"},
    }
    assert run["output"] == expected

    steps = harness.steps_by_name(run)
    assert list(steps) == ["one", "two", "three"]
    for name, step in steps.items():
        assert step["op"] == "StepRun", step
        assert harness.step_output(step) == expected[name]

    for name in expected:
        assert len(app.step_calls("three-steps", name, run_id=run["id"])) == 1, name


def test_a_function_without_steps_returns_its_value(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    [event_id] = synced_app.send({"name": "test/single", "data": {"k": [1, 2, 3]}})

    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"echo": {"k": [1, 2, 3]}}
    assert not run.get("steps")
