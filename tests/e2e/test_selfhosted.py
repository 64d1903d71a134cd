"""Self-hosted personality: ``inngest start`` with a signing key, an event key and Redis.

SDK apps in cloud mode (no ``INNGEST_DEV``; the server's signing key and event key) sync and
run functions, every request between them signed. An event sent with a wrong event key gets
401 and starts nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import harness

pytestmark = pytest.mark.e2e


@pytest.fixture
def keyed_server(start_server: Callable[..., harness.Server], redis_url: str) -> harness.Server:
    return start_server("start", redis_url=redis_url)


@pytest.fixture
def keyed_app(
    sdk: harness.Sdk,
    keyed_server: harness.Server,
    start_app: Callable[..., harness.SdkApp],
) -> harness.SdkApp:
    app = start_app(sdk, keyed_server, mode="cloud")
    keyed_server.api.sync_app(app.url)
    return app


def test_cloud_mode_app_syncs_and_runs(
    keyed_server: harness.Server, keyed_app: harness.SdkApp
) -> None:
    app = keyed_app
    assert keyed_server.api.function_slugs(app.url) == {app.slug(f) for f in harness.ALL_FUNCTIONS}

    [event_id] = app.send({"name": "test/three-steps", "data": {"input": "keyed"}})

    [run] = keyed_server.api.wait_for_runs(event_id)
    run = keyed_server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"]["three"] == {"n": 3, "input": "keyed"}
    assert list(harness.steps_by_name(run)) == ["one", "two", "three"]


def test_retries_work_in_cloud_mode(
    keyed_server: harness.Server, keyed_app: harness.SdkApp
) -> None:
    [event_id] = keyed_server.send_event({"name": "test/flaky", "data": {}})

    [run] = keyed_server.api.wait_for_runs(event_id)
    run = keyed_server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"attempt": 2}


def test_wrong_event_key_is_rejected_and_nothing_runs(
    keyed_server: harness.Server, keyed_app: harness.SdkApp
) -> None:
    app = keyed_app

    resp = keyed_server.api.post_event("not-the-key", {"name": "test/single", "data": {}})

    assert resp.status_code == 401, resp.text
    assert not resp.json().get("ids")
    [control_id] = keyed_server.send_event({"name": "test/single", "data": {}})
    [control] = keyed_server.api.wait_for_runs(control_id)
    keyed_server.api.wait_for_run_end(control["id"])
    assert {c["run_id"] for c in app.handler_calls("single")} == {control["id"]}
