"""Crash recovery: ``kill -9`` the server mid-run, start it again on the same database.

``slow-steps`` runs three steps that each take a while and return the time they ran. Once the
first step is recorded the server is killed with SIGKILL and restarted with the same flags and
database. The run completes; every step recorded before the kill keeps its output (memoized
results are the source of truth, a recorded step never runs again).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_run_survives_server_kill_and_restart(
    sdk: harness.Sdk,
    start_server: Callable[..., harness.Server],
    start_app: Callable[..., harness.SdkApp],
) -> None:
    # A short lease, so the call that was in flight when the server died is re-claimed soon.
    server = start_server("dev", env={"INNGEST_QUEUE__LEASE_S": "5"})
    app = start_app(sdk, server)
    server.api.sync_app(app.url)
    [event_id] = server.send_event({"name": "test/slow", "data": {"delay_ms": 1500}})
    [run] = server.api.wait_for_runs(event_id)
    run_id = run["id"]

    def first_step_recorded() -> dict[str, Any] | None:
        current = server.api.get_run(run_id)
        return current if "one" in harness.steps_by_name(current) else None

    before = harness.wait_until(first_step_recorded, what="step one to be recorded")
    assert before["status"] == "Running", before
    recorded = {
        name: harness.step_output(step) for name, step in harness.steps_by_name(before).items()
    }

    server.kill(signal.SIGKILL)
    assert not server.process.alive()
    server.restart()

    run = server.api.wait_for_run_end(run_id, timeout_s=120)
    assert run["status"] == "Completed", run
    steps = harness.steps_by_name(run)
    assert list(steps) == ["one", "two", "three"]
    for name, output in recorded.items():
        assert harness.step_output(steps[name]) == output, f"step {name} changed after restart"
        assert len(app.step_calls("slow-steps", name, run_id=run_id)) == 1, name
    assert run["output"] == {name: harness.step_output(step) for name, step in steps.items()}
