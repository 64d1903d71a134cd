"""Test app served by the official Inngest Python SDK (unmodified).

The end-to-end tests run it in its own virtualenv (the SDK's import name is
`inngest`, like the server's) with `uvicorn app:app` and point it at our server
through the SDK's own environment variables (INNGEST_DEV, INNGEST_BASE_URL,
INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY). The TypeScript app in ../ts serves the
same functions with the same ids and behaviour.

Environment:
  APP_ID    Inngest app id, default "py-app"
  CALL_LOG  optional path; every function and step execution appends one JSON
            line {"fn","step","attempt","run_id","t"} so tests can count
            executions. A line with "step": null is written each time the
            handler itself is entered (once per call request).
  FUNCTIONS optional comma-separated list of function ids to serve (default:
            all); lets a test change the app's functions and re-sync.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import typing

import fastapi
import fastapi.responses
import inngest
import inngest.fast_api

client = inngest.Inngest(app_id=os.environ.get("APP_ID", "py-app"))


def record(fn: str, step: str | None, ctx: inngest.Context) -> None:
    path = os.environ.get("CALL_LOG")
    if not path:
        return
    line = {
        "fn": fn,
        "step": step,
        "attempt": ctx.attempt,
        "run_id": ctx.run_id,
        "t": int(time.time() * 1000),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


@client.create_function(fn_id="three-steps", trigger=inngest.TriggerEvent(event="test/three-steps"))
async def three_steps(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("three-steps", None, ctx)
    data = ctx.event.data

    async def one() -> dict[str, typing.Any]:
        record("three-steps", "one", ctx)
        return {"n": 1, "input": data.get("input")}

    out_one = await ctx.step.run("one", one)

    async def two() -> dict[str, typing.Any]:
        record("three-steps", "two", ctx)
        return {"n": out_one["n"] + 1, "input": out_one["input"]}

    out_two = await ctx.step.run("two", two)

    async def three() -> dict[str, typing.Any]:
        record("three-steps", "three", ctx)
        return {"n": out_two["n"] + 1, "input": out_two["input"]}

    out_three = await ctx.step.run("three", three)
    return {"one": out_one, "two": out_two, "three": out_three}


@client.create_function(fn_id="single", trigger=inngest.TriggerEvent(event="test/single"))
async def single(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("single", None, ctx)
    return {"echo": dict(ctx.event.data)}


@client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="test/flaky"), retries=3)
async def flaky(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("flaky", None, ctx)
    if ctx.attempt < 2:
        raise RuntimeError(f"flaky failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@client.create_function(fn_id="fatal", trigger=inngest.TriggerEvent(event="test/fatal"))
async def fatal(ctx: inngest.Context) -> None:
    record("fatal", None, ctx)
    raise inngest.NonRetriableError("fatal!")


@client.create_function(
    fn_id="conditional",
    trigger=inngest.TriggerEvent(event="test/cond", expression="event.data.go == true"),
)
async def conditional(ctx: inngest.Context) -> str:
    record("conditional", None, ctx)
    return "ran"


@client.create_function(fn_id="wild", trigger=inngest.TriggerEvent(event="test/wild/*"))
async def wild(ctx: inngest.Context) -> str:
    record("wild", None, ctx)
    return ctx.event.name


@client.create_function(fn_id="slow-steps", trigger=inngest.TriggerEvent(event="test/slow"))
async def slow_steps(ctx: inngest.Context) -> dict[str, typing.Any]:
    delay_ms = int(typing.cast(int, ctx.event.data.get("delay_ms", 1000)))
    record("slow-steps", None, ctx)

    def make_step(name: str) -> typing.Callable[[], typing.Awaitable[dict[str, typing.Any]]]:
        async def run() -> dict[str, typing.Any]:
            record("slow-steps", name, ctx)
            await asyncio.sleep(delay_ms / 1000)
            # The production time makes a second execution visible as a changed output.
            return {"step": name, "at": int(time.time() * 1000)}

        return run

    results: dict[str, typing.Any] = {}
    for name in ("one", "two", "three"):
        results[name] = await ctx.step.run(name, make_step(name))
    return results


ALL_FUNCTIONS = [three_steps, single, flaky, fatal, conditional, wild, slow_steps]
_only = {f.strip() for f in os.environ.get("FUNCTIONS", "").split(",") if f.strip()}
functions = [f for f in ALL_FUNCTIONS if f.local_id in _only] if _only else ALL_FUNCTIONS

app = fastapi.FastAPI()
inngest.fast_api.serve(app, client, functions)


@app.post("/send")
async def send(request: fastapi.Request) -> fastapi.responses.JSONResponse:
    """Send events with the SDK's own send(): body = event or list of events."""
    body = await request.json()
    raw = body if isinstance(body, list) else [body]
    try:
        ids = await client.send([inngest.Event(**e) for e in raw])
    except Exception as err:  # noqa: BLE001 - reported to the test as-is
        return fastapi.responses.JSONResponse({"error": str(err)}, status_code=502)
    return fastapi.responses.JSONResponse({"ids": ids})
