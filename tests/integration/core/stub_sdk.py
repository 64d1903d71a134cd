"""A scripted stand-in for an SDK app: answers call requests the way the official SDKs do.

An aiohttp server on a free port of 127.0.0.1 serves ``/api/inngest``. Each function id (the
``fnId`` query parameter) has a ``Behaviour``: an async function from the received request to the
reply. Every request is recorded (query, headers, decoded body) so tests can assert the exact
shape of what the server sends. SDK-produced replies carry ``x-inngest-sdk`` and
``x-inngest-req-version: 2`` like the real SDKs; the "garbage" behaviours deliberately do not.

Builders below cover the scenarios of the worker tests: ``steps`` (one ``StepRun`` per unmemoized
step, then the output), ``fail_then_succeed``, ``non_retriable``, ``sequence`` (a scripted list of
replies, the last repeating), ``gated`` (waits on an anyio.Event the test controls).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from aiohttp import web

from inngest.protocol import register

SDK_HEADERS = {"x-inngest-sdk": "inngest-py:v0.5.19", "x-inngest-req-version": "2"}
SERVE_PATH = "/api/inngest"


def step_hash(step_name: str) -> str:
    """The hashed step id the SDKs derive from a user step id (PROTOCOL.md §5.4)."""
    return hashlib.sha1(step_name.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Received:
    fn_id: str
    step_id: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def memo(self) -> dict[str, Any]:
        steps: dict[str, Any] = self.body["steps"]
        return steps

    @property
    def stack(self) -> list[str]:
        stack: list[str] = self.body["ctx"]["stack"]["stack"]
        return stack

    @property
    def attempt(self) -> int:
        attempt: int = self.body["ctx"]["attempt"]
        return attempt


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b"null"
    headers: dict[str, str] = field(default_factory=lambda: dict(SDK_HEADERS))


def json_reply(status: int, value: Any, *, extra: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(value).encode(), {**SDK_HEADERS, **(extra or {})})


Behaviour = Callable[[Received], Awaitable[Reply]]


def step_data(name: str, call_number: int) -> dict[str, Any]:
    """What the ``steps`` behaviour returns for a step: names the call that ran it, so a test can
    tell whether a recorded value was ever replaced by a later execution."""
    return {"step": name, "call": call_number}


def steps(
    names: Sequence[str],
    *,
    output: Callable[[Received], Any] | None = None,
    gate: anyio.Event | None = None,
    gate_step: str | None = None,
    entered: anyio.Event | None = None,
) -> Behaviour:
    """Answer ``206 [StepRun]`` for the first step missing from the memo, then ``200 output``.

    With ``gate``, the first call that is about to run ``gate_step`` sets ``entered`` and waits for
    the gate (a call "in flight"); later calls for that step answer at once.
    """
    calls = 0
    gated_once = False

    async def behave(req: Received) -> Reply:
        nonlocal calls, gated_once
        calls += 1
        number = calls
        for name in names:
            if step_hash(name) in req.memo:
                continue
            if gate is not None and name == gate_step and not gated_once:
                gated_once = True
                if entered is not None:
                    entered.set()
                await gate.wait()
            op = {
                "id": step_hash(name),
                "op": "StepRun",
                "name": name,
                "displayName": name,
                "opts": None,
                "userland": {"id": name, "index": None},
                "data": step_data(name, number),
            }
            return json_reply(206, [op])
        value = output(req) if output is not None else {"memo": req.memo}
        return json_reply(200, value)

    return behave


def fail_then_succeed(failures: int, output: Any) -> Behaviour:
    """A retriable 500 for the first ``failures`` calls, then ``200 output``."""
    calls = 0

    async def behave(req: Received) -> Reply:
        nonlocal calls
        calls += 1
        if calls <= failures:
            error = {"name": "Error", "message": f"boom {calls}", "stack": "at fn"}
            return json_reply(500, error, extra={"x-inngest-no-retry": "false"})
        return json_reply(200, output)

    return behave


def non_retriable(message: str = "cannot go on") -> Behaviour:
    """PY's NonRetriableError: 500 with ``x-inngest-no-retry: true``."""

    async def behave(req: Received) -> Reply:
        error = {"code": "non_retriable_error", "name": "NonRetriableError", "message": message}
        return json_reply(500, error, extra={"x-inngest-no-retry": "true"})

    return behave


def sequence(replies: Sequence[Reply]) -> Behaviour:
    """The scripted replies in order; the last one repeats."""
    calls = 0

    async def behave(req: Received) -> Reply:
        nonlocal calls
        calls += 1
        return replies[min(calls, len(replies)) - 1]

    return behave


# Replies that did not come from an SDK or that the protocol cannot read.
NOT_FROM_SDK = Reply(200, b"<html>proxy page</html>", {"content-type": "text/html"})
BAD_206_JSON = Reply(206, b'[{"op": "StepRun", "id": ', dict(SDK_HEADERS))
EMPTY_206 = Reply(206, b"[]", dict(SDK_HEADERS))


@dataclass
class StubSdk:
    base_url: str
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def fn_url(self, fn_id: str) -> str:
        return f"{self.base_url}?fnId={fn_id}&stepId=step"

    def calls_for(self, fn_id: str) -> list[Received]:
        return [r for r in self.received if r.fn_id == fn_id]

    def register_body(
        self,
        functions: Sequence[dict[str, Any]],
        *,
        app: str = "stub-app",
        dialect: str = "py",
    ) -> dict[str, Any]:
        """A register payload whose step URLs point at this stub.

        Each function is ``{"id", "event"|"triggers", "retries"?, "config"?}``; ids are used
        verbatim, and ``config`` holds further function options (rateLimit, concurrency, ...).
        """
        fns = []
        for fn in functions:
            triggers = fn.get("triggers") or [{"event": fn["event"]}]
            step: dict[str, Any] = {
                "id": "step",
                "name": "step",
                "runtime": {"type": "http", "url": self.fn_url(fn["id"])},
            }
            if "retries" in fn:
                step["retries"] = {"attempts": fn["retries"]}
            fns.append(
                {
                    "id": fn["id"],
                    "name": fn.get("name", fn["id"]),
                    "triggers": triggers,
                    "steps": {"step": step},
                    **fn.get("config", {}),  # flow control and other function options
                }
            )
        if dialect == "ts":
            return {
                "url": self.base_url,
                "deployType": "ping",
                "framework": "express",
                "appName": app,
                "functions": fns,
                "sdk": "js:v4.24.0",
                "v": "0.1",
            }
        return {
            "appname": app,
            "deploy_type": "ping",
            "framework": "fast_api",
            "functions": fns,
            "sdk": "py:v0.5.19",
            "url": self.base_url,
            "v": "0.1",
        }

    def app_sync(self, functions: Sequence[dict[str, Any]], **kwargs: Any) -> register.AppSync:
        return register.parse_register(self.register_body(functions, **kwargs))

    async def _handle(self, request: web.Request) -> web.Response:
        fn_id = request.query.get("fnId", "")
        raw = await request.read()
        received = Received(
            fn_id=fn_id,
            step_id=request.query.get("stepId", ""),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=json.loads(raw) if raw else {},
        )
        self.received.append(received)
        behaviour = self.behaviours.get(fn_id)
        if behaviour is None:
            reply = json_reply(500, {"name": "Error", "message": f"no function {fn_id!r}"})
        else:
            reply = await behaviour(received)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


@contextlib.asynccontextmanager
async def start_stub() -> AsyncIterator[StubSdk]:
    """Serve a StubSdk on a free port of 127.0.0.1 until the block exits."""
    stub = StubSdk(base_url="")
    app = web.Application()
    # Routes must exist before setup freezes the router; the port is known only after start.
    app.router.add_post(SERVE_PATH, stub._handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stub.base_url = f"http://127.0.0.1:{port}{SERVE_PATH}"
    try:
        yield stub
    finally:
        await runner.cleanup()
