"""Singleton (PROTOCOL.md §6.14): one active run per ``event.data.key``.

``fc-singleton-skip`` and ``fc-singleton-cancel`` run step "begin", sleep ``sleep_ms`` (the run
stays active without holding a call), then run step "end".

* skip: while run A of a key sleeps, a second event of that key records a ``Skipped`` run with
  ``skip_reason`` "singleton run active" and never calls the app; another key runs meanwhile;
  once A has completed, the key starts runs again.
* cancel: while run A of a key sleeps, a second event of that key cancels A
  (``cancelled_by`` "singleton"; A never reaches "end") and starts run B, which completes.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_singleton_skip_while_a_run_is_active(deployment: harness.Deployment) -> None:
    app = deployment.app
    api = deployment.api
    id_ = harness.unique_id("single-skip")
    key = harness.unique_id("key")
    run_a = deployment.trigger("test/fc-singleton-skip", {"id": id_, "key": key, "sleep_ms": 3000})
    deployment.wait_for_history(run_a, "step.completed", step="begin")

    [dup_event] = deployment.server.send_event(
        {"name": "test/fc-singleton-skip", "data": {"id": id_, "key": key, "sleep_ms": 1000}}
    )
    other = deployment.trigger(
        "test/fc-singleton-skip", {"id": id_, "key": f"{key}-other", "sleep_ms": 1000}
    )

    [dup] = api.wait_for_runs(dup_event)
    assert dup["status"] == "Skipped", dup
    assert api.get_run(dup["id"])["skip_reason"] == "singleton run active"
    assert api.get_run(run_a)["status"] == "Running", "A still sleeps: it is what B was skipped for"
    assert api.wait_for_run_end(other)["status"] == "Completed"
    first = api.wait_for_run_end(run_a)
    assert first["status"] == "Completed", first

    after = deployment.trigger("test/fc-singleton-skip", {"id": id_, "key": key, "sleep_ms": 1000})
    assert api.wait_for_run_end(after)["status"] == "Completed"
    called = {c["run_id"] for c in app.handler_calls("fc-singleton-skip") if c["id"] == id_}
    assert called == {run_a, other, after}


def test_singleton_cancel_replaces_the_active_run(deployment: harness.Deployment) -> None:
    app = deployment.app
    api = deployment.api
    id_ = harness.unique_id("single-cancel")
    key = harness.unique_id("key")
    run_a = deployment.trigger(
        "test/fc-singleton-cancel", {"id": id_, "key": key, "sleep_ms": 60_000}
    )
    deployment.wait_for_history(run_a, "step.completed", step="begin")

    run_b = deployment.trigger(
        "test/fc-singleton-cancel", {"id": id_, "key": key, "sleep_ms": 1000}
    )

    first = api.wait_for_run_end(run_a)
    assert first["status"] == "Cancelled", first
    assert first["cancelled_by"] == "singleton"
    second = api.wait_for_run_end(run_b)
    assert second["status"] == "Completed", second
    assert app.step_calls("fc-singleton-cancel", "end", run_id=run_a) == []
    assert harness.phase_lines(app.step_calls("fc-singleton-cancel", "end", run_id=run_b), "end")
