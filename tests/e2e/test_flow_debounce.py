"""Debounce (PROTOCOL.md §6.10): ``fc-debounce`` debounces 2 s per ``event.data.key``.

Three events of one key sent one after another start one run, with the latest event; the
earlier events start none. Another key, sent meanwhile, gets its own run.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_debounce_runs_once_with_the_last_event(deployment: harness.Deployment) -> None:
    app = deployment.app
    api = deployment.api
    id_ = harness.unique_id("debounce")
    key = harness.unique_id("key")

    sent = [deployment.send("test/fc-debounce", {"id": id_, "key": key, "n": n}) for n in range(3)]
    other = deployment.send("test/fc-debounce", {"id": id_, "key": f"{key}-other", "n": 9})

    [run] = api.wait_for_runs(sent[-1])
    run = api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"key": key, "n": 2}
    [other_run] = api.wait_for_runs(other)
    assert api.wait_for_run_end(other_run["id"])["output"] == {"key": f"{key}-other", "n": 9}
    assert api.runs_for_event(sent[0]) == []
    assert api.runs_for_event(sent[1]) == []
    called = {c["run_id"] for c in app.handler_calls("fc-debounce") if c["id"] == id_}
    assert called == {run["id"], other_run["id"]}
