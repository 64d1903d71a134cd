"""Throttle (PROTOCOL.md §6.8): ``fc-throttle`` allows one run start per second per
``event.data.id`` (``limit: 1, period: 1s, burst: 1``).

Five events sent in one request all start runs (a throttle delays, never drops); while held
back a run says "throttled"; the app sees the five first calls at least a period apart (a
little less is tolerated for the HTTP call's own jitter), and every run completes.
"""

from __future__ import annotations

import itertools

import pytest

from . import harness

pytestmark = pytest.mark.e2e

PERIOD_MS = 1000
# The app's clock sees the call, not the server's decision: allow for the call's latency.
JITTER_MS = 250


def test_throttle_spaces_run_starts(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("throttle")

    run_ids = deployment.trigger_many("test/fc-throttle", [{"id": id_, "n": n} for n in range(5)])

    def reports_throttled() -> bool:
        # The five first calls race for the bucket, so which runs are held back is not fixed;
        # some run must say so while it waits.
        found = [deployment.api.get_run(run_id) for run_id in run_ids]
        if all(run["status"] in harness.FINAL_STATUSES for run in found):
            raise harness.WaitAborted(f"every run ended without one being throttled: {found}")
        return any(w["reason"] == "throttled" for run in found for w in run["waiting_for"])

    harness.wait_until(reports_throttled, what="a held-back run to say it is throttled")
    for run_id in run_ids:
        run = deployment.api.wait_for_run_end(run_id)
        assert run["status"] == "Completed", run

    lines = [c for c in app.handler_calls("fc-throttle") if c["id"] == id_]
    first_call = {}
    for line in sorted(lines, key=lambda c: c["t"]):
        first_call.setdefault(line["run_id"], line["t"])
    assert set(first_call) == set(run_ids)
    starts = sorted(first_call.values())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= PERIOD_MS - JITTER_MS for gap in gaps), gaps
