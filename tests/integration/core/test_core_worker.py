"""The worker end to end against the stub SDK: steps in order with exact memo values, the call
body the SDK receives, retries, non-retriable failures, and malformed answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inngest.clock import SystemClock
from inngest.db.pool import Pool
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk, step_data, step_hash
from tests.integration.core.support import rows, running_worker, send, sync, wait_final

pytestmark = pytest.mark.anyio

NAMES = ("a", "b", "c")


def now() -> datetime:
    return SystemClock().now()


async def test_three_steps_complete_in_order(pool: Pool, db_url: str, stub: StubSdk) -> None:
    fn = "stub-app-three"
    stub.behaviours[fn] = stub_sdk.steps(NAMES)
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/three", "retries": 2}]), now())
    event = {"name": "demo/three", "data": {"who": "Ada"}, "id": "evt-1", "ts": 1764500000000}
    ids, ingested = await send(pool, event, now=now())
    (run_id,) = ingested.run_ids

    async with running_worker(pool, db_url):
        run = await wait_final(pool, run_id)

    expected_memo = {step_hash(n): {"data": step_data(n, i + 1)} for i, n in enumerate(NAMES)}
    assert run["status"] == "Completed"
    assert run["output"] == {"memo": expected_memo}
    assert run["error"] is None
    assert [(s["step_id"], s["name"], s["op"], s["memo"], s["position"]) for s in run["steps"]] == [
        (step_hash(n), n, "StepRun", {"data": step_data(n, i + 1)}, i) for i, n in enumerate(NAMES)
    ]
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in run["attempts"]] == [
        (0, "ops", 206),
        (0, "ops", 206),
        (0, "ops", 206),
        (0, "completed", 200),
    ]
    # A finished run leaves nothing in the queue.
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]

    calls = stub.calls_for(fn)
    assert len(calls) == 4
    wire_event = {"name": "demo/three", "data": {"who": "Ada"}, "id": "evt-1"}
    wire_event |= {"ts": 1764500000000, "user": {}}
    for index, call in enumerate(calls):
        body = call.body
        assert body["use_api"] is False
        assert body["ctx"]["use_api"] is False
        assert body["version"] == (-1 if index == 0 else 2)
        assert call.headers["x-inngest-req-version"] == str(body["version"])
        assert body["ctx"]["run_id"] == run_id
        assert call.headers["x-run-id"] == run_id
        assert call.headers["x-inngest-server-kind"] == "dev"
        assert body["ctx"]["attempt"] == 0
        assert body["ctx"]["max_attempts"] == 3
        assert body["ctx"]["disable_immediate_execution"] is False
        assert body["event"] == wire_event
        assert body["events"] == [wire_event]
        done = NAMES[:index]
        assert call.stack == [step_hash(n) for n in done]
        assert body["ctx"]["stack"]["current"] == len(done)
        assert call.memo == {h: expected_memo[h] for h in call.stack}
        assert call.step_id == "step"
    assert ids[0] == run["event_ids"][0]


async def test_retry_then_success(pool: Pool, db_url: str, stub: StubSdk) -> None:
    fn = "stub-app-flaky"
    stub.behaviours[fn] = stub_sdk.fail_then_succeed(2, {"ok": True})
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/flaky", "retries": 3}]), now())
    _, ingested = await send(pool, {"name": "demo/flaky", "data": {}}, now=now())
    (run_id,) = ingested.run_ids

    async with running_worker(pool, db_url, retry_s=0.05):
        run = await wait_final(pool, run_id)

    assert run["status"] == "Completed"
    assert run["output"] == {"ok": True}
    history = [(a["attempt"], a["outcome"], a["status_code"]) for a in run["attempts"]]
    assert history == [(0, "error", 500), (1, "error", 500), (2, "completed", 200)]
    assert run["attempts"][0]["error"]["message"] == "boom 1"
    assert run["attempts"][0]["retry_at"] is not None
    assert [c.attempt for c in stub.calls_for(fn)] == [0, 1, 2]


async def test_retries_exhausted_fail_the_run(pool: Pool, db_url: str, stub: StubSdk) -> None:
    fn = "stub-app-hopeless"
    stub.behaviours[fn] = stub_sdk.fail_then_succeed(100, None)
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/hopeless", "retries": 1}]), now())
    _, ingested = await send(pool, {"name": "demo/hopeless", "data": {}}, now=now())
    (run_id,) = ingested.run_ids

    async with running_worker(pool, db_url):
        run = await wait_final(pool, run_id)

    assert run["status"] == "Failed"
    assert run["error"]["message"] == "boom 2"
    assert [(a["attempt"], a["outcome"]) for a in run["attempts"]] == [(0, "error"), (1, "failed")]
    assert len(stub.calls_for(fn)) == 2


async def test_non_retriable_failure(pool: Pool, db_url: str, stub: StubSdk) -> None:
    fn = "stub-app-fatal"
    stub.behaviours[fn] = stub_sdk.non_retriable("card declined")
    await sync(pool, stub.app_sync([{"id": fn, "event": "demo/fatal", "retries": 4}]), now())
    _, ingested = await send(pool, {"name": "demo/fatal", "data": {}}, now=now())
    (run_id,) = ingested.run_ids

    async with running_worker(pool, db_url):
        run = await wait_final(pool, run_id)

    assert run["status"] == "Failed"
    assert run["error"] == {
        "name": "NonRetriableError",
        "message": "card declined",
        "code": "non_retriable_error",
    }
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in run["attempts"]] == [
        (0, "failed", 500)
    ]
    assert run["attempts"][0]["error"] == run["error"]
    assert run["attempts"][0]["retry_at"] is None
    assert len(stub.calls_for(fn)) == 1
    assert run["ended_at"] is not None


async def test_malformed_answers_are_retried_and_the_worker_survives(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    garbage = "stub-app-garbage"
    healthy = "stub-app-healthy"
    stub.behaviours[garbage] = stub_sdk.sequence(
        [
            stub_sdk.NOT_FROM_SDK,
            stub_sdk.BAD_206_JSON,
            stub_sdk.EMPTY_206,
            stub_sdk.json_reply(200, "finally"),
        ]
    )
    stub.behaviours[healthy] = stub_sdk.steps(NAMES)
    app = stub.app_sync(
        [
            {"id": garbage, "event": "demo/garbage", "retries": 4},
            {"id": healthy, "event": "demo/healthy"},
        ]
    )
    await sync(pool, app, now())
    _, bad = await send(pool, {"name": "demo/garbage", "data": {}}, now=now())

    async with running_worker(pool, db_url):
        _, good = await send(pool, {"name": "demo/healthy", "data": {}}, now=now())
        bad_run = await wait_final(pool, bad.run_ids[0])
        good_run = await wait_final(pool, good.run_ids[0])

    assert good_run["status"] == "Completed"
    assert [s["name"] for s in good_run["steps"]] == list(NAMES)
    assert bad_run["status"] == "Completed"
    assert bad_run["output"] == "finally"
    history = [
        (a["attempt"], a["outcome"], a["status_code"], (a["error"] or {}).get("name"))
        for a in bad_run["attempts"]
    ]
    assert history == [
        (0, "error", 200, "NonSDKResponse"),
        (1, "error", 206, "MalformedResponse"),
        (2, "error", 206, "MalformedResponse"),
        (3, "completed", 200, None),
    ]
    assert bad_run["steps"] == []


async def test_unreachable_app_is_a_retried_transport_error(pool: Pool, db_url: str) -> None:
    """Nothing listens at the registered URL: each attempt fails as a transport error."""
    from tests.integration.core.stub_sdk import start_stub

    async with start_stub() as gone:
        app = gone.app_sync([{"id": "stub-app-gone", "event": "demo/gone", "retries": 1}])
    await sync(pool, app, now())
    _, ingested = await send(pool, {"name": "demo/gone", "data": {}}, now=now())

    async with running_worker(pool, db_url):
        run = await wait_final(pool, ingested.run_ids[0])

    assert run["status"] == "Failed"
    assert run["error"]["name"] == "TransportError"
    assert [(a["outcome"], a["status_code"]) for a in run["attempts"]] == [
        ("error", None),
        ("failed", None),
    ]


T0 = datetime(2026, 1, 1, tzinfo=UTC)
