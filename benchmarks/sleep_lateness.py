"""Benchmark: how late sleeps wake up on an idle server, PostgreSQL-only and with Redis.

Starts the real server (``python -m inngest dev``) on a scratch database, once per configuration,
and a fake SDK app in this process whose one function answers every first call with a ``Sleep``
of 1-3 s and finishes once the sleep is in the memo. N runs start spread over a few seconds.

Lateness of a run = the instant the app receives its post-sleep call - the sleep's due instant as
the server recorded it (the ``sleep.started`` history entry's ``data.until``). Also reported:

- the two halves of it: due -> the wake item claimed and committed (``sleep.completed`` ``at``),
  and that commit -> the post-sleep call reaching the app;
- "app view": the same receipt measured from the instant the app answered the Sleep, plus the
  duration (adds the server's handling of the 206 before it computes the due instant);
- baseline: an ``asyncio.sleep`` of the same duration started in this process when the app
  answers the Sleep, so the reader sees this process's own timer lateness under the same load.

    python benchmarks/sleep_lateness.py --runs 500 --spread-s 10 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

SLEEP_STEP = common.step_hash("s")
EVENT = "bench/sleep"
TARGET_P99_MS = 100.0


@dataclass
class SleepRun:
    duration_s: float
    answered_at: float  # wall clock, when the app answered the Sleep
    woke_at: float | None = None  # wall clock, when the post-sleep call arrived


@dataclass
class SleeperApp:
    """The fake SDK app: Sleep on the first call, done once the sleep is memoised."""

    expected: int
    runs: dict[str, SleepRun] = field(default_factory=dict)
    timer_lateness_s: list[float] = field(default_factory=list)
    woken: int = 0
    all_woken: asyncio.Event = field(default_factory=asyncio.Event)
    timers: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        received = time.time()
        body = await request.json()
        run_id = str(body["ctx"]["run_id"])
        if SLEEP_STEP in (body.get("steps") or {}):
            run = self.runs.get(run_id)
            if run is not None and run.woke_at is None:
                run.woke_at = received
                self.woken += 1
                if self.woken >= self.expected:
                    self.all_woken.set()
            return common.answer(200, {"done": True})
        sleep_ms = int(body["event"]["data"]["sleep_ms"])
        self.runs.setdefault(run_id, SleepRun(sleep_ms / 1000, time.time()))
        timer = asyncio.create_task(self._timer(sleep_ms / 1000))
        self.timers.add(timer)
        timer.add_done_callback(self.timers.discard)
        op: dict[str, Any] = {
            "id": SLEEP_STEP,
            "op": "Sleep",
            "name": f"{sleep_ms}ms",
            "displayName": "s",
            "opts": {},
            "data": None,
        }
        return common.answer(206, [op])

    async def _timer(self, duration_s: float) -> None:
        due = time.time() + duration_s
        await asyncio.sleep(duration_s)
        self.timer_lateness_s.append(time.time() - due)


def summarize(lateness_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in lateness_s]
    return {
        "n": len(ms),
        "p50_ms": common.percentile(ms, 50),
        "p90_ms": common.percentile(ms, 90),
        "p99_ms": common.percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "min_ms": min(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


@dataclass(frozen=True, slots=True)
class Recorded:
    due: float  # sleep.started data.until
    resumed: float | None  # sleep.completed at: the wake item was claimed and committed


def _timestamp(text: Any) -> float:
    value = datetime.fromisoformat(str(text))
    return value.replace(tzinfo=value.tzinfo or UTC).timestamp()


async def recorded(
    client: httpx.AsyncClient, api_url: str, run_ids: list[str]
) -> dict[str, Recorded]:
    """Each run's sleep due instant and wake-up commit from its history."""
    sem = asyncio.Semaphore(8)

    async def one(run_id: str) -> tuple[str, Recorded | None]:
        async with sem:
            response = await client.get(f"{api_url}/api/v1/runs/{run_id}")
        response.raise_for_status()
        due = resumed = None
        for entry in response.json()["data"]["history"]:
            if entry.get("kind") == "sleep.started":
                due = _timestamp(entry["data"]["until"])
            elif entry.get("kind") == "sleep.completed":
                resumed = _timestamp(entry["at"])
        return run_id, Recorded(due, resumed) if due is not None else None

    found = await asyncio.gather(*(one(r) for r in run_ids))
    return {run_id: r for run_id, r in found if r is not None}


async def measure(
    args: argparse.Namespace, server_url: str, config: str, progress: Progress
) -> dict[str, Any]:
    redis_url = args.redis_url if config == "redis" else None
    name, conninfo = common.create_database(server_url)
    try:
        app = SleeperApp(args.runs)
        async with (
            common.serve_app(app.handle) as app_url,
            common.run_server(
                common.as_url(conninfo),
                redis_url=redis_url,
                log=args.server_log,
                source=args.server_source,
            ) as server,
            httpx.AsyncClient(timeout=30.0) as client,
        ):
            await common.register(
                client,
                server.api_url,
                app_url,
                [{"id": "sleeper", "name": "sleeper", "triggers": [{"event": EVENT}]}],
            )
            rng = random.Random(args.seed)
            durations_ms = [
                rng.randint(int(args.min_sleep_s * 1000), int(args.max_sleep_s * 1000))
                for _ in range(args.runs)
            ]
            task = progress.add_task(f"{config}: sleeping runs", total=args.runs)
            cpu0 = server.cpu_s()
            started = time.perf_counter()
            interval = args.spread_s / args.runs
            for n, sleep_ms in enumerate(durations_ms):
                # Spread the starts evenly (jittered) so the server stays mostly idle.
                delay = started + n * interval * (0.5 + rng.random()) - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await common.send_events(
                    client, server.api_url, [{"name": EVENT, "data": {"sleep_ms": sleep_ms}}]
                )
                progress.update(task, completed=app.woken)
            deadline = args.spread_s + args.max_sleep_s + 30
            while not app.all_woken.is_set():
                if time.perf_counter() - started > deadline:
                    raise RuntimeError(f"{config}: {app.woken}/{args.runs} runs woke in time")
                progress.update(task, completed=app.woken)
                await asyncio.sleep(0.1)
            progress.update(task, completed=app.woken)
            server_cpu_s = server.cpu_s() - cpu0
            history = await recorded(client, server.api_url, list(app.runs))
            await asyncio.gather(*app.timers)
    finally:
        common.drop_database(server_url, name)

    server_view, app_view, to_commit, to_call = [], [], [], []
    for run_id, run in app.runs.items():
        if run.woke_at is None:
            continue
        app_view.append(run.woke_at - (run.answered_at + run.duration_s))
        rec = history.get(run_id)
        if rec is None:
            continue
        server_view.append(run.woke_at - rec.due)
        if rec.resumed is not None:
            to_commit.append(rec.resumed - rec.due)
            to_call.append(run.woke_at - rec.resumed)
    return {
        "config": config,
        "server_due": summarize(server_view),
        "due_to_wake_commit": summarize(to_commit),
        "wake_commit_to_call": summarize(to_call),
        "app_view": summarize(app_view),
        "asyncio_baseline": summarize(app.timer_lateness_s),
        "server_cpu_s": server_cpu_s,
    }


async def run(args: argparse.Namespace, console: Console) -> list[dict[str, Any]]:
    server_url = common.server_url_of(args.database_url)
    configs = [c for c in args.configs.split(",") if c]
    results: list[dict[str, Any]] = []
    with Progress(console=console, transient=True) as progress:
        for repeat in range(args.repeat):
            # Alternate the order so drift on a shared machine does not favour one configuration.
            order = configs if repeat % 2 == 0 else list(reversed(configs))
            for config in order:
                result = await measure(args, server_url, config, progress)
                result["repeat"] = repeat
                results.append(result)
    return results


def render(console: Console, args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    table = Table(
        title=f"sleep wake-up lateness: {args.runs} runs over {args.spread_s:g} s, sleeps "
        f"{args.min_sleep_s:g}-{args.max_sleep_s:g} s (target p99 < {TARGET_P99_MS:g} ms)"
    )
    for column in ("config", "repeat", "measure", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    labels = {
        "server_due": "server: call - due",
        "due_to_wake_commit": "  due -> wake committed",
        "wake_commit_to_call": "  committed -> call",
        "app_view": "server: call - (answer + d)",
        "asyncio_baseline": "asyncio.sleep(d)",
    }
    for result in results:
        for key, label in labels.items():
            s = result[key]
            table.add_row(
                result["config"],
                str(result["repeat"]),
                label,
                str(s["n"]),
                f"{s['p50_ms']:.1f}",
                f"{s['p90_ms']:.1f}",
                f"{s['p99_ms']:.1f}",
                f"{s['max_ms']:.1f}",
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("INNGEST_TEST_DATABASE_URL", common.DEFAULT_DATABASE_URL),
        help="server to create the scratch databases on (env INNGEST_TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("INNGEST_TEST_REDIS_URL", common.DEFAULT_REDIS_URL),
        help="Redis for the 'redis' configuration (env INNGEST_TEST_REDIS_URL)",
    )
    parser.add_argument("--configs", default="postgres,redis", help="comma-separated subset")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--spread-s", type=float, default=10.0, help="starts spread over this")
    parser.add_argument("--min-sleep-s", type=float, default=1.0)
    parser.add_argument("--max-sleep-s", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
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
    render(console, args, results)
    if args.json:
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": common.machine(common.server_url_of(args.database_url)),
            "settings": {
                k: v
                for k, v in vars(args).items()
                if k not in ("json", "database_url", "server_log", "server_source")
            },
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
