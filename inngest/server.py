"""The composition root: settings -> pool, Redis, HTTP client -> API and worker in one task group.

The only module that wires concrete pieces together.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from redis.asyncio import Redis

from inngest import logs
from inngest.api.app import create_app
from inngest.api.deps import ApiDeps
from inngest.api.sync import put_app
from inngest.clock import SystemClock
from inngest.config import Settings, signing_key_text
from inngest.coord.keys import Keys
from inngest.coord.limits import Limits
from inngest.coord.pg_limits import PostgresLimits
from inngest.coord.redis_limits import RedisLimits
from inngest.coord.wakeup import PostgresWakeups, RedisWakeups, Wakeups
from inngest.db import migrate
from inngest.db.pool import open_pool, redact
from inngest.engine.retry import RetryPolicy
from inngest.worker import driver
from inngest.worker.execute import Executor
from inngest.worker.runtime import Runtime

log = logging.getLogger(__name__)

# Connections for flow-control decisions on PostgreSQL; each decision is one short transaction.
_LIMITS_POOL_MAX = 4


@dataclass(frozen=True, slots=True)
class ServerInfo:
    api_url: str
    docs_url: str
    database: str
    redis: str | None
    personality: str


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: we stop the API and the worker together."""

    @contextmanager
    def capture_signals(self) -> Any:
        yield


def run(settings: Settings, *, on_ready: Callable[[ServerInfo], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully and return."""
    logs.configure(settings.log_format, settings.log_level)
    anyio.run(
        serve, settings, on_ready, backend="asyncio", backend_options={"use_uvloop": _has_uvloop()}
    )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


async def serve(settings: Settings, on_ready: Callable[[ServerInfo], None] | None = None) -> None:
    database_url = settings.database.url
    if database_url is None:
        raise ValueError("database.url is not set")
    await anyio.to_thread.run_sync(migrate.upgrade, database_url)
    clock = SystemClock()
    async with AsyncExitStack() as stack:
        pool = await open_pool(
            database_url, min_size=settings.database.pool_min, max_size=settings.database.pool_max
        )
        stack.push_async_callback(pool.close)
        client = driver.make_client(
            timeout_s=settings.queue.call_timeout_s, max_connections=settings.queue.workers
        )
        stack.push_async_callback(client.aclose)
        redis: Redis | None = None
        wakeups: Wakeups
        limits: Limits
        if settings.redis.url:
            redis = Redis.from_url(settings.redis.url)
            stack.push_async_callback(redis.aclose)
            wakeups = RedisWakeups(redis, Keys(settings.redis.prefix))
            limits = RedisLimits(redis, Keys(settings.redis.prefix))
        else:
            # Without Redis, PostgreSQL takes both roles (ARCHITECTURE.md invariant 5). The
            # limits get a pool of their own: they are asked while a transaction of the main
            # pool is open (a rate limit during ingest), and sharing one pool could starve it.
            wakeups = PostgresWakeups(database_url)
            limits_pool = await open_pool(
                database_url, min_size=1, max_size=_LIMITS_POOL_MAX, name="inngest-limits"
            )
            stack.push_async_callback(limits_pool.close)
            limits = PostgresLimits(limits_pool)
        await stack.enter_async_context(wakeups)

        async def redis_ping() -> bool:
            assert redis is not None
            return bool(await redis.ping())

        deps = ApiDeps(
            settings=settings,
            pool=pool,
            clock=clock,
            client=client,
            wakeups=wakeups,
            redis_ping=redis_ping if redis is not None else None,
            limits=limits,
        )
        executor = Executor(
            pool=pool,
            client=client,
            clock=clock,
            policy=RetryPolicy(settings.queue.retry_interval_s),
            personality=settings.personality,
            signing_key=signing_key_text(settings),
            limits=limits,
            lease_s=settings.queue.lease_s,
            wakeups=wakeups,
        )
        runtime = Runtime(
            pool=pool,
            executor=executor,
            wakeups=wakeups,
            clock=clock,
            workers=settings.queue.workers,
            claim_batch=settings.queue.claim_batch,
            lease_s=settings.queue.lease_s,
            poll_interval_s=settings.queue.poll_interval_s,
            shutdown_grace_s=settings.queue.shutdown_grace_s,
            dedup_window_s=settings.event_dedup_window_s,
        )
        api = _Uvicorn(
            uvicorn.Config(
                create_app(deps),
                host=settings.api.addr,
                port=settings.api.port,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=int(settings.queue.shutdown_grace_s),
            )
        )
        base = settings.api.public_url or f"http://{settings.api.addr}:{settings.api.port}"
        info = ServerInfo(
            api_url=base,
            docs_url=f"{base}/docs",
            database=redact(database_url),
            redis=redact(settings.redis.url) if settings.redis.url else None,
            personality=settings.personality,
        )
        await _run_until_signal(api, runtime, deps, info, on_ready)


async def _run_until_signal(
    api: _Uvicorn,
    runtime: Runtime,
    deps: ApiDeps,
    info: ServerInfo,
    on_ready: Callable[[ServerInfo], None] | None,
) -> None:
    api_done = anyio.Event()

    async def boot() -> None:
        while not api.started:
            if api.should_exit:
                return
            await anyio.sleep(0.02)
        if on_ready is not None:
            on_ready(info)
        log.info("server ready", extra={"action": "server.ready", "api": info.api_url})
        for url in deps.settings.sdk_urls:
            await put_app(deps, url)

    async def api_server() -> None:
        try:
            await api.serve()
        finally:
            api_done.set()
            # The API stopped (a signal, or e.g. its port was taken): stop the worker too.
            runtime.stop()

    async def watch_signals() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info(
                    "shutting down",
                    extra={"action": "server.shutdown", "signal": signal.Signals(signum).name},
                )
                # Stop claiming first; in-flight calls get the grace period inside runtime.run.
                runtime.stop()
                api.should_exit = True
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(api_server)
        tg.start_soon(boot)
        tg.start_soon(watch_signals)
        await runtime.run()
        api.should_exit = True
        with anyio.move_on_after(10):
            await api_done.wait()
        tg.cancel_scope.cancel()
