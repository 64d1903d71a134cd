"""Wake-up notifications: "new work is due" said by one process and heard by every consumer.

A notification is an optimisation; the consumer's jittered poll is the correctness path, so a lost
wake-up costs latency only. Two backends share the machinery here:

- ``RedisWakeups``: Redis pub/sub on ``Keys.wakeup_channel``.
- ``PostgresWakeups``: LISTEN/NOTIFY on a dedicated autocommit connection.

Against the thundering herd (a NOTIFY per job to N listeners): ``notify`` never does I/O itself but
marks the process dirty; one sender task publishes at most once per ``debounce_s``, coalescing
everything said meanwhile. On the receiving side a notification wakes one waiter of the process
(its consumer loop), or is remembered so that the next ``wait`` returns at once.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import deque
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import uuid4

import anyio
from anyio.abc import TaskGroup, TaskStatus
from psycopg import AsyncConnection, sql
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from inngest.coord.keys import Keys

logger = logging.getLogger(__name__)

# A few milliseconds: long enough that a burst of enqueues costs one message per process, short
# enough to be small next to the HTTP call the woken work will make.
DEFAULT_DEBOUNCE_S = 0.005
# Pause before reconnecting a lost listener; meanwhile consumers fall back to polling.
RECONNECT_S = 1.0


class Wakeups(Protocol):
    """Use as ``async with``; ``wait`` and ``notify`` are valid only inside the block."""

    async def notify(self) -> None:
        """Say that work became due. Cheap; never blocks on I/O."""

    async def wait(self, timeout_s: float) -> bool:
        """Sleep until woken (True) or until ``timeout_s`` passes (False)."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Wakeups(ABC):
    """The backend-independent part: waiters, debounced sending, a reconnecting listener."""

    def __init__(self, *, debounce_s: float = DEFAULT_DEBOUNCE_S) -> None:
        self._debounce_s = debounce_s
        # Sent with every message so a process ignores its own echo (it woke itself directly).
        self._origin = uuid4().hex
        self._waiters: deque[anyio.Event] = deque()
        self._pending = False
        self._dirty: anyio.Event | None = None
        self._stack: AsyncExitStack | None = None
        self._tasks: TaskGroup | None = None
        self.sent = 0
        """Messages published by this instance (after coalescing)."""

    # Backend hooks.

    @abstractmethod
    async def _subscribe(self) -> None:
        """Open the listening side; on return, messages sent from now on are heard."""

    @abstractmethod
    async def _receive(self) -> None:
        """Pass every message's payload to ``_heard`` until the connection fails."""

    @abstractmethod
    async def _unsubscribe(self) -> None:
        """Close the listening side; must not raise."""

    @abstractmethod
    async def _publish(self, payload: str) -> None: ...

    @abstractmethod
    async def _close(self) -> None:
        """Close everything the backend holds; must not raise."""

    # The interface.

    async def notify(self) -> None:
        if self._dirty is None:
            raise RuntimeError("wake-ups used outside their async with block")
        self._dirty.set()
        self._wake_one()

    async def wait(self, timeout_s: float) -> bool:
        if self._pending:
            self._pending = False
            return True
        if timeout_s <= 0:
            return False
        event = anyio.Event()
        self._waiters.append(event)
        try:
            with anyio.move_on_after(timeout_s):
                await event.wait()
        except BaseException:
            # Cancelled from outside after a wake-up was handed to us: pass it on, not drop it.
            if event.is_set():
                self._wake_one()
            raise
        finally:
            if not event.is_set():
                self._waiters.remove(event)
        return event.is_set()

    async def __aenter__(self) -> Self:
        self._dirty = anyio.Event()
        async with AsyncExitStack() as stack:
            stack.push_async_callback(self._close)
            await self._subscribe()
            self._tasks = await stack.enter_async_context(anyio.create_task_group())
            await self._tasks.start(self._listen)
            self._tasks.start_soon(self._send)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is None or self._tasks is None:
            raise RuntimeError("wake-ups exited without being entered")
        # The loops run forever: stop them before the task group waits for them, and before the
        # connections they read from are closed (the exit stack closes after the group exits).
        self._tasks.cancel_scope.cancel()
        stack, self._stack, self._tasks = self._stack, None, None
        await stack.__aexit__(exc_type, exc, tb)

    # Machinery.

    def _wake_one(self) -> None:
        # One waiter per wake-up: it claims a batch and, finding more, keeps going on its own.
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self._pending = True

    def _heard(self, payload: str) -> None:
        if payload != self._origin:
            self._wake_one()

    async def _send(self) -> None:
        while True:
            assert self._dirty is not None
            await self._dirty.wait()
            self._dirty = anyio.Event()
            try:
                await self._publish(self._origin)
                self.sent += 1
            except Exception:
                # Other processes poll; a lost wake-up costs them latency only.
                logger.warning(
                    "wake-up not sent", extra={"action": "wakeup.send_failed"}, exc_info=True
                )
            # Debounce: whatever is notified during this pause goes out as one message after it.
            await anyio.sleep(self._debounce_s)

    async def _listen(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                await self._receive()
            except Exception:
                logger.warning(
                    "wake-up listener lost", extra={"action": "wakeup.listen_lost"}, exc_info=True
                )
            await self._unsubscribe()
            while True:
                await anyio.sleep(RECONNECT_S)
                try:
                    await self._subscribe()
                    break
                except Exception:
                    logger.warning(
                        "wake-up listener reconnect failed",
                        extra={"action": "wakeup.reconnect_failed"},
                        exc_info=True,
                    )
                    await self._unsubscribe()
            # Notifications sent while we were away are lost: wake the consumer once to look.
            self._wake_one()


class RedisWakeups(_Wakeups):
    """Wake-ups over Redis pub/sub. ``client`` is shared; the subscription takes its own
    connection from the client's pool."""

    def __init__(
        self, client: Redis, keys: Keys, *, debounce_s: float = DEFAULT_DEBOUNCE_S
    ) -> None:
        super().__init__(debounce_s=debounce_s)
        self._client = client
        self._channel = keys.wakeup_channel
        self._pubsub: PubSub | None = None

    async def _subscribe(self) -> None:
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel)

    async def _receive(self) -> None:
        assert self._pubsub is not None
        async for message in self._pubsub.listen():
            if message["type"] == "message":
                data: Any = message["data"]
                self._heard(data.decode() if isinstance(data, bytes) else str(data))

    async def _unsubscribe(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except Exception:
                logger.debug("pub/sub close failed", exc_info=True)

    async def _publish(self, payload: str) -> None:
        await self._client.publish(self._channel, payload)

    async def _close(self) -> None:
        await self._unsubscribe()


class PostgresWakeups(_Wakeups):
    """Wake-ups over LISTEN/NOTIFY. Holds two dedicated autocommit connections: one listens
    (psycopg's ``notifies()`` keeps its connection locked while it waits), one sends."""

    def __init__(
        self,
        conninfo: str,
        *,
        channel: str = "inngest_wakeup",
        debounce_s: float = DEFAULT_DEBOUNCE_S,
    ) -> None:
        super().__init__(debounce_s=debounce_s)
        self._conninfo = conninfo
        self._channel = channel
        self._listener: AsyncConnection[Any] | None = None
        self._sender: AsyncConnection[Any] | None = None

    async def _subscribe(self) -> None:
        self._listener = await AsyncConnection.connect(self._conninfo, autocommit=True)
        await self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))

    async def _receive(self) -> None:
        assert self._listener is not None
        async for notification in self._listener.notifies():
            self._heard(notification.payload)

    async def _unsubscribe(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await _close_quietly(listener)

    async def _publish(self, payload: str) -> None:
        if self._sender is None or self._sender.closed:
            self._sender = await AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await self._sender.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))
        except Exception:
            # Drop a broken sender; the next notification opens a fresh one.
            sender, self._sender = self._sender, None
            await _close_quietly(sender)
            raise

    async def _close(self) -> None:
        await self._unsubscribe()
        sender, self._sender = self._sender, None
        if sender is not None:
            await _close_quietly(sender)


async def _close_quietly(conn: AsyncConnection[Any]) -> None:
    try:
        await conn.close()
    except Exception:
        logger.debug("connection close failed", exc_info=True)
