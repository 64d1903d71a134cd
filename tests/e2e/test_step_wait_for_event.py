"""waitForEvent: ``waiter`` waits for ``test/wait.reply`` whose ``data.id`` equals its own.

* A matching reply resumes the run; the step's result is the reply event itself and the
  function returns its data (history ``wait.started`` then ``wait.matched``).
* A reply failing the ``if`` expression does not resume it: it is sent first, the matching one
  second, and the run returns the second.
* Without a reply the wait times out at ``until`` and the step's result is null.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_matching_event_resumes_the_wait(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("wait")
    run_id = deployment.trigger("test/wait", {"id": id_, "timeout_ms": 60_000})
    waiting = deployment.wait_for_history(run_id, "wait.started", step="reply")
    assert waiting["status"] == "Running", waiting
    [started] = harness.history(waiting, "wait.started")
    assert started["data"]["event"] == "test/wait.reply"

    reply_id = deployment.send("test/wait.reply", {"id": id_, "answer": 42})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"reply": {"id": id_, "answer": 42}}
    step = harness.steps_by_name(run)["reply"]
    assert step["op"] == "WaitForEvent"
    assert step["memo"]["name"] == "test/wait.reply"
    assert step["memo"]["data"] == {"id": id_, "answer": 42}
    assert step["memo"]["id"] == reply_id
    assert "wait.matched" in harness.history_kinds(run)
    assert "wait.timed_out" not in harness.history_kinds(run)


def test_event_failing_the_if_expression_does_not_resume_the_wait(
    deployment: harness.Deployment,
) -> None:
    id_ = harness.unique_id("wait")
    run_id = deployment.trigger("test/wait", {"id": id_, "timeout_ms": 60_000})
    deployment.wait_for_history(run_id, "wait.started", step="reply")

    deployment.send("test/wait.reply", {"id": f"{id_}-other", "answer": "wrong"})
    deployment.send("test/wait.reply", {"id": id_, "answer": "right"})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {"reply": {"id": id_, "answer": "right"}}
    assert len(harness.history(run, "wait.matched")) == 1


def test_wait_times_out_with_null(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("wait")
    run_id = deployment.trigger("test/wait", {"id": id_, "timeout_ms": 2000})

    run = deployment.api.wait_for_run_end(run_id)

    assert run["status"] == "Completed", run
    assert run["output"] == {"reply": None}
    [started] = harness.history(run, "wait.started", step="reply")
    [timed_out] = harness.history(run, "wait.timed_out", step="reply")
    assert harness.parse_time(timed_out["at"]) >= harness.parse_time(started["data"]["until"])
    step = harness.steps_by_name(run)["reply"]
    assert (step["op"], step["memo"]) == ("WaitForEvent", None)
