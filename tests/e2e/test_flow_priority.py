"""Priority (PROTOCOL.md §6.12): ``fc-priority`` has ``concurrency: 1`` and
``priority.run: event.data.priority`` (seconds; higher is sooner).

Run A holds the only slot in a 1.5 s step. Meanwhile five low-priority runs (0) are queued,
then one high-priority run (600). When A's slot frees, the high-priority run's step starts
before every one of the older low-priority ones; all runs complete, one step at a time.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_high_priority_run_jumps_the_backlog(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("prio")
    blocker = deployment.trigger("test/fc-priority", {"id": id_, "priority": 0, "delay_ms": 1500})
    harness.wait_until(
        lambda: app.step_calls("fc-priority", "work", run_id=blocker),
        what="the first run to hold the slot",
    )

    low = deployment.trigger_many(
        "test/fc-priority", [{"id": id_, "priority": 0, "n": n, "delay_ms": 100} for n in range(5)]
    )
    [high] = deployment.trigger_many(
        "test/fc-priority", [{"id": id_, "priority": 600, "n": 99, "delay_ms": 100}]
    )

    for run_id in [blocker, *low, high]:
        run = deployment.api.wait_for_run_end(run_id)
        assert run["status"] == "Completed", run
    lines = [c for c in app.calls("fc-priority") if c["id"] == id_]
    assert harness.max_in_flight(lines) == {None: 1}
    started = {}
    for line in sorted(harness.phase_lines(lines, "start"), key=lambda c: c["t"]):
        started.setdefault(line["run_id"], line["t"])
    order = sorted(started, key=lambda r: started[r])
    assert order[0] == blocker
    assert order[1] == high, f"high-priority run started at position {order.index(high)}"
