"""Rate limit (PROTOCOL.md §6.9): ``fc-rate-limit`` allows two runs per minute per
``event.data.key``.

Five events of one key sent in one request: two start runs that complete, the other three are
recorded as ``Skipped`` runs with ``skip_reason`` "rate limited" and the app is never called
for them. Another key has its own allowance.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_rate_limit_skips_the_excess(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("rate")
    key = harness.unique_id("key")

    event_ids = deployment.server.send_event(
        [{"name": "test/fc-rate-limit", "data": {"id": id_, "key": key, "n": n}} for n in range(5)]
    )

    runs = [deployment.api.wait_for_runs(e)[0] for e in event_ids]
    ended = [deployment.api.wait_for_run_status(r["id"], {"Completed", "Skipped"}) for r in runs]
    completed = [r for r in ended if r["status"] == "Completed"]
    skipped = [r for r in ended if r["status"] == "Skipped"]
    assert len(completed) == 2, [r["status"] for r in ended]
    assert len(skipped) == 3
    for run in skipped:
        assert run["skip_reason"] == "rate limited", run
        assert run["started_at"] is None, run
    assert sorted(r["output"]["n"] for r in completed) == [0, 1]

    other = deployment.trigger("test/fc-rate-limit", {"id": id_, "key": f"{key}-other", "n": 9})
    run = deployment.api.wait_for_run_end(other)
    assert run["status"] == "Completed", run
    called = {c["run_id"] for c in app.handler_calls("fc-rate-limit") if c["id"] == id_}
    assert called == {r["id"] for r in completed} | {other}
