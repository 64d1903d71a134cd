"""Idempotency (PROTOCOL.md §6.6): ``fc-idempotent`` starts one run per ``event.data.key``.

Three events with one key (one of them sent with the SDK's own ``send()``, the others to the
event API, in separate requests) start one run; a second key starts its own run. The app is
called only for those two runs.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_one_run_per_idempotency_key(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("idem")
    key = harness.unique_id("key")

    first = deployment.trigger("test/fc-idempotent", {"id": id_, "key": key, "n": 0})
    run = deployment.api.wait_for_run_end(first)
    assert run["status"] == "Completed", run
    again = deployment.send("test/fc-idempotent", {"id": id_, "key": key, "n": 1})
    [via_sdk] = app.send({"name": "test/fc-idempotent", "data": {"id": id_, "key": key, "n": 2}})
    control = deployment.send("test/fc-idempotent", {"id": id_, "key": f"{key}-2", "n": 3})

    harness.assert_no_runs(deployment.api, again, control_event_id=control)
    assert deployment.api.runs_for_event(via_sdk) == []
    [second] = deployment.api.runs_for_event(control)
    assert deployment.api.get_run(second["id"])["output"] == {"key": f"{key}-2", "n": 3}
    called = {c["run_id"] for c in app.handler_calls("fc-idempotent") if c["id"] == id_}
    assert called == {first, second["id"]}
