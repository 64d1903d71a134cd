"""The HTTP API through Litestar's test client on a real database: the event API, app
registration in both SDK dialects, keyed (cloud) authentication, bad input, the REST API."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from inngest.api.app import create_app
from inngest.api.deps import ApiDeps
from inngest.clock import SystemClock
from inngest.config import Settings
from inngest.coord.wakeup import PostgresWakeups
from inngest.db.pool import Pool
from tests.integration.core import stub_sdk
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import rows, running_worker, wait_final

pytestmark = pytest.mark.anyio

KEY_HEX = "9f2b" * 16
SIGNING_KEY = f"signkey-test-{KEY_HEX}"
KEY_HASH = hashlib.sha256(bytes.fromhex(KEY_HEX)).hexdigest()
EVENT_KEY = "k1"

# PROTOCOL.md §3.4, as captured from the SDKs (featureObservations abbreviated).
TS_REGISTER: dict[str, Any] = {
    "url": "http://127.0.0.1:3000/api/inngest",
    "deployType": "ping",
    "framework": "express",
    "appName": "ts-app",
    "functions": [
        {
            "id": "ts-app-demo",
            "name": "demo",
            "triggers": [{"event": "demo/start"}],
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "runtime": {
                        "type": "http",
                        "url": "http://127.0.0.1:3000/api/inngest?fnId=ts-app-demo&stepId=step",
                    },
                    "retries": {"attempts": 2},
                }
            },
        }
    ],
    "sdk": "js:v4.24.0",
    "v": "0.1",
    "capabilities": {"trust_probe": "v1", "connect": "v1"},
    "featureObservations": {"sendEvents": {"readinessReason": "READY", "config": {}}},
}
PY_REGISTER: dict[str, Any] = {
    "appname": "py-app",
    "capabilities": {"connect": "v1", "in_band_sync": "v1", "trust_probe": "v1"},
    "deploy_type": "ping",
    "framework": "fast_api",
    "functions": [
        {
            "id": "py-app-demo",
            "name": "demo",
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "retries": {"attempts": 2},
                    "runtime": {
                        "type": "http",
                        "url": "http://127.0.0.1:8000/api/inngest?fnId=py-app-demo&stepId=step",
                    },
                }
            },
            "triggers": [{"event": "demo/start"}],
        }
    ],
    "sdk": "py:v0.5.19",
    "url": "http://127.0.0.1:8000/api/inngest",
    "v": "0.1",
}


def dev_settings(db_url: str, **api: Any) -> Settings:
    return Settings(personality="dev", database={"url": db_url}, api=api or {})


def cloud_settings(db_url: str) -> Settings:
    return Settings(
        personality="cloud",
        auth={"signing_key": SIGNING_KEY, "event_keys": [EVENT_KEY]},
        database={"url": db_url},
    )


@contextlib.asynccontextmanager
async def api_client(
    settings: Settings, pool: Pool, db_url: str
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with (
        httpx.AsyncClient() as http,
        PostgresWakeups(db_url) as wakeups,
    ):
        deps = ApiDeps(
            settings=settings, pool=pool, clock=SystemClock(), client=http, wakeups=wakeups
        )
        async with AsyncTestClient(app=build_app(deps)) as client:
            yield client


def build_app(deps: ApiDeps) -> Litestar:
    # Warnings are errors here: building the app also proves no handler uses a parameter style
    # Litestar deprecates.
    return create_app(deps)


@pytest.fixture
async def dev(pool: Pool, db_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with api_client(dev_settings(db_url), pool, db_url) as client:
        yield client


@pytest.fixture
async def cloud(pool: Pool, db_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with api_client(cloud_settings(db_url), pool, db_url) as client:
        yield client


async def count(pool: Pool, table: str) -> int:
    result = await rows(pool, f"SELECT count(*) FROM {table}")
    return int(result[0][0])


# --- the event API --------------------------------------------------------------------------


async def test_send_one_event_and_an_array(dev: AsyncTestClient[Any], pool: Pool) -> None:
    one = await dev.post("/e/NO_EVENT_KEY_SET", json={"name": "demo/x", "data": {"a": 1}})
    assert one.status_code == 200
    assert one.headers["x-inngest-server-kind"] == "dev"
    body = one.json()
    assert set(body) == {"ids", "status"}
    assert body["status"] == 200
    assert len(body["ids"]) == 1

    many = await dev.post(
        "/e/anything", json=[{"name": "demo/y", "data": {}}, {"name": "demo/z", "data": {}}]
    )
    assert many.status_code == 200
    ids = many.json()["ids"]
    assert len(ids) == 2
    stored = await rows(pool, "SELECT internal_id, name FROM events ORDER BY internal_id")
    assert stored == sorted([(body["ids"][0], "demo/x"), (ids[0], "demo/y"), (ids[1], "demo/z")])


async def test_cloud_event_key(cloud: AsyncTestClient[Any], pool: Pool) -> None:
    wrong = await cloud.post("/e/not-a-key", json={"name": "demo/x", "data": {}})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Event key not found"
    assert await count(pool, "events") == 0

    right = await cloud.post(f"/e/{EVENT_KEY}", json={"name": "demo/x", "data": {}})
    assert right.status_code == 200
    assert right.json()["status"] == 200
    assert await count(pool, "events") == 1


@pytest.mark.parametrize(
    ("body", "names"),
    [
        pytest.param(b'{"name": "demo/x", "data": ', "events", id="malformed-json"),
        pytest.param(b"42", "must be an object", id="not-an-object"),
        pytest.param(b'{"data": {}}', "events[0].name", id="missing-name"),
        pytest.param(b'{"name": 5}', "events[0].name", id="name-not-string"),
        pytest.param(b'{"name": "demo/x", "data": [1]}', "events[0].data", id="data-not-object"),
        pytest.param(b'{"name": "demo/x", "ts": "soon"}', "events[0].ts", id="ts-not-integer"),
        pytest.param(b'{"name": "inngest/function.failed"}', "reserved", id="reserved-name"),
        pytest.param(
            b'[{"name": "demo/ok"}, {"name": "inngest/x"}]', "events[1].name", id="second-bad"
        ),
    ],
)
async def test_bad_events_are_rejected_and_change_nothing(
    dev: AsyncTestClient[Any], pool: Pool, body: bytes, names: str
) -> None:
    response = await dev.post("/e/key", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    reply = response.json()
    assert reply["status"] == 400
    assert names in reply["error"]
    assert await count(pool, "events") == 0
    assert await count(pool, "runs") == 0


async def test_oversized_body_is_413_naming_the_limit(pool: Pool, db_url: str) -> None:
    settings = dev_settings(db_url, max_body_bytes=2048)
    async with api_client(settings, pool, db_url) as client:
        big = json.dumps({"name": "demo/x", "data": {"blob": "x" * 4000}}).encode()
        response = await client.post(
            "/e/key", content=big, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert "api.max_body_bytes" in response.json()["error"]
        assert "2048" in response.json()["error"]
    assert await count(pool, "events") == 0


# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "slug"), [(TS_REGISTER, "ts-app-demo"), (PY_REGISTER, "py-app-demo")]
)
async def test_register_both_dialects(
    dev: AsyncTestClient[Any], pool: Pool, payload: dict[str, Any], slug: str
) -> None:
    # TS in dev mode sends "Bearer undefined"; dev ignores Authorization entirely.
    headers = {"authorization": "Bearer undefined"}
    first = await dev.post("/fn/register", json=payload, headers=headers)
    assert first.status_code == 200
    reply = first.json()
    assert reply["ok"] is True
    assert reply["modified"] is True
    assert reply["status"] == 200
    assert "error" not in reply
    assert {"app_id", "sync_id"} <= set(reply)
    again = await dev.post("/fn/register", json=payload)
    assert again.json()["modified"] is False
    assert again.json()["app_id"] == reply["app_id"]
    stored = await rows(pool, "SELECT slug, max_attempts, url FROM functions")
    assert stored == [
        (slug, 3, payload["functions"][0]["steps"]["step"]["runtime"]["url"]),
    ]


@pytest.mark.parametrize(
    ("authorization", "accepted"),
    [
        pytest.param(f"Bearer signkey-test-{KEY_HASH}", True, id="ts-prefixed-hash"),
        pytest.param(f"Bearer {KEY_HASH}", True, id="py-bare-hash"),
        pytest.param(f"Bearer signkey-prod-{KEY_HASH}", True, id="other-env-prefix"),
        pytest.param(f"Bearer {'0' * 64}", False, id="wrong-hash"),
        pytest.param("Bearer undefined", False, id="ts-dev-token"),
        pytest.param(None, False, id="missing"),
    ],
)
async def test_register_bearer_in_cloud_mode(
    cloud: AsyncTestClient[Any], pool: Pool, authorization: str | None, accepted: bool
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await cloud.post("/fn/register", json=PY_REGISTER, headers=headers)
    if accepted:
        assert response.status_code == 200
        assert response.json()["ok"] is True
        assert await count(pool, "functions") == 1
    else:
        assert response.status_code == 401
        assert response.json()["ok"] is False
        assert await count(pool, "apps") == 0


async def test_each_app_announces_its_own_server_kind(pool: Pool, db_url: str) -> None:
    async with api_client(dev_settings(db_url), pool, db_url) as dev:
        assert (await dev.get("/health")).headers["x-inngest-server-kind"] == "dev"
    async with api_client(cloud_settings(db_url), pool, db_url) as cloud:
        assert (await cloud.get("/health")).headers["x-inngest-server-kind"] == "cloud"


async def test_register_expected_server_kind_mismatch(
    dev: AsyncTestClient[Any], pool: Pool
) -> None:
    response = await dev.post(
        "/fn/register", json=TS_REGISTER, headers={"x-inngest-expected-server-kind": "cloud"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Expected server kind cloud, got dev"
    assert await count(pool, "apps") == 0
    same = await dev.post(
        "/fn/register", json=TS_REGISTER, headers={"x-inngest-expected-server-kind": "dev"}
    )
    assert same.status_code == 200


async def test_register_invalid_trigger_expression(dev: AsyncTestClient[Any], pool: Pool) -> None:
    payload = json.loads(json.dumps(PY_REGISTER))
    payload["functions"][0]["triggers"] = [
        {"event": "demo/start", "expression": "event.data.x == = 1"}
    ]
    response = await dev.post("/fn/register", json=payload)
    assert response.status_code == 400
    reply = response.json()
    assert reply["ok"] is False
    assert "py-app-demo" in reply["error"]
    assert "triggers[0].expression" in reply["error"]
    assert await count(pool, "functions") == 0


async def test_register_malformed_body(dev: AsyncTestClient[Any], pool: Pool) -> None:
    bad_json = await dev.post(
        "/fn/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["ok"] is False
    no_app = await dev.post("/fn/register", json={"url": "http://x/api/inngest", "functions": []})
    assert no_app.status_code == 400
    assert "appName" in no_app.json()["error"]
    assert await count(pool, "apps") == 0


# --- the REST API -------------------------------------------------------------------------


async def seed_runs(dev: AsyncTestClient[Any], stub: StubSdk) -> tuple[list[str], list[str]]:
    """Two functions on one event name plus one on another; returns (event ids, run ids)."""
    body = stub.register_body(
        [
            {"id": "stub-app-alpha", "event": "demo/shared"},
            {"id": "stub-app-beta", "event": "demo/shared"},
            {"id": "stub-app-gamma", "event": "demo/other"},
        ]
    )
    assert (await dev.post("/fn/register", json=body)).status_code == 200
    events = [{"name": "demo/shared", "data": {"i": i}} for i in range(3)]
    events.append({"name": "demo/other", "data": {}})
    sent = await dev.post("/e/key", json=events)
    event_ids: list[str] = sent.json()["ids"]
    listed = await dev.get("/api/v1/runs", params={"limit": 200})
    return event_ids, [r["id"] for r in listed.json()["data"]]


async def test_runs_list_filters_and_pagination(
    dev: AsyncTestClient[Any], pool: Pool, stub: StubSdk
) -> None:
    event_ids, run_ids = await seed_runs(dev, stub)
    assert len(run_ids) == 7
    assert run_ids == sorted(run_ids, reverse=True)  # newest first

    alpha = (await dev.get("/api/v1/runs", params={"function": "stub-app-alpha"})).json()
    assert len(alpha["data"]) == 3
    assert {r["function_slug"] for r in alpha["data"]} == {"stub-app-alpha"}

    by_event = (await dev.get("/api/v1/runs", params={"event_id": event_ids[1]})).json()
    assert sorted(r["function_slug"] for r in by_event["data"]) == [
        "stub-app-alpha",
        "stub-app-beta",
    ]
    assert all(r["event_ids"] == [event_ids[1]] for r in by_event["data"])

    done = run_ids[2]
    async with pool.connection() as conn:
        await conn.execute("UPDATE runs SET status = 'Completed' WHERE id = %s", (done,))
        await conn.commit()
    completed = (await dev.get("/api/v1/runs", params={"status": "Completed"})).json()
    assert [r["id"] for r in completed["data"]] == [done]
    scheduled = (await dev.get("/api/v1/runs", params={"status": "Scheduled"})).json()
    assert len(scheduled["data"]) == 6
    combined = await dev.get(
        "/api/v1/runs", params={"status": "Scheduled", "function": "stub-app-gamma"}
    )
    assert len(combined.json()["data"]) == 1
    bad_status = await dev.get("/api/v1/runs", params={"status": "Exploded"})
    assert bad_status.status_code == 400

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await dev.get("/api/v1/runs", params=params)).json()
        pages += 1
        seen.extend(r["id"] for r in page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["data"][-1]["id"]
    assert seen == run_ids
    assert pages == 3


async def test_get_run_unknown_is_404(dev: AsyncTestClient[Any]) -> None:
    response = await dev.get("/api/v1/runs/01JNOTARUN0000000000000000")
    assert response.status_code == 404
    assert "01JNOTARUN0000000000000000" in response.json()["error"]


async def test_rerun_starts_a_new_run(dev: AsyncTestClient[Any], pool: Pool, stub: StubSdk) -> None:
    _, run_ids = await seed_runs(dev, stub)
    original = run_ids[-1]
    response = await dev.post(f"/api/v1/runs/{original}/rerun")
    assert response.status_code == 201
    new = response.json()["data"]
    assert new["original_run_id"] == original
    assert new["id"] != original
    fetched = (await dev.get(f"/api/v1/runs/{new['id']}")).json()["data"]
    assert fetched["original_run_id"] == original
    before = (await dev.get(f"/api/v1/runs/{original}")).json()["data"]
    assert fetched["event_ids"] == before["event_ids"]
    assert fetched["function_slug"] == before["function_slug"]
    queued = "SELECT count(*) FROM queue_items WHERE partition_key = %s"
    assert await rows(pool, queued, (new["id"],)) == [(1,)]
    missing = await dev.post("/api/v1/runs/01JNOTARUN0000000000000000/rerun")
    assert missing.status_code == 404


async def test_functions_api_then_event_runs_against_the_stub(
    pool: Pool, db_url: str, stub: StubSdk
) -> None:
    stub.behaviours["seeded"] = stub_sdk.steps(("only",), output=lambda req: {"ok": True})
    async with api_client(dev_settings(db_url), pool, db_url) as dev:
        created = await dev.post(
            "/api/v1/functions",
            json={
                "url": stub.base_url,
                "functions": [
                    {"id": "seeded", "name": "Seeded", "triggers": [{"event": "seed/go"}]}
                ],
            },
        )
        assert created.status_code == 200
        assert created.json()["data"]["ok"] is True
        sent = await dev.post("/e/key", json={"name": "seed/go", "data": {}})
        (event_id,) = sent.json()["ids"]
        listed = (await dev.get("/api/v1/runs", params={"event_id": event_id})).json()["data"]
        (run_id,) = [r["id"] for r in listed]

        async with running_worker(pool, db_url):
            run = await wait_final(pool, run_id)
        assert run["status"] == "Completed"
        assert run["output"] == {"ok": True}
        assert stub.calls_for("seeded")[0].body["event"]["name"] == "seed/go"

        stats = (await dev.get("/api/v1/functions")).json()
        (fn,) = stats["data"]
        assert fn["slug"] == "seeded"
        assert fn["name"] == "Seeded"
        assert (fn["runs"], fn["completed"], fn["failed"], fn["active"]) == (1, 1, 0, 0)
        assert fn["error_rate"] == 0.0
        assert fn["triggers"] == [{"event": "seed/go"}]
        assert fn["p50_ms"] is not None

        bad = await dev.post("/api/v1/functions", json={"url": "ftp://x", "functions": []})
        assert bad.status_code == 400


async def test_rest_api_requires_the_signing_key_in_cloud(cloud: AsyncTestClient[Any]) -> None:
    assert (await cloud.get("/api/v1/runs")).status_code == 401
    wrong = await cloud.get("/api/v1/runs", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = await cloud.get("/api/v1/runs", headers={"authorization": f"Bearer {KEY_HASH}"})
    assert ok.status_code == 200
    assert ok.json() == {"data": [], "next_cursor": None}


async def test_health(dev: AsyncTestClient[Any]) -> None:
    response = await dev.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    assert body["checks"]["database"] == "ok"
