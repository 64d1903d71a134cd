"""Event idempotency: an event id seen before starts no second run.

The same event (same ``id``) is sent twice, once by the SDK's own ``send()`` and once straight
to ``POST /e/{key}``; ``single`` runs once. A different id afterwards runs again.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_same_event_id_twice_starts_one_run(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    app = synced_app
    event = {"name": "test/single", "id": harness.unique_id("dedup"), "data": {"n": 1}}

    [first_id] = app.send(event)
    [second_id] = server.send_event(event)
    [control_id] = server.send_event({"name": "test/single", "data": {"n": 2}})

    [run] = server.api.wait_for_runs(first_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    # The control was sent last: once its run has ended, a second run would exist.
    [control] = server.api.wait_for_runs(control_id)
    server.api.wait_for_run_end(control["id"])
    runs = {r["id"] for e in {first_id, second_id} for r in server.api.runs_for_event(e)}
    assert runs == {run["id"]}
    assert {c["run_id"] for c in app.handler_calls("single")} == {run["id"], control["id"]}


def test_events_without_an_id_are_never_deduplicated(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    event = {"name": "test/single", "data": {"same": "data"}}

    first_id, second_id = server.send_event([event, event])

    assert first_id != second_id
    for event_id in (first_id, second_id):
        [run] = server.api.wait_for_runs(event_id)
        assert server.api.wait_for_run_end(run["id"])["status"] == "Completed"
