"""Event batching (PROTOCOL.md §6.11): ``fc-batch`` collects up to 3 events per
``event.data.key`` for at most 2 s.

Three events of one key start one run that receives all three, in order (a full batch). A
single event of another key starts its own run once the batch times out.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_batch_collects_events_into_one_run(deployment: harness.Deployment) -> None:
    app = deployment.app
    api = deployment.api
    id_ = harness.unique_id("batch")
    key = harness.unique_id("key")

    full = deployment.server.send_event(
        [{"name": "test/fc-batch", "data": {"id": id_, "key": key, "n": n}} for n in range(3)]
    )
    lone = deployment.send("test/fc-batch", {"id": id_, "key": f"{key}-lone", "n": 9})

    [run] = api.wait_for_runs(full[0])
    run = api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"ns": [0, 1, 2]}
    for event_id in full[1:]:
        assert [r["id"] for r in api.runs_for_event(event_id)] == [run["id"]]
    [lone_run] = api.wait_for_runs(lone)
    lone_run = api.wait_for_run_end(lone_run["id"])
    assert lone_run["output"] == {"ns": [9]}
    called = {c["run_id"] for c in app.handler_calls("fc-batch") if c["id"] == id_}
    assert called == {run["id"], lone_run["id"]}
