"""Sync: the server learns an app's functions from the app itself.

* ``POST /api/v1/apps {"url"}`` makes the server PUT the app, which registers its functions.
* ``-u URL`` at boot does the same without any API call.
* Syncing again after the app changed replaces the function list; the app is not duplicated.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import harness

pytestmark = pytest.mark.e2e


def test_sync_through_the_api_registers_every_function(
    server: harness.Server, app: harness.SdkApp
) -> None:
    server.api.sync_app(app.url)

    assert server.api.function_slugs(app.url) == {app.slug(f) for f in harness.ALL_FUNCTIONS}

    [event_id] = server.send_event({"name": "test/single", "data": {"hello": "sync"}})
    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["function_slug"] == app.slug("single")
    assert run["output"] == {"echo": {"hello": "sync"}}


def test_boot_flag_syncs_the_app(
    sdk: harness.Sdk,
    start_server: Callable[..., harness.Server],
    start_app: Callable[..., harness.SdkApp],
) -> None:
    booted = start_server("dev", started_now=False)
    app = start_app(sdk, booted)
    booted.sdk_urls.append(app.url)
    booted.start()

    expected = {app.slug(f) for f in harness.ALL_FUNCTIONS}
    harness.wait_until(
        lambda: booted.api.function_slugs(app.url) == expected,
        what="the boot-time sync to register every function",
    )
    [event_id] = booted.send_event({"name": "test/single", "data": {"via": "boot"}})
    [run] = booted.api.wait_for_runs(event_id)
    run = booted.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["output"] == {"echo": {"via": "boot"}}


def test_resync_replaces_the_function_list(
    sdk: harness.Sdk,
    server: harness.Server,
    start_app: Callable[..., harness.SdkApp],
) -> None:
    app = start_app(sdk, server, functions=["single"])
    server.api.sync_app(app.url)
    assert server.api.function_slugs(app.url) == {app.slug("single")}

    app.restart(functions=harness.ALL_FUNCTIONS)
    server.api.sync_app(app.url)

    assert server.api.function_slugs(app.url) == {app.slug(f) for f in harness.ALL_FUNCTIONS}
    assert len(server.api.apps_at(app.url)) == 1, "a re-sync must update the app, not add one"
    [event_id] = server.send_event({"name": "test/three-steps", "data": {"input": "new"}})
    [run] = server.api.wait_for_runs(event_id)
    run = server.api.wait_for_run_end(run["id"])
    assert run["status"] == "Completed", run
    assert run["function_slug"] == app.slug("three-steps")
