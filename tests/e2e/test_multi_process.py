"""Several ``inngest start`` processes on one PostgreSQL database and one Redis (one prefix).

The app is synced once, through one of them (apps are rows in the shared database); events
go to all three in turn. ``fc-load`` has ``concurrency: 5`` and one timed step per run.

* 200 runs: the app never has more than five steps in flight at once (its own log is the
  judge), every process calls the app, and every run completes.
* The same with ``kill -9`` of one process mid-load (3 s leases, so its calls are claimed
  again soon): every run still completes, the limit still holds, and each run's output is
  the step output that was recorded, which is one the app really produced. A step may run
  twice (at least once delivery), never with a changed record.
* An every-second cron with all three processes firing ticks: one run per tick.
"""

from __future__ import annotations

import signal
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e

RUNS = 200
LIMIT = 5
LOAD_TIMEOUT_S = 150.0


@pytest.fixture
def cluster(start_cluster: Callable[..., harness.Cluster], redis_url: str) -> harness.Cluster:
    return start_cluster(3, redis_url=redis_url, env={"INNGEST_QUEUE__LEASE_S": "3"})


def start_load(cluster: harness.Cluster, app: harness.SdkApp, id_: str, delay_ms: int) -> list[str]:
    """Send RUNS ``test/fc-load`` events, a third to each process; the event ids."""
    event_ids = []
    for index, server in enumerate(cluster):
        datas = [{"id": id_, "n": n, "delay_ms": delay_ms} for n in range(index, RUNS, 3)]
        event_ids += server.send_event([{"name": "test/fc-load", "data": d} for d in datas])
    return event_ids


def wait_all_completed(api: harness.ApiClient, slug: str) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        runs = api.list_runs(function=slug)
        ended = [r for r in runs if r["status"] in harness.FINAL_STATUSES]
        if len(ended) > len([r for r in ended if r["status"] == "Completed"]):
            raise harness.WaitAborted(f"a run did not complete: {ended}")
        return runs if len(ended) == RUNS else None

    return harness.wait_until(done, LOAD_TIMEOUT_S, 0.5, f"{RUNS} runs of {slug} to complete")


def test_concurrency_limit_holds_across_processes(
    sdk: harness.Sdk,
    cluster: harness.Cluster,
    start_app: Callable[..., harness.SdkApp],
) -> None:
    app = start_app(sdk, cluster[0], mode="cloud", functions=["fc-load"])
    cluster[1].api.sync_app(app.url)
    id_ = harness.unique_id("cluster")

    start_load(cluster, app, id_, delay_ms=100)

    runs = wait_all_completed(cluster[2].api, app.slug("fc-load"))
    assert len(runs) == RUNS
    lines = [c for c in app.calls("fc-load") if c["id"] == id_]
    assert {c["run_id"] for c in harness.phase_lines(lines, "end")} == {r["id"] for r in runs}
    assert harness.max_in_flight(lines)[None] <= LIMIT
    slug = app.slug("fc-load")
    for server in cluster:
        assert f'"function": "{slug}"' in server.process.log_text(), (
            f"{server.url} never called the app"
        )


def test_all_runs_complete_when_a_process_is_killed(
    sdk: harness.Sdk,
    cluster: harness.Cluster,
    start_app: Callable[..., harness.SdkApp],
) -> None:
    app = start_app(sdk, cluster[0], mode="cloud", functions=["fc-load"])
    cluster[0].api.sync_app(app.url)
    slug = app.slug("fc-load")
    id_ = harness.unique_id("cluster-kill")
    start_load(cluster, app, id_, delay_ms=200)
    harness.wait_until(
        lambda: len(harness.phase_lines(app.calls("fc-load"), "end")) >= RUNS // 4,
        LOAD_TIMEOUT_S,
        0.2,
        "a quarter of the steps to run",
    )

    cluster[1].kill(signal.SIGKILL)

    runs = wait_all_completed(cluster[0].api, slug)
    lines = [c for c in app.calls("fc-load") if c["id"] == id_]
    assert harness.max_in_flight(lines)[None] <= LIMIT
    nonces: dict[str, set[str]] = defaultdict(set)
    for line in harness.phase_lines(lines, "end"):
        nonces[line["run_id"]].add(line["nonce"])
    twice = []
    for run in runs:
        produced = nonces[run["id"]]
        assert run["output"]["work"]["nonce"] in produced, (run, produced)
        if len(produced) > 1:
            twice.append(run["id"])
    # A step that ran more than once (a call cut off by the kill) was recorded once: the
    # recorded memo is the output every later call saw.
    for run_id in twice:
        run = cluster[0].api.get_run(run_id)
        assert harness.step_output(harness.steps_by_name(run)["work"]) == run["output"]["work"]
    assert len(twice) <= LIMIT, f"more steps ran twice than were in flight at the kill: {twice}"


def test_cron_ticks_fire_once_across_processes(
    sdk: harness.Sdk,
    cluster: harness.Cluster,
    start_app: Callable[..., harness.SdkApp],
) -> None:
    app = start_app(
        sdk, cluster[0], mode="cloud", functions=["fc-cron"], env={"CRON_SCHEDULE": "* * * * * *"}
    )
    cluster[2].api.sync_app(app.url)

    runs = harness.wait_until(
        lambda: harness.completed_runs(cluster[1].api, app.slug("fc-cron"), at_least=6),
        timeout_s=40,
        what="six cron runs",
    )

    assert len(set(harness.assert_one_run_per_tick(runs))) >= 6
