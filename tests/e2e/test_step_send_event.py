"""step.sendEvent: ``sender`` sends ``test/sent`` from a step, then runs one more step.

The sent event triggers ``receiver``, which sees the data ``sender`` put in it. The send is a
memoized step: its result (the event ids) is recorded once and returned by the function, and
the calls that replay the function after it send nothing again: exactly one ``test/sent``
event with this id exists and exactly one ``receiver`` run handled it.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_sent_event_triggers_the_other_function_once(deployment: harness.Deployment) -> None:
    id_ = harness.unique_id("send")

    run_id = deployment.trigger("test/sender", {"id": id_})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    ids = run["output"]["ids"]
    assert len(ids) == 1, run["output"]
    assert run["output"]["after"] == 1
    steps = harness.steps_by_name(run)
    assert list(steps) == ["send", "after"]
    sent = harness.step_output(steps["send"])
    # TS memoizes {"ids": [...]}, PY the list itself.
    assert (sent["ids"] if isinstance(sent, dict) else sent) == ids

    [received] = deployment.api.wait_for_runs(ids[0])
    received = deployment.api.wait_for_run_end(received["id"])
    assert received["status"] == "Completed", received
    assert received["function_slug"] == deployment.app.slug("receiver")
    assert received["output"] == {"got": {"id": id_, "from": "sender"}}

    mine = [e for e in deployment.api.list_events("test/sent") if e["data"].get("id") == id_]
    assert len(mine) == 1, mine
    receiver_runs = {
        c["run_id"] for c in deployment.app.handler_calls("receiver") if c["id"] == id_
    }
    assert receiver_runs == {received["id"]}
