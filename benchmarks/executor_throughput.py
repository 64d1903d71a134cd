"""Benchmark: end-to-end runs/s and SDK calls/s through the real server, against the raw HTTP
capacity of the same fake SDK app, side by side in one run.

A fake SDK app (this script with ``--serve-app``, in a child process) serves functions with 0, 1
and 3 ``step.run``s: each call answers ``206 [StepRun]`` for the first unmemoised step, or ``200``
once every step is in the memo, so a run of k steps costs k + 1 calls. The server
(``python -m inngest dev --queue-workers W``, another child process, on a scratch database) drives
K runs of each function; the clock runs from the first event sent until the app answers the last
run's final call.

Baselines, measured in the same run against the same app process and the same call body (one
the server sent, captured by the app): a minimal ``aiohttp`` client loop with W concurrent tasks
(calls/s), and, to document the driver's transport choice, the driver's own client (httpx API on
the aiohttp transport, ``inngest.worker.driver.make_client``) and a plain ``httpx.AsyncClient``
with the same concurrency. Variants alternate order across repeats; medians are reported, and
"ratio" is server calls/s / raw aiohttp calls/s (paired: the median of per-repeat ratios).

    python benchmarks/executor_throughput.py --runs 2000 --workers 32 --repeat 3 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _common as common

from inngest.worker import driver

STEP_COUNTS = (0, 1, 3)
STEP_IDS = [common.step_hash(f"s{i}") for i in range(max(STEP_COUNTS))]
EVENT_BATCH = 100
APP_BOOT_TIMEOUT_S = 20.0
RAW_HEADERS = {"content-type": "application/json", "x-inngest-req-version": "2"}


# The fake SDK app (child process).


@dataclass
class StepsApp:
    calls: int = 0
    done: int = 0
    last_done: float = 0.0
    sample: bytes = b""

    async def call(self, request: web.Request) -> web.Response:
        body = await request.read()
        payload = json.loads(body)
        self.calls += 1
        # "steps3", or "steps1-limited" for the concurrency-limited twin of "steps1"
        steps = int(request.query["fnId"].removeprefix("steps").split("-")[0])
        memo = payload.get("steps") or {}
        if steps == 1 and not memo and not self.sample:
            self.sample = body  # what the raw clients will send
        for i in range(steps):
            if STEP_IDS[i] not in memo:
                op = {
                    "id": STEP_IDS[i],
                    "op": "StepRun",
                    "name": f"s{i}",
                    "displayName": f"s{i}",
                    "opts": {},
                    "data": {"i": i},
                }
                return common.answer(206, [op])
        self.done += 1
        self.last_done = time.time()
        return common.answer(200, {"done": True})

    async def stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "calls": self.calls,
                "done": self.done,
                "last_done": self.last_done,
                "cpu_s": time.process_time(),
            }
        )

    async def reset(self, _request: web.Request) -> web.Response:
        self.calls = self.done = 0
        self.last_done = 0.0
        return web.json_response({})

    async def get_sample(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.sample, content_type="application/json")


def serve_app(port: int) -> None:
    app_state = StepsApp()
    app = web.Application()
    app.router.add_post("/api/inngest", app_state.call)
    app.router.add_get("/stats", app_state.stats)
    app.router.add_post("/reset", app_state.reset)
    app.router.add_get("/sample", app_state.get_sample)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, backlog=1024)


@contextlib.asynccontextmanager
async def app_process(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-app", str(port)
    )
    try:
        deadline = time.monotonic() + APP_BOOT_TIMEOUT_S
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    await client.get(f"http://127.0.0.1:{port}/stats")
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or process.returncode is not None:
                        raise
                    await asyncio.sleep(0.1)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


# Measurements (this process).


@dataclass(slots=True)
class Measurement:
    variant: str
    calls: int
    seconds: float
    runs: int = 0
    cpu_us_per_call: float = 0.0  # the driving process: the server, or this client
    app_cpu_us_per_call: float = 0.0

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds


@dataclass
class Context:
    args: argparse.Namespace
    app_url: str
    api_url: str
    server_pid: int
    control: httpx.AsyncClient
    progress: Progress
    sample: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def app_base(self) -> str:
        return self.app_url.removesuffix("/api/inngest")

    async def app_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.control.get(f"{self.app_base}/stats")).json()
        return stats

    async def reset_app(self) -> None:
        (await self.control.post(f"{self.app_base}/reset")).raise_for_status()


async def measure_server(ctx: Context, steps: int, *, limited: bool = False) -> Measurement:
    runs = ctx.args.runs
    await ctx.reset_app()
    label = f"{steps} steps" + (" + concurrency limit" if limited else "")
    event = f"bench/steps{steps}" + ("-limited" if limited else "")
    task = ctx.progress.add_task(f"server, {label}", total=runs)
    app0 = await ctx.app_stats()
    cpu0 = common.process_cpu_s(ctx.server_pid)
    started = time.time()
    for start in range(0, runs, EVENT_BATCH):
        batch = [
            {"name": event, "data": {"n": n}} for n in range(start, min(runs, start + EVENT_BATCH))
        ]
        await common.send_events(ctx.control, ctx.api_url, batch)
    deadline = time.monotonic() + ctx.args.timeout_s
    while True:
        stats = await ctx.app_stats()
        ctx.progress.update(task, completed=stats["done"])
        if stats["done"] >= runs:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: {stats['done']}/{runs} runs done in time")
        await asyncio.sleep(0.05)
    cpu = common.process_cpu_s(ctx.server_pid) - cpu0
    ctx.progress.remove_task(task)
    calls = int(stats["calls"])
    return Measurement(
        f"server {label}",
        calls,
        stats["last_done"] - started,
        runs=int(stats["done"]),
        cpu_us_per_call=cpu / calls * 1e6,
        app_cpu_us_per_call=(stats["cpu_s"] - app0["cpu_s"]) / calls * 1e6,
    )


Post = Callable[[], Awaitable[None]]


async def measure_raw(ctx: Context, variant: str) -> Measurement:
    workers, total = ctx.args.workers, ctx.args.raw_calls
    url = ctx.app_url + "?fnId=steps1&stepId=step"
    async with _raw_client(variant, workers) as post_factory:
        post = post_factory(url, ctx.sample, ctx.headers)
        await post()  # connection set up outside the clock
        await ctx.reset_app()
        task = ctx.progress.add_task(f"raw {variant}", total=total)
        done = 0

        async def loop(n: int) -> None:
            nonlocal done
            for _ in range(n):
                await post()
                done += 1

        ticker = asyncio.create_task(_tick(ctx.progress, task, lambda: done))
        app0 = await ctx.app_stats()
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(loop(total // workers) for _ in range(workers)))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        ticker.cancel()
        ctx.progress.remove_task(task)
        app1 = await ctx.app_stats()
    calls = total // workers * workers
    return Measurement(
        f"raw {variant}",
        calls,
        seconds,
        cpu_us_per_call=cpu / calls * 1e6,
        app_cpu_us_per_call=(app1["cpu_s"] - app0["cpu_s"]) / calls * 1e6,
    )


PostFactory = Callable[[str, bytes, dict[str, str]], Post]


@contextlib.asynccontextmanager
async def _raw_client(variant: str, workers: int) -> AsyncIterator[PostFactory]:
    if variant == "aiohttp":
        connector = aiohttp.TCPConnector(limit=workers)
        async with aiohttp.ClientSession(connector=connector) as session:

            def aiohttp_post(url: str, body: bytes, headers: dict[str, str]) -> Post:
                async def post() -> None:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        _check(response.status)

                return post

            yield aiohttp_post
        return
    if variant == "driver client":
        client = driver.make_client(timeout_s=30.0, max_connections=workers)
    else:
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        client = httpx.AsyncClient(limits=limits, timeout=30.0)
    async with client:

        def httpx_post(url: str, body: bytes, headers: dict[str, str]) -> Post:
            async def post() -> None:
                response = await client.post(url, content=body, headers=headers)
                _check(response.status_code)

            return post

        yield httpx_post


def _check(status: int) -> None:
    if status != 206:
        raise RuntimeError(f"fake app answered {status}")


async def _tick(progress: Progress, task: TaskID, done: Callable[[], int]) -> None:
    while True:
        progress.update(task, completed=done())
        await asyncio.sleep(0.1)


async def warm_up(ctx: Context) -> None:
    """One run of each function: opens pools and connections, and captures a real call body."""
    await common.send_events(
        ctx.control, ctx.api_url, [{"name": f"bench/steps{k}", "data": {}} for k in STEP_COUNTS]
    )
    deadline = time.monotonic() + ctx.args.timeout_s
    while (await ctx.app_stats())["done"] < len(STEP_COUNTS):
        if time.monotonic() > deadline:
            raise RuntimeError("warm-up runs did not finish")
        await asyncio.sleep(0.05)
    ctx.sample = (await ctx.control.get(f"{ctx.app_base}/sample")).content
    if not ctx.sample:
        raise RuntimeError("no call body captured")
    ctx.headers = RAW_HEADERS


async def run(args: argparse.Namespace, console: Console) -> list[Measurement]:
    server_url = common.server_url_of(args.database_url)
    name, conninfo = common.create_database(server_url)
    app_port = common.free_port()
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    results: list[Measurement] = []
    try:
        async with (
            app_process(app_port),
            common.run_server(
                common.as_url(conninfo),
                workers=args.workers,
                log=args.server_log,
                source=args.server_source,
            ) as server,
            httpx.AsyncClient(timeout=60.0) as control,
        ):
            await common.register(
                control,
                server.api_url,
                app_url,
                [
                    {"id": f"steps{k}", "triggers": [{"event": f"bench/steps{k}"}]}
                    for k in STEP_COUNTS
                ]
                + [
                    # The same 1-step function under a concurrency limit it never reaches: the
                    # difference to "1 step" is the cost of taking and releasing a slot per call.
                    {
                        "id": "steps1-limited",
                        "triggers": [{"event": "bench/steps1-limited"}],
                        "options": {"concurrency": [{"limit": 100_000}]},
                    }
                ],
            )
            with Progress(console=console, transient=True) as progress:
                ctx = Context(args, app_url, server.api_url, server.pid, control, progress)
                await warm_up(ctx)
                variants: list[Callable[[], Awaitable[Measurement]]] = [
                    lambda: measure_raw(ctx, "aiohttp")
                ]
                variants += [
                    lambda k=k: measure_server(ctx, k)  # type: ignore[misc]
                    for k in args.steps
                ]
                if 1 in args.steps:
                    variants.append(lambda: measure_server(ctx, 1, limited=True))
                for client in args.clients:
                    variants.append(lambda c=client: measure_raw(ctx, c))  # type: ignore[misc]
                overall = progress.add_task("repeats", total=args.repeat * len(variants))
                for repeat in range(args.repeat):
                    order = variants if repeat % 2 == 0 else list(reversed(variants))
                    for variant in order:
                        results.append(await variant())
                        progress.advance(overall)
    finally:
        common.drop_database(server_url, name)
    return results


def summarize(args: argparse.Namespace, results: list[Measurement]) -> list[dict[str, Any]]:
    by_variant: dict[str, list[Measurement]] = {}
    for m in results:
        by_variant.setdefault(m.variant, []).append(m)
    raw = [m.calls_per_s for m in by_variant["raw aiohttp"]]
    rows = []
    for variant, ms in by_variant.items():
        calls = [m.calls_per_s for m in ms]
        rows.append(
            {
                "variant": variant,
                "repeats": len(ms),
                "calls_per_s": calls,
                "median_calls_per_s": statistics.median(calls),
                "median_runs_per_s": statistics.median(m.runs_per_s for m in ms)
                if ms[0].runs
                else None,
                "ratio": statistics.median(calls) / statistics.median(raw),
                # Each repeat measures every variant back to back: per-repeat ratios cancel the
                # drift of a shared machine better than a ratio of medians.
                "paired_ratio": statistics.median(c / r for c, r in zip(calls, raw, strict=True)),
                "median_driver_cpu_us_per_call": statistics.median(m.cpu_us_per_call for m in ms),
                "median_app_cpu_us_per_call": statistics.median(m.app_cpu_us_per_call for m in ms),
                "measurements": [
                    {
                        "calls": m.calls,
                        "runs": m.runs,
                        "seconds": m.seconds,
                        "cpu_us_per_call": m.cpu_us_per_call,
                        "app_cpu_us_per_call": m.app_cpu_us_per_call,
                    }
                    for m in ms
                ],
            }
        )
    return rows


def render(console: Console, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    table = Table(
        title=f"executor throughput: {args.runs} runs per function, {args.workers} queue workers "
        f"/ concurrent raw calls, {args.raw_calls} raw calls, {args.repeat} repeats (medians)"
    )
    for column in ("variant", "runs/s", "calls/s", "ratio", "paired ratio"):
        table.add_column(column, justify="right")
    table.add_column("CPU µs/call driver / app", justify="right")
    for row in rows:
        runs = row["median_runs_per_s"]
        table.add_row(
            row["variant"],
            f"{runs:,.0f}" if runs is not None else "-",
            f"{row['median_calls_per_s']:,.0f}",
            f"{row['ratio']:.2f}x",
            f"{row['paired_ratio']:.2f}x",
            f"{row['median_driver_cpu_us_per_call']:.0f} / {row['median_app_cpu_us_per_call']:.0f}",
        )
    console.print(table)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-app":
        serve_app(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("INNGEST_TEST_DATABASE_URL", common.DEFAULT_DATABASE_URL),
        help="server to create the scratch database on (env INNGEST_TEST_DATABASE_URL)",
    )
    parser.add_argument("--runs", type=int, default=2000, help="runs per function and repeat")
    parser.add_argument(
        "--workers", type=int, default=32, help="--queue-workers, and the raw clients' concurrency"
    )
    parser.add_argument(
        "--steps",
        type=lambda s: [int(k) for k in s.split(",")],
        default=list(STEP_COUNTS),
        help="functions to run, by step count (subset of 0,1,3)",
    )
    parser.add_argument("--raw-calls", type=int, default=4000, help="calls per raw measurement")
    parser.add_argument(
        "--clients",
        type=lambda s: [c for c in s.split(",") if c],
        default=["driver client", "plain httpx"],
        help="extra raw clients to compare: 'driver client', 'plain httpx' (comma-separated)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--server-source",
        type=Path,
        help="run the server from this source tree (e.g. a git archive of a commit)",
    )
    parser.add_argument(
        "--server-log", type=argparse.FileType("a"), help="append the server's JSON logs here"
    )
    args = parser.parse_args()

    console = Console()
    results = asyncio.run(run(args, console))
    rows = summarize(args, results)
    render(console, args, rows)
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": common.machine(common.server_url_of(args.database_url)),
            "settings": {
                k: v
                for k, v in vars(args).items()
                if k not in ("json", "database_url", "server_log", "server_source")
            },
            "results": rows,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
