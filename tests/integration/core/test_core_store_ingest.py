"""Syncing apps and ingesting events against a real database: functions, triggers, runs and their
first queue items, deduplication by event id, wildcard and expression triggers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inngest.db.pool import Pool
from inngest.protocol import register
from inngest.store import functions
from tests.integration.core.stub_sdk import StubSdk
from tests.integration.core.support import rows, send, sync

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def app_with(stub: StubSdk, *fns: dict[str, object]) -> register.AppSync:
    return stub.app_sync(list(fns))


async def test_sync_stores_functions_and_triggers(pool: Pool, stub: StubSdk) -> None:
    app = app_with(
        stub,
        {"id": "stub-app-one", "event": "demo/one", "retries": 2},
        {"id": "stub-app-two", "triggers": [{"event": "demo/two", "expression": "event.data.ok"}]},
    )
    result = await sync(pool, app, T0)
    assert result.modified
    assert result.archived == ()

    stored = await rows(pool, "SELECT slug, url, max_attempts, version FROM functions ORDER BY 1")
    assert stored == [
        ("stub-app-one", stub.fn_url("stub-app-one"), 3, 1),
        ("stub-app-two", stub.fn_url("stub-app-two"), 5, 1),  # default: 4 retries
    ]
    trig = await rows(
        pool,
        "SELECT f.slug, t.event_name, t.wildcard, t.expression FROM triggers t "
        "JOIN functions f ON f.id = t.function_id ORDER BY 1",
    )
    assert trig == [
        ("stub-app-one", "demo/one", False, None),
        ("stub-app-two", "demo/two", False, "event.data.ok"),
    ]
    app_row = await rows(pool, "SELECT name, url, sdk_language, sdk_version, framework FROM apps")
    assert app_row == [("stub-app", stub.base_url, "py", "0.5.19", "fast_api")]


async def test_identical_resync_is_not_modified(pool: Pool, stub: StubSdk) -> None:
    app = app_with(stub, {"id": "stub-app-one", "event": "demo/one"})
    first = await sync(pool, app, T0)
    again = await sync(pool, app, T0)
    assert again.modified is False
    assert again.app_id == first.app_id
    assert await rows(pool, "SELECT slug, version FROM functions") == [("stub-app-one", 1)]


async def test_resync_without_a_function_archives_it(pool: Pool, stub: StubSdk) -> None:
    both = app_with(
        stub,
        {"id": "stub-app-one", "event": "demo/one"},
        {"id": "stub-app-two", "event": "demo/two"},
    )
    await sync(pool, both, T0)
    only_one = app_with(stub, {"id": "stub-app-one", "event": "demo/one"})
    result = await sync(pool, only_one, T0)
    assert result.modified
    assert result.archived == ("stub-app-two",)

    archived = await rows(pool, "SELECT slug FROM functions WHERE archived_at IS NOT NULL")
    assert archived == [("stub-app-two",)]
    async with pool.connection() as conn:
        assert await functions.triggered_by(conn, ["demo/two"]) == []
        assert [m.slug for m in await functions.triggered_by(conn, ["demo/one"])] == [
            "stub-app-one"
        ]
    _, ingested = await send(pool, {"name": "demo/two", "data": {}}, now=T0)
    assert ingested.run_ids == ()

    # Bringing it back un-archives it with a new version.
    await sync(pool, both, T0)
    assert await rows(pool, "SELECT slug, archived_at, version FROM functions ORDER BY 1") == [
        ("stub-app-one", None, 1),
        ("stub-app-two", None, 2),
    ]


async def test_event_creates_run_and_queue_item(pool: Pool, stub: StubSdk) -> None:
    await sync(pool, app_with(stub, {"id": "stub-app-one", "event": "demo/one"}), T0)
    event = {"name": "demo/one", "data": {"n": 1}, "ts": 1764500000000}
    ids, ingested = await send(pool, event, now=T0)
    assert len(ingested.run_ids) == 1
    run_id = ingested.run_ids[0]

    run = await rows(pool, "SELECT id, status, event_ids, function_version FROM runs")
    assert run == [(run_id, "Scheduled", ids, 1)]
    items = await rows(
        pool, "SELECT kind, payload, partition_key, available_at, lease_token FROM queue_items"
    )
    assert items == [("call", {"run_id": run_id}, run_id, T0, None)]
    stored = await rows(pool, 'SELECT internal_id, id, name, data, ts, "user" FROM events')
    assert stored == [(ids[0], ids[0], "demo/one", {"n": 1}, 1764500000000, {})]


async def test_ingest_is_one_transaction(pool: Pool, stub: StubSdk) -> None:
    """An ingest rolled back by its caller leaves no event, run or queue item behind."""
    from inngest.ingest import events as ingest
    from inngest.protocol import events as wire_events

    await sync(pool, app_with(stub, {"id": "stub-app-one", "event": "demo/one"}), T0)
    parsed = wire_events.parse_events(b'{"name": "demo/one"}', now_ms=0, seed=None)

    async with pool.connection() as conn:
        async with conn.transaction(force_rollback=True):
            result = await ingest.ingest(conn, parsed, now=T0, dedup_window_s=60)
        assert len(result.run_ids) == 1
    for table in ("events", "runs", "queue_items", "run_keys"):
        assert await rows(pool, f"SELECT count(*) FROM {table}") == [(0,)], table


async def test_same_event_id_starts_one_run_per_function(pool: Pool, stub: StubSdk) -> None:
    await sync(
        pool,
        app_with(
            stub,
            {"id": "stub-app-one", "event": "demo/dup"},
            {"id": "stub-app-two", "event": "demo/dup"},
        ),
        T0,
    )
    event = {"name": "demo/dup", "id": "order-42", "data": {}}
    # Twice in one request: each function starts once.
    ids, first = await send(pool, [event, event], now=T0)
    assert len(ids) == 2
    assert len(first.run_ids) == 2
    assert first.skipped_duplicates == 0  # the in-request repeat never became a candidate
    # Again in a later request: nothing new, both events stored.
    _, second = await send(pool, event, now=T0)
    assert second.run_ids == ()
    assert second.skipped_duplicates == 2

    per_fn = await rows(
        pool,
        "SELECT f.slug, count(*) FROM runs r JOIN functions f ON f.id = r.function_id "
        "GROUP BY 1 ORDER BY 1",
    )
    assert per_fn == [("stub-app-one", 1), ("stub-app-two", 1)]
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(2,)]
    assert await rows(pool, "SELECT count(*) FROM events") == [(3,)]


async def test_event_id_is_free_again_after_the_window(pool: Pool, stub: StubSdk) -> None:
    from datetime import timedelta

    await sync(pool, app_with(stub, {"id": "stub-app-one", "event": "demo/dup"}), T0)
    event = {"name": "demo/dup", "id": "k", "data": {}}
    _, first = await send(pool, event, now=T0, dedup_window_s=60)
    _, inside = await send(pool, event, now=T0 + timedelta(seconds=30), dedup_window_s=60)
    _, after = await send(pool, event, now=T0 + timedelta(seconds=61), dedup_window_s=60)
    assert (len(first.run_ids), len(inside.run_ids), len(after.run_ids)) == (1, 0, 1)


async def test_wildcard_trigger(pool: Pool, stub: StubSdk) -> None:
    await sync(pool, app_with(stub, {"id": "stub-app-wild", "event": "test/*"}), T0)
    _, ingested = await send(
        pool,
        [
            {"name": "test/a", "data": {}},
            {"name": "test/b/c", "data": {}},
            {"name": "testing/a", "data": {}},
            {"name": "other/test/a", "data": {}},
        ],
        now=T0,
    )
    assert len(ingested.run_ids) == 2
    names = await rows(
        pool,
        "SELECT e.name FROM runs r JOIN events e ON e.internal_id = r.event_ids[1] ORDER BY 1",
    )
    assert names == [("test/a",), ("test/b/c",)]
    stored = await rows(pool, "SELECT event_name, wildcard FROM triggers")
    assert stored == [("test/", True)]


async def test_trigger_expression_filters(pool: Pool, stub: StubSdk) -> None:
    await sync(
        pool,
        app_with(
            stub,
            {
                "id": "stub-app-big",
                "triggers": [{"event": "order/placed", "expression": "event.data.total > 100"}],
            },
        ),
        T0,
    )
    _, ingested = await send(
        pool,
        [
            {"name": "order/placed", "data": {"total": 50}},
            {"name": "order/placed", "data": {"total": 150}},
            {"name": "order/placed", "data": {}},
        ],
        now=T0,
    )
    assert len(ingested.run_ids) == 1
    totals = await rows(
        pool, "SELECT e.data FROM runs r JOIN events e ON e.internal_id = r.event_ids[1]"
    )
    assert totals == [({"total": 150},)]


async def test_unmatched_event_is_stored_without_runs(pool: Pool, stub: StubSdk) -> None:
    await sync(pool, app_with(stub, {"id": "stub-app-one", "event": "demo/one"}), T0)
    ids, ingested = await send(pool, {"name": "nobody/listens", "data": {"x": 1}}, now=T0)
    assert ingested.run_ids == ()
    assert await rows(pool, "SELECT internal_id, data FROM events") == [(ids[0], {"x": 1})]
    assert await rows(pool, "SELECT count(*) FROM runs") == [(0,)]
    assert await rows(pool, "SELECT count(*) FROM queue_items") == [(0,)]
