"""Crash during a sleep: ``kill -9`` the server while ``sleep-wait-invoke`` sleeps.

The function records a stamp (time and a random number), sleeps 5 s, waits for
``test/sleep-wait-invoke.reply`` with its ``data.id``, then invokes ``invoke-child``. During
the sleep the server is killed with SIGKILL and started again on the same database. The run
wakes, waits, is resumed by the reply, invokes the child and completes with the child's output;
the stamp recorded before the crash is unchanged and its step never ran again.
"""

from __future__ import annotations

import signal

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_run_survives_kill_during_sleep(own_deployment: harness.Deployment) -> None:
    deployment = own_deployment
    server, app = deployment.server, deployment.app
    id_ = harness.unique_id("kill")
    run_id = deployment.trigger("test/sleep-wait-invoke", {"id": id_, "n": 21, "sleep_ms": 5000})
    sleeping = deployment.wait_for_history(run_id, "sleep.started", step="nap")
    stamp = harness.step_output(harness.steps_by_name(sleeping)["stamp"])

    server.kill(signal.SIGKILL)
    assert not server.process.alive()
    server.restart()

    waiting = deployment.wait_for_history(run_id, "wait.started", step="reply")
    assert harness.step_output(harness.steps_by_name(waiting)["stamp"]) == stamp
    deployment.send("test/sleep-wait-invoke.reply", {"id": id_, "note": "after the crash"})

    run = deployment.api.wait_for_run_end(run_id)
    assert run["status"] == "Completed", run
    assert run["output"] == {
        "stamp": stamp,
        "reply": {"id": id_, "note": "after the crash"},
        "child": {"doubled": 42},
    }
    steps = harness.steps_by_name(run)
    assert list(steps) == ["stamp", "nap", "reply", "call"]
    assert harness.step_output(steps["stamp"]) == stamp
    assert len(app.step_calls("sleep-wait-invoke", "stamp", run_id=run_id)) == 1
    [started] = harness.history(run, "sleep.started", step="nap")
    [completed] = harness.history(run, "sleep.completed", step="nap")
    assert harness.parse_time(completed["at"]) >= harness.parse_time(started["data"]["until"])
