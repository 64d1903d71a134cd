"""onFailure: ``fatal-with-handler`` throws ``NonRetriableError``; its failure handler runs.

The run fails after one attempt with the error. The failure (``inngest/function.failed``)
starts the SDK's companion function ``fatal-with-handler-failure``, whose run completes having
seen the error message and the original event.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_non_retriable_failure_runs_the_failure_handler(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("onfail")

    run_id = deployment.trigger("test/fatal-with-handler", {"id": id_})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Failed", run
    assert f"fatal for {id_}" in harness.error_message(run)
    assert len(run["attempts"]) == 1, run["attempts"]
    assert harness.history_kinds(run)[-1] == "run.failed"

    def handler_run() -> str | None:
        calls = [c for c in app.handler_calls("fatal-with-handler-failure") if c["id"] == id_]
        return calls[0]["run_id"] if calls else None

    handler_id = harness.wait_until(handler_run, what="the failure handler to be called")
    handler = deployment.api.wait_for_run_end(handler_id)
    assert handler["status"] == "Completed", handler
    assert handler["function_slug"] == app.slug("fatal-with-handler-failure")
    assert handler["output"] == {"handled": f"fatal for {id_}", "id": id_}
