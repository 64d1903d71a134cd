"""Concurrency limits (PROTOCOL.md §6.7), measured from the SDK app's own log.

* ``fc-concurrency`` (``concurrency: 2``): ten runs, each one step of ~300 ms, triggered at
  once. The app never has more than two of those steps in flight (and does have two: the
  limit is not stricter than configured), while waiting a run says "concurrency limit
  reached", and every run completes.
* ``fc-concurrency-key`` (``concurrency: {limit: 1, key: event.data.group}``): four runs in
  each of two groups. Each group has at most one step in flight; the two groups run in
  parallel with each other.
"""

from __future__ import annotations

from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_concurrency_limit_caps_steps_in_flight(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("conc")

    run_ids = deployment.trigger_many(
        "test/fc-concurrency", [{"id": id_, "n": n, "delay_ms": 300} for n in range(10)]
    )

    def reports_limit() -> bool:
        last = deployment.api.get_run(run_ids[-1])
        if last["status"] in harness.FINAL_STATUSES:
            raise harness.WaitAborted(f"the last run ended without waiting for a slot: {last}")
        return any(w["reason"] == "concurrency limit reached" for w in last["waiting_for"])

    harness.wait_until(reports_limit, what="the last run to wait for a concurrency slot")
    for run_id in run_ids:
        run = deployment.api.wait_for_run_end(run_id)
        assert run["status"] == "Completed", run
        assert run["output"]["work"] == harness.step_output(harness.steps_by_name(run)["work"])

    lines = [c for c in app.calls("fc-concurrency") if c["id"] == id_]
    ends = harness.phase_lines(lines, "end")
    assert {c["run_id"] for c in ends} == set(run_ids)
    assert harness.max_in_flight(lines) == {None: 2}


def test_concurrency_key_limits_each_key_on_its_own(deployment: harness.Deployment) -> None:
    app = deployment.app
    id_ = harness.unique_id("conckey")
    datas = [
        {"id": id_, "group": f"{id_}-{group}", "n": n, "delay_ms": 300}
        for n in range(4)
        for group in ("a", "b")
    ]

    run_ids = deployment.trigger_many("test/fc-concurrency-key", datas)

    group_of = {run_id: data["group"] for run_id, data in zip(run_ids, datas, strict=True)}
    for run_id in run_ids:
        run = deployment.api.wait_for_run_end(run_id)
        assert run["status"] == "Completed", run
    lines = [c for c in app.calls("fc-concurrency-key") if c["id"] == id_]
    assert {c["run_id"] for c in harness.phase_lines(lines, "end")} == set(run_ids)

    def by_group(line: dict[str, Any]) -> str:
        return group_of[line["run_id"]]

    assert harness.max_in_flight(lines, by_group) == {f"{id_}-a": 1, f"{id_}-b": 1}
    # One slot per key, not one for the function: the groups overlap.
    assert harness.max_in_flight(lines) == {None: 2}
