"""Non-retriable errors: ``NonRetriableError`` fails the run at once, and a rerun starts afresh.

``fatal`` throws ``NonRetriableError("fatal!")``: one attempt, status Failed, the error kept on
the run. ``POST /api/v1/runs/{id}/rerun`` creates a new run of the same function for the same
event, which fails the same way; the original run is left as it was.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_non_retriable_error_fails_after_one_attempt(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    app = synced_app

    [event_id] = server.send_event({"name": "test/fatal", "data": {}})

    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Failed", run
    assert "fatal!" in harness.error_message(run)
    assert "NonRetriableError" in harness.error_message(run)
    assert len(run["attempts"]) == 1, run["attempts"]
    assert len(app.handler_calls("fatal", run_id=run["id"])) == 1


def test_rerun_creates_a_new_run(server: harness.Server, synced_app: harness.SdkApp) -> None:
    app = synced_app
    [event_id] = server.send_event({"name": "test/fatal", "data": {}})
    [first] = server.api.wait_for_runs(event_id)
    first = server.api.wait_for_run_end(first["id"])
    assert first["status"] == "Failed", first

    second_id = server.api.rerun(first["id"])

    assert second_id != first["id"]
    second = server.api.wait_for_run_end(second_id)
    assert second["status"] == "Failed", second
    assert second["function_slug"] == app.slug("fatal")
    assert "fatal!" in harness.error_message(second)
    unchanged = server.api.get_run(first["id"])
    assert (unchanged["status"], unchanged["error"]) == (first["status"], first["error"])
    assert len(unchanged["attempts"]) == len(first["attempts"])
    assert len(app.handler_calls("fatal", run_id=second_id)) == 1
    assert {c["run_id"] for c in app.handler_calls("fatal")} == {first["id"], second_id}
