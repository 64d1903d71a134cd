"""Test app served by the official Inngest Python SDK (unmodified).

The end-to-end tests run it in its own virtualenv (the SDK's import name is
`inngest`, like the server's) with `uvicorn app:app` and point it at our server
through the SDK's own environment variables (INNGEST_DEV, INNGEST_BASE_URL,
INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY). The TypeScript app in ../ts serves the
same functions with the same ids and behaviour.

Environment:
  APP_ID    Inngest app id, default "py-app"
  CALL_LOG  optional path; every function and step execution appends one JSON
            line {"fn","step","attempt","run_id","id","t"} so tests can count
            executions. A line with "step": null is written each time the
            handler itself is entered (once per call request). "id" is the
            triggering event's data.id (for failure handlers: the failed run's
            event's data.id), so tests sharing an app find their runs.
  FUNCTIONS optional comma-separated list of function ids to serve (default:
            all); lets a test change the app's functions and re-sync.
  CRON_SCHEDULE optional cron expression; when set the app also serves
            "fc-cron" on that schedule (never by default: a cron fires on its
            own and would load every test sharing the app).

The flow-control functions ("fc-*") write two CALL_LOG lines per step
execution, {"phase": "start"} before its work and {"phase": "end"} after it,
so tests can count the steps in flight at any moment from the app's own clock.
Their step outputs carry a random nonce: a step executed twice shows up as two
"end" lines with different nonces.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import random
import time
import typing

import fastapi
import fastapi.responses
import inngest
import inngest.fast_api

client = inngest.Inngest(app_id=os.environ.get("APP_ID", "py-app"))


def data_id(event: inngest.Event) -> typing.Any:
    data = event.data or {}
    if "id" in data:
        return data["id"]
    original = data.get("event")
    if isinstance(original, dict) and isinstance(original.get("data"), dict):
        return original["data"].get("id")
    return None


def record(
    fn: str,
    step: str | None,
    ctx: inngest.Context,
    extra: dict[str, typing.Any] | None = None,
) -> None:
    path = os.environ.get("CALL_LOG")
    if not path:
        return
    line = {
        "fn": fn,
        "step": step,
        "attempt": ctx.attempt,
        "run_id": ctx.run_id,
        "id": data_id(ctx.event),
        "t": int(time.time() * 1000),
        **(extra or {}),
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


# --- step engine scenarios (tests/e2e/test_step_*.py) ------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


async def logged(
    name: str, ctx: inngest.Context, step_id: str, compute: typing.Callable[[], typing.Any]
) -> typing.Any:
    """A step that records itself in CALL_LOG and returns compute()."""

    async def run() -> typing.Any:
        record(name, step_id, ctx)
        return compute()

    return await ctx.step.run(step_id, run)


@client.create_function(fn_id="serial-steps", trigger=inngest.TriggerEvent(event="test/serial-steps"))
async def serial_steps(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("serial-steps", None, ctx)
    a = await logged("serial-steps", ctx, "a", lambda: f"{ctx.event.data['id']}:a")
    b = await logged("serial-steps", ctx, "b", lambda: f"{a}:b")
    c = await logged("serial-steps", ctx, "c", lambda: f"{b}:c")
    return {"a": a, "b": b, "c": c}


@client.create_function(
    fn_id="parallel-steps", trigger=inngest.TriggerEvent(event="test/parallel-steps")
)
async def parallel_steps(ctx: inngest.Context) -> dict[str, typing.Any]:
    n = int(typing.cast(int, ctx.event.data["n"]))
    record("parallel-steps", None, ctx)

    def part(k: int) -> typing.Callable[[], typing.Awaitable[typing.Any]]:
        return lambda: logged("parallel-steps", ctx, f"p{k}", lambda: n * 10 + k)

    parts = list(await ctx.group.parallel(tuple(part(k) for k in (1, 2, 3))))
    total = await logged("parallel-steps", ctx, "sum", lambda: sum(parts))
    return {"parts": parts, "sum": total}


@client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="test/sleeper"))
async def sleeper(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("sleeper", None, ctx)
    before = await logged("sleeper", ctx, "before", now_ms)
    sleep_ms = int(typing.cast(int, ctx.event.data["sleep_ms"]))
    await ctx.step.sleep("nap", datetime.timedelta(milliseconds=sleep_ms))
    after = await logged("sleeper", ctx, "after", now_ms)
    return {"before": before, "after": after}


@client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="test/wait"))
async def waiter(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("waiter", None, ctx)
    timeout_ms = int(typing.cast(int, ctx.event.data["timeout_ms"]))
    reply = await ctx.step.wait_for_event(
        "reply",
        event="test/wait.reply",
        if_exp="async.data.id == event.data.id",
        timeout=datetime.timedelta(milliseconds=timeout_ms),
    )
    return {"reply": None if reply is None else dict(reply.data)}


@client.create_function(fn_id="invoke-child", trigger=inngest.TriggerEvent(event="test/invoke-child"))
async def invoke_child(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("invoke-child", None, ctx)
    data = ctx.event.data
    if data.get("fail"):
        raise inngest.NonRetriableError(f"child refused {data['n']}")
    if data.get("sleep_ms"):
        sleep_ms = int(typing.cast(int, data["sleep_ms"]))
        await ctx.step.sleep("linger", datetime.timedelta(milliseconds=sleep_ms))
    return {"doubled": int(typing.cast(int, data["n"])) * 2}


async def invoke_call(ctx: inngest.Context, data: typing.Mapping[str, typing.Any]) -> typing.Any:
    timeout_ms = data.get("timeout_ms")
    return await ctx.step.invoke(
        "call",
        function=invoke_child,
        data={
            "id": data.get("id"),
            "n": data.get("n"),
            "fail": bool(data.get("fail")),
            "sleep_ms": data.get("sleep_ms") or 0,
        },
        timeout=datetime.timedelta(milliseconds=int(timeout_ms)) if timeout_ms else None,
    )


@client.create_function(fn_id="invoker", trigger=inngest.TriggerEvent(event="test/invoker"))
async def invoker(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("invoker", None, ctx)
    try:
        result = await invoke_call(ctx, ctx.event.data)
    except inngest.StepError as err:
        return {"error": {"name": err.name, "message": err.message}}
    return {"result": result}


@client.create_function(fn_id="sender", trigger=inngest.TriggerEvent(event="test/sender"))
async def sender(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("sender", None, ctx)
    ids = await ctx.step.send_event(
        "send",
        inngest.Event(name="test/sent", data={"id": ctx.event.data["id"], "from": "sender"}),
    )
    after = await logged("sender", ctx, "after", lambda: len(ids))
    return {"ids": ids, "after": after}


@client.create_function(fn_id="receiver", trigger=inngest.TriggerEvent(event="test/sent"))
async def receiver(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("receiver", None, ctx)
    return {"got": dict(ctx.event.data)}


@client.create_function(
    fn_id="step-flaky", trigger=inngest.TriggerEvent(event="test/step-flaky"), retries=3
)
async def step_flaky(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("step-flaky", None, ctx)

    def wobble() -> dict[str, int]:
        if ctx.attempt < 2:
            raise RuntimeError(f"wobble on attempt {ctx.attempt}")
        return {"attempt": ctx.attempt}

    return {"wobbly": await logged("step-flaky", ctx, "wobbly", wobble)}


@client.create_function(
    fn_id="step-caught", trigger=inngest.TriggerEvent(event="test/step-caught"), retries=0
)
async def step_caught(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("step-caught", None, ctx)

    def doom() -> None:
        raise RuntimeError(f"doomed {ctx.event.data['id']}")

    try:
        await logged("step-caught", ctx, "doomed", doom)
    except inngest.StepError as err:
        return {"caught": err.message}
    return {"caught": None}


async def fatal_handler(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fatal-with-handler-failure", None, ctx)
    error = typing.cast(dict[str, typing.Any], ctx.event.data["error"])
    return {"handled": error["message"], "id": data_id(ctx.event)}


@client.create_function(
    fn_id="fatal-with-handler",
    trigger=inngest.TriggerEvent(event="test/fatal-with-handler"),
    on_failure=fatal_handler,
)
async def fatal_with_handler(ctx: inngest.Context) -> None:
    record("fatal-with-handler", None, ctx)
    raise inngest.NonRetriableError(f"fatal for {ctx.event.data['id']}")


@client.create_function(
    fn_id="cancellable",
    trigger=inngest.TriggerEvent(event="test/cancellable"),
    cancel=[inngest.Cancel(event="test/cancel", if_exp="event.data.id == async.data.id")],
)
async def cancellable(ctx: inngest.Context) -> str:
    record("cancellable", None, ctx)
    await logged("cancellable", ctx, "started", now_ms)
    sleep_ms = int(typing.cast(int, ctx.event.data.get("sleep_ms", 60000)))
    await ctx.step.sleep("long", datetime.timedelta(milliseconds=sleep_ms))
    await logged("cancellable", ctx, "finished", now_ms)
    return "finished"


@client.create_function(
    fn_id="finish-timeout",
    trigger=inngest.TriggerEvent(event="test/finish-timeout"),
    timeouts=inngest.Timeouts(finish=datetime.timedelta(seconds=2)),
)
async def finish_timeout(ctx: inngest.Context) -> str:
    record("finish-timeout", None, ctx)
    await logged("finish-timeout", ctx, "begin", now_ms)
    await ctx.step.sleep("too-long", datetime.timedelta(seconds=5))
    await logged("finish-timeout", ctx, "end", now_ms)
    return "not cancelled"


@client.create_function(
    fn_id="start-timeout",
    trigger=inngest.TriggerEvent(event="test/start-timeout"),
    concurrency=[inngest.Concurrency(limit=1)],
    timeouts=inngest.Timeouts(start=datetime.timedelta(seconds=1)),
)
async def start_timeout(ctx: inngest.Context) -> str:
    record("start-timeout", None, ctx)
    hold_ms = int(typing.cast(int, ctx.event.data.get("hold_ms", 0)))

    async def hold() -> int:
        record("start-timeout", "hold", ctx)
        await asyncio.sleep(hold_ms / 1000)
        return now_ms()

    await ctx.step.run("hold", hold)
    return "started in time"


@client.create_function(fn_id="big-output", trigger=inngest.TriggerEvent(event="test/big-output"))
async def big_output(ctx: inngest.Context) -> dict[str, int]:
    record("big-output", None, ctx)
    mib = int(typing.cast(int, ctx.event.data.get("mib", 5)))
    big = await logged("big-output", ctx, "big", lambda: "x" * (mib * 1024 * 1024))
    return {"length": len(big)}


@client.create_function(
    fn_id="sleep-wait-invoke", trigger=inngest.TriggerEvent(event="test/sleep-wait-invoke")
)
async def sleep_wait_invoke(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("sleep-wait-invoke", None, ctx)
    data = ctx.event.data
    stamp = await logged(
        "sleep-wait-invoke", ctx, "stamp", lambda: {"at": now_ms(), "nonce": random.random()}
    )
    sleep_ms = int(typing.cast(int, data["sleep_ms"]))
    await ctx.step.sleep("nap", datetime.timedelta(milliseconds=sleep_ms))
    reply = await ctx.step.wait_for_event(
        "reply",
        event="test/sleep-wait-invoke.reply",
        if_exp="async.data.id == event.data.id",
        timeout=datetime.timedelta(seconds=60),
    )
    child = await invoke_call(ctx, {"id": data["id"], "n": data["n"]})
    return {"stamp": stamp, "reply": None if reply is None else dict(reply.data), "child": child}


# --- flow control scenarios (tests/e2e/test_flow_*.py and friends) -----------


async def timed_step(name: str, ctx: inngest.Context, step_id: str, ms: int) -> typing.Any:
    """A step that logs its start and end and takes data.delay_ms (default ``ms``) in between;
    returns when it ran and a random nonce."""

    async def run() -> dict[str, typing.Any]:
        record(name, step_id, ctx, {"phase": "start"})
        await asyncio.sleep(int(typing.cast(int, ctx.event.data.get("delay_ms", ms))) / 1000)
        out = {"at": now_ms(), "nonce": f"{random.getrandbits(48):x}"}
        record(name, step_id, ctx, {"phase": "end", "nonce": out["nonce"]})
        return out

    return await ctx.step.run(step_id, run)


def one_step(name: str) -> typing.Callable[[inngest.Context], typing.Awaitable[typing.Any]]:
    """One timed step "work"; the run's output is the step's recorded value."""

    async def handler(ctx: inngest.Context) -> dict[str, typing.Any]:
        record(name, None, ctx)
        work = await timed_step(name, ctx, "work", 300)
        return {"id": ctx.event.data.get("id"), "work": work}

    return handler


fc_concurrency = client.create_function(
    fn_id="fc-concurrency",
    trigger=inngest.TriggerEvent(event="test/fc-concurrency"),
    concurrency=[inngest.Concurrency(limit=2)],
)(one_step("fc-concurrency"))

fc_concurrency_key = client.create_function(
    fn_id="fc-concurrency-key",
    trigger=inngest.TriggerEvent(event="test/fc-concurrency-key"),
    concurrency=[inngest.Concurrency(limit=1, key="event.data.group")],
)(one_step("fc-concurrency-key"))

fc_load = client.create_function(
    fn_id="fc-load",
    trigger=inngest.TriggerEvent(event="test/fc-load"),
    concurrency=[inngest.Concurrency(limit=5)],
)(one_step("fc-load"))


@client.create_function(
    fn_id="fc-throttle",
    trigger=inngest.TriggerEvent(event="test/fc-throttle"),
    throttle=inngest.Throttle(
        limit=1, period=datetime.timedelta(seconds=1), burst=1, key="event.data.id"
    ),
)
async def fc_throttle(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-throttle", None, ctx)
    return {"id": ctx.event.data.get("id"), "n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="fc-rate-limit",
    trigger=inngest.TriggerEvent(event="test/fc-rate-limit"),
    rate_limit=inngest.RateLimit(limit=2, period=datetime.timedelta(minutes=1), key="event.data.key"),
)
async def fc_rate_limit(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-rate-limit", None, ctx)
    return {"key": ctx.event.data.get("key"), "n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="fc-idempotent",
    trigger=inngest.TriggerEvent(event="test/fc-idempotent"),
    idempotency="event.data.key",
)
async def fc_idempotent(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-idempotent", None, ctx)
    return {"key": ctx.event.data.get("key"), "n": ctx.event.data.get("n")}


def sleepy_body(name: str) -> typing.Callable[[inngest.Context], typing.Awaitable[typing.Any]]:
    """Runs "begin", sleeps data.sleep_ms (the run stays active, holding no call), runs "end"."""

    async def handler(ctx: inngest.Context) -> dict[str, typing.Any]:
        record(name, None, ctx)
        await timed_step(name, ctx, "begin", 0)
        sleep_ms = int(typing.cast(int, ctx.event.data.get("sleep_ms", 1000)))
        await ctx.step.sleep("hold", datetime.timedelta(milliseconds=sleep_ms))
        await timed_step(name, ctx, "end", 0)
        return {"n": ctx.event.data.get("n")}

    return handler


fc_singleton_skip = client.create_function(
    fn_id="fc-singleton-skip",
    trigger=inngest.TriggerEvent(event="test/fc-singleton-skip"),
    singleton=inngest.Singleton(key="event.data.key", mode="skip"),
)(sleepy_body("fc-singleton-skip"))

fc_singleton_cancel = client.create_function(
    fn_id="fc-singleton-cancel",
    trigger=inngest.TriggerEvent(event="test/fc-singleton-cancel"),
    singleton=inngest.Singleton(key="event.data.key", mode="cancel"),
)(sleepy_body("fc-singleton-cancel"))

fc_priority = client.create_function(
    fn_id="fc-priority",
    trigger=inngest.TriggerEvent(event="test/fc-priority"),
    concurrency=[inngest.Concurrency(limit=1)],
    priority=inngest.Priority(run="event.data.priority"),
)(one_step("fc-priority"))


@client.create_function(
    fn_id="fc-debounce",
    trigger=inngest.TriggerEvent(event="test/fc-debounce"),
    debounce=inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.key"),
)
async def fc_debounce(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-debounce", None, ctx)
    return {"key": ctx.event.data.get("key"), "n": ctx.event.data.get("n")}


@client.create_function(
    fn_id="fc-batch",
    trigger=inngest.TriggerEvent(event="test/fc-batch"),
    batch_events=inngest.Batch(
        max_size=3, timeout=datetime.timedelta(seconds=2), key="event.data.key"
    ),
)
async def fc_batch(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-batch", None, ctx)
    return {"ns": [e.data.get("n") for e in ctx.events]}


@client.create_function(fn_id="fc-bulk", trigger=inngest.TriggerEvent(event="test/fc-bulk"))
async def fc_bulk(ctx: inngest.Context) -> dict[str, typing.Any]:
    record("fc-bulk", None, ctx)
    return {"n": ctx.event.data.get("n")}


def cron_function(schedule: str) -> inngest.Function[typing.Any]:
    @client.create_function(fn_id="fc-cron", trigger=inngest.TriggerCron(cron=schedule))
    async def fc_cron(ctx: inngest.Context) -> dict[str, typing.Any]:
        record("fc-cron", None, ctx)
        return {"name": ctx.event.name, "id": ctx.event.id, "data": dict(ctx.event.data)}

    return fc_cron


ALL_FUNCTIONS = [
    three_steps,
    single,
    flaky,
    fatal,
    conditional,
    wild,
    slow_steps,
    serial_steps,
    parallel_steps,
    sleeper,
    waiter,
    invoke_child,
    invoker,
    sender,
    receiver,
    step_flaky,
    step_caught,
    fatal_with_handler,
    cancellable,
    finish_timeout,
    start_timeout,
    big_output,
    sleep_wait_invoke,
    fc_concurrency,
    fc_concurrency_key,
    fc_load,
    fc_throttle,
    fc_rate_limit,
    fc_idempotent,
    fc_singleton_skip,
    fc_singleton_cancel,
    fc_priority,
    fc_debounce,
    fc_batch,
    fc_bulk,
]
if os.environ.get("CRON_SCHEDULE"):
    ALL_FUNCTIONS.append(cron_function(os.environ["CRON_SCHEDULE"]))
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
