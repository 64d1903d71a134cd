"""step.invoke: ``invoker`` invokes ``invoke-child`` and returns its result or the caught error.

* Success: the child runs as its own run (triggered by ``inngest/function.invoked``) and
  returns ``n * 2``; the parent's ``call`` step records ``{"data": ...}`` and the parent
  returns it (history ``invoke.started`` naming the child, then ``invoke.completed``).
* Child failure: the child throws ``NonRetriableError``; the child run is Failed, the parent's
  step fails with the child's message, and the parent, which catches it, completes.
* Timeout: the child sleeps longer than the parent's invoke timeout; the parent's step fails
  with ``Timed out waiting for invoked function to complete``.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e

TIMEOUT_MESSAGE = "Timed out waiting for invoked function to complete"


def child_run(deployment: harness.Deployment, id_: str) -> dict[str, Any]:
    """The run of ``invoke-child`` started for ``id_`` (found through the CALL_LOG), ended."""

    def started() -> str | None:
        calls = [c for c in deployment.app.handler_calls("invoke-child") if c["id"] == id_]
        runs = {c["run_id"] for c in calls}
        assert len(runs) <= 1, f"more than one child run: {runs}"
        return next(iter(runs), None)

    run_id = harness.wait_until(started, what=f"the child run of {id_}")
    return deployment.api.wait_for_run_end(run_id)


def test_invoke_returns_the_child_output(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("invoke")

    run_id = deployment.trigger("test/invoker", {"id": id_, "n": 21})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"result": {"doubled": 42}}
    step = harness.steps_by_name(run)["call"]
    assert step["op"] == "InvokeFunction"
    assert step["memo"] == {"data": {"doubled": 42}}
    [started] = harness.history(run, "invoke.started", step="call")
    assert started["data"]["function"] == deployment.app.slug("invoke-child")
    assert len(harness.history(run, "invoke.completed", step="call")) == 1

    child = child_run(deployment, id_)
    assert child["status"] == "Completed", child
    assert child["function_slug"] == deployment.app.slug("invoke-child")
    assert child["output"] == {"doubled": 42}


def test_child_failure_fails_the_invoke_step(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("invoke")

    run_id = deployment.trigger("test/invoker", {"id": id_, "n": 5, "fail": True})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert "child refused 5" in run["output"]["error"]["message"], run["output"]
    step = harness.steps_by_name(run)["call"]
    assert "child refused 5" in step["memo"]["error"]["message"], step
    assert len(harness.history(run, "invoke.failed", step="call")) == 1

    child = child_run(deployment, id_)
    assert child["status"] == "Failed", child
    assert "child refused 5" in harness.error_message(child)


def test_invoke_times_out(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("invoke")

    run_id = deployment.trigger(
        "test/invoker", {"id": id_, "n": 3, "sleep_ms": 4000, "timeout_ms": 1000}
    )

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert TIMEOUT_MESSAGE in run["output"]["error"]["message"], run["output"]
    step = harness.steps_by_name(run)["call"]
    assert step["memo"]["error"]["name"] == "InngestInvokeTimeoutError", step
    [started] = harness.history(run, "invoke.started", step="call")
    [failed] = harness.history(run, "invoke.failed", step="call")
    assert harness.parse_time(failed["at"]) >= harness.parse_time(started["data"]["until"])
