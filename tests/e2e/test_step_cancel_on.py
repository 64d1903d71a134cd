"""cancelOn: ``cancellable`` is cancelled by a ``test/cancel`` event with the same ``data.id``.

Two runs sleep: A for a minute, B for 2 s. A ``test/cancel`` for A cancels A (status
Cancelled, ``cancelled_by`` naming the event, nothing after the sleep ran) and leaves B alone:
B wakes and completes.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_matching_cancel_event_cancels_only_that_run(deployment: harness.Deployment) -> None:
    app = deployment.app
    a, b = harness.unique_id("cancel-a"), harness.unique_id("cancel-b")
    run_a = deployment.trigger("test/cancellable", {"id": a, "sleep_ms": 60_000})
    run_b = deployment.trigger("test/cancellable", {"id": b, "sleep_ms": 2000})
    deployment.wait_for_history(run_a, "sleep.started", step="long")
    deployment.wait_for_history(run_b, "sleep.started", step="long")

    deployment.send("test/cancel", {"id": a})

    cancelled = deployment.api.wait_for_run_end(run_a)
    assert cancelled["status"] == "Cancelled", cancelled
    assert "test/cancel" in (cancelled["cancelled_by"] or ""), cancelled
    assert harness.history_kinds(cancelled)[-1] == "run.cancelled"
    assert cancelled["pauses"] == [], cancelled
    assert cancelled["queued"] == [], cancelled

    other = deployment.api.wait_for_run_end(run_b)
    assert other["status"] == "Completed", other
    assert other["output"] == "finished"
    assert app.step_calls("cancellable", "finished", run_id=run_a) == []
    assert "finished" not in harness.steps_by_name(deployment.api.get_run(run_a))
