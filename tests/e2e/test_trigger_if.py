"""Trigger matching: an ``if`` expression filters events; ``name/*`` matches by prefix.

``conditional`` triggers on ``test/cond`` only when ``event.data.go == true``; ``wild`` triggers
on ``test/wild/*`` and returns the event's name.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_if_expression_decides_whether_a_run_starts(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    app = synced_app

    [skipped_id] = server.send_event({"name": "test/cond", "data": {"go": False}})
    [missing_id] = server.send_event({"name": "test/cond", "data": {}})
    [ran_id] = server.send_event({"name": "test/cond", "data": {"go": True}})

    [run] = server.api.wait_for_runs(ran_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == "ran"
    harness.assert_no_runs(server.api, skipped_id, control_event_id=ran_id)
    harness.assert_no_runs(server.api, missing_id, control_event_id=ran_id)
    assert {c["run_id"] for c in app.handler_calls("conditional")} == {run["id"]}


@pytest.mark.parametrize("name", ["test/wild/a", "test/wild/deeper/still"])
def test_wildcard_trigger_matches_by_prefix(
    server: harness.Server, synced_app: harness.SdkApp, name: str
) -> None:
    [event_id] = server.send_event({"name": name, "data": {}})

    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["function_slug"] == synced_app.slug("wild")
    assert run["output"] == name


def test_wildcard_does_not_match_a_longer_segment(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    [other_id] = server.send_event({"name": "test/wilder", "data": {}})
    [control_id] = server.send_event({"name": "test/wild/x", "data": {}})

    harness.assert_no_runs(server.api, other_id, control_event_id=control_id)
