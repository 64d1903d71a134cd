"""Conformance of the wake-up backends: both Redis pub/sub and PostgreSQL LISTEN/NOTIFY behave
the same way. Two instances stand for two server processes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import psycopg
import pytest
from redis.asyncio import Redis

from inngest.coord.keys import Keys
from inngest.coord.wakeup import PostgresWakeups, RedisWakeups, Wakeups

pytestmark = pytest.mark.anyio

# Generous bounds for "is woken": a pass never depends on speed, only a hang would fail.
WOKEN_WITHIN_S = 10.0
# How long a waiter listens to show that nothing more arrives.
QUIET_S = 0.3

Factory = Callable[[], AbstractAsyncContextManager[Wakeups]]


@pytest.fixture(params=["redis", "postgres"])
async def new_wakeups(
    request: pytest.FixtureRequest, redis_url: str, key_prefix: str, queue_db_url: str
) -> AsyncIterator[Factory]:
    channel = f"wakeup_test_{secrets.token_hex(6)}"
    if request.param == "redis":
        client = Redis.from_url(redis_url)

        @asynccontextmanager
        async def make() -> AsyncIterator[Wakeups]:
            async with RedisWakeups(client, Keys(key_prefix)) as wakeups:
                yield wakeups

        yield make
        await client.aclose()
    else:

        @asynccontextmanager
        async def make() -> AsyncIterator[Wakeups]:
            async with PostgresWakeups(queue_db_url, channel=channel) as wakeups:
                yield wakeups

        yield make


async def test_wait_times_out_without_a_notification(new_wakeups: Factory) -> None:
    async with new_wakeups() as wakeups:
        assert await wakeups.wait(0.05) is False
        assert await wakeups.wait(0) is False


async def test_notify_wakes_a_waiter_in_another_process(new_wakeups: Factory) -> None:
    async with new_wakeups() as producer, new_wakeups() as consumer:
        woken: list[bool] = []

        async def waiter() -> None:
            woken.append(await consumer.wait(WOKEN_WITHIN_S))

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await producer.notify()
        assert woken == [True]


async def test_notification_while_busy_is_kept_for_the_next_wait(new_wakeups: Factory) -> None:
    async with new_wakeups() as producer, new_wakeups() as consumer:
        await producer.notify()
        assert await consumer.wait(WOKEN_WITHIN_S) is True
        assert await consumer.wait(QUIET_S) is False


async def test_a_burst_of_notifies_is_coalesced(new_wakeups: Factory) -> None:
    async with new_wakeups() as producer, new_wakeups() as consumer:
        for _ in range(200):
            await producer.notify()
        assert await consumer.wait(WOKEN_WITHIN_S) is True
        # One message for the whole burst: the consumer is not woken again and again.
        assert await consumer.wait(QUIET_S) is False


async def test_own_notify_wakes_own_waiter_once(new_wakeups: Factory) -> None:
    async with new_wakeups() as wakeups:
        await wakeups.notify()
        assert await wakeups.wait(WOKEN_WITHIN_S) is True
        # Its own echo from the server does not wake it a second time.
        assert await wakeups.wait(QUIET_S) is False


async def test_a_notification_wakes_one_waiter_not_all(new_wakeups: Factory) -> None:
    async with new_wakeups() as producer, new_wakeups() as consumer:
        results: list[bool] = []

        async def waiter() -> None:
            results.append(await consumer.wait(QUIET_S * 3))

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            tg.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await producer.notify()
        assert sorted(results) == [False, True]


async def test_each_instance_hears_every_other(new_wakeups: Factory) -> None:
    async with new_wakeups() as producer, new_wakeups() as first, new_wakeups() as second:
        await producer.notify()
        assert await first.wait(WOKEN_WITHIN_S) is True
        assert await second.wait(WOKEN_WITHIN_S) is True


async def test_postgres_listener_recovers_from_a_lost_connection(queue_db_url: str) -> None:
    channel = f"wakeup_test_{secrets.token_hex(6)}"
    async with (
        PostgresWakeups(queue_db_url, channel=channel) as producer,
        PostgresWakeups(queue_db_url, channel=channel) as consumer,
    ):
        async with await psycopg.AsyncConnection.connect(queue_db_url, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE %s AND pid <> pg_backend_pid()",
                (f'LISTEN "{channel}"%',),
            )
            assert len(await cur.fetchall()) == 2  # both listeners
        # After reconnecting, the listener wakes its consumer once (it may have missed
        # something), and it hears new notifications again.
        assert await consumer.wait(WOKEN_WITHIN_S) is True
        woken = False
        with anyio.move_on_after(WOKEN_WITHIN_S):
            while not woken:
                await producer.notify()
                woken = await consumer.wait(0.2)
        assert woken
