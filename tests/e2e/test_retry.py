"""Retries: a function that throws is called again until it succeeds or runs out of attempts.

``flaky`` (retries: 3, so up to 4 attempts) throws on attempts 0 and 1 and returns
``{"attempt": 2}`` on the third. The server runs with a 1 s retry interval.
"""

from __future__ import annotations

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_flaky_function_succeeds_on_the_third_attempt(
    server: harness.Server, synced_app: harness.SdkApp
) -> None:
    app = synced_app

    [event_id] = server.send_event({"name": "test/flaky", "data": {}})

    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"attempt": 2}
    assert len(run["attempts"]) == 3, run["attempts"]
    assert [c["attempt"] for c in app.handler_calls("flaky", run_id=run["id"])] == [0, 1, 2]
