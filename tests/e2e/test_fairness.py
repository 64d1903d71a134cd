"""Fair ordering between functions at run start (docs/architecture.md, "Flow control").

``fc-bulk`` gets a backlog of 2,000 runs (one request); right after, ``single`` gets 10. The
ten do not queue behind the backlog: every one of them has finished before half of the
backlog has, and every run of both functions completes. Ordering is the server's business, not
the SDK's, so this runs with one SDK only.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e

BACKLOG = 2000
OTHERS = 10


@pytest.mark.parametrize("sdk", harness.SDKS[:1], indirect=True)
def test_a_backlog_does_not_starve_another_function(
    sdk: harness.Sdk,
    start_server: Callable[..., harness.Server],
    start_app: Callable[..., harness.SdkApp],
) -> None:
    server = start_server("dev")
    app = start_app(sdk, server, functions=["fc-bulk", "single"])
    server.api.sync_app(app.url)
    id_ = harness.unique_id("fair")

    server.send_event(
        [{"name": "test/fc-bulk", "data": {"id": id_, "n": n}} for n in range(BACKLOG)]
    )
    others = server.send_event(
        [{"name": "test/single", "data": {"id": id_, "n": n}} for n in range(OTHERS)]
    )

    other_runs = [server.api.wait_for_runs(e)[0]["id"] for e in others]
    other_ended = [
        harness.parse_time(server.api.wait_for_run_end(r, timeout_s=120)["ended_at"])
        for r in other_runs
    ]

    def backlog_done() -> list[dict[str, Any]] | None:
        runs = server.api.list_runs(function=app.slug("fc-bulk"))
        ended = [r for r in runs if r["status"] in harness.FINAL_STATUSES]
        return ended if len(ended) == BACKLOG else None

    bulk = harness.wait_until(backlog_done, 180, 1.0, f"{BACKLOG} backlog runs to end")
    assert all(r["status"] == "Completed" for r in bulk)
    bulk_ended = sorted(harness.parse_time(r["ended_at"]) for r in bulk)
    half_drained = bulk_ended[BACKLOG // 2]
    assert max(other_ended) < half_drained, (
        f"last of the {OTHERS} ended at {max(other_ended)}; backlog: first "
        f"{bulk_ended[0]}, half {half_drained}, last {bulk_ended[-1]}; "
        f"median of the {OTHERS}: {statistics.median_low(other_ended)}"
    )
