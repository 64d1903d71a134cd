"""Benchmark: the project's queue against minimal hand-written SQL, side by side in one run.

Measures (1) enqueue rate, ``ops.enqueue`` vs a multi-row INSERT loop, 100 rows per statement, and
(2) claim+ack rate, ``ops.claim`` + ``ops.complete`` vs a hand-written SKIP LOCKED claim and a
batched DELETE, with N worker tasks in one asyncio process, each on its own autocommit connection
(so claim and ack are each one durable transaction on both sides). The order of the two variants
alternates across repeats; medians and the project/baseline ratio are reported.

    python benchmarks/queue_throughput.py --jobs 20000 --workers 4 --batch 10 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inngest.db import tables
from inngest.queue import ops
from inngest.queue.records import NewItem

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENQUEUE_BATCH = 100
LEASE_S = 30.0

BASELINE_CLAIM = """
UPDATE queue_items SET available_at = now() + interval '30 seconds', claimed_at = now()
WHERE id IN (
    SELECT id FROM queue_items WHERE available_at <= now()
    ORDER BY priority DESC, available_at, id
    LIMIT %s FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, payload
"""
BASELINE_ACK = "DELETE FROM queue_items WHERE id = ANY(%s)"
BASELINE_INSERT = "INSERT INTO queue_items (kind, payload, priority, available_at) VALUES " + (
    ", ".join(["(%s, %s, %s, %s)"] * ENQUEUE_BATCH)
)

Conn = AsyncConnection[Any]
Worker = Callable[[Conn, int, "Counter"], Awaitable[None]]


@dataclass(slots=True)
class Counter:
    done: int = 0


@dataclass(slots=True)
class Measurement:
    phase: str
    variant: str
    jobs: int
    seconds: float
    python_cpu_s: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


@dataclass(slots=True)
class Comparison:
    phase: str
    baseline: list[float] = field(default_factory=list)
    project: list[float] = field(default_factory=list)
    baseline_cpu_us: list[float] = field(default_factory=list)
    project_cpu_us: list[float] = field(default_factory=list)

    def add(self, m: Measurement) -> None:
        cpu_us = m.python_cpu_s / m.jobs * 1e6
        if m.variant == "baseline":
            self.baseline.append(m.rate)
            self.baseline_cpu_us.append(cpu_us)
        else:
            self.project.append(m.rate)
            self.project_cpu_us.append(cpu_us)

    def summary(self) -> dict[str, Any]:
        base, proj = statistics.median(self.baseline), statistics.median(self.project)
        return {
            **asdict(self),
            "median_baseline": base,
            "median_project": proj,
            "ratio": proj / base,
            # Each repeat runs both variants back to back, so per-repeat ratios cancel the drift
            # of a shared machine better than a ratio of medians.
            "paired_ratio": statistics.median(
                p / b for p, b in zip(self.project, self.baseline, strict=True)
            ),
            "median_baseline_cpu_us": statistics.median(self.baseline_cpu_us),
            "median_project_cpu_us": statistics.median(self.project_cpu_us),
        }


# Enqueue loops: each worker inserts its share in statements of ENQUEUE_BATCH rows.


async def enqueue_baseline(conn: Conn, jobs: int, counter: Counter) -> None:
    for start in range(0, jobs, ENQUEUE_BATCH):
        now = datetime.now(UTC)
        params: list[Any] = []
        for n in range(start, start + ENQUEUE_BATCH):
            params += ["bench", Jsonb({"n": n}), 0, now]
        await conn.execute(BASELINE_INSERT, params)
        counter.done += ENQUEUE_BATCH


async def enqueue_project(conn: Conn, jobs: int, counter: Counter) -> None:
    for start in range(0, jobs, ENQUEUE_BATCH):
        items = [NewItem("bench", {"n": n}) for n in range(start, start + ENQUEUE_BATCH)]
        await ops.enqueue(conn, items, now=datetime.now(UTC))
        counter.done += ENQUEUE_BATCH


# Claim+ack loops: claim a batch (one transaction), ack it in one statement (one transaction),
# until a claim comes back empty. Every job is due at the start and leases outlast the run, so an
# empty claim means the rest is held by other workers.


def claim_baseline(batch: int) -> Worker:
    async def work(conn: Conn, _jobs: int, counter: Counter) -> None:
        while True:
            cur = await conn.execute(BASELINE_CLAIM, (batch,))
            rows = await cur.fetchall()
            if not rows:
                return
            await conn.execute(BASELINE_ACK, ([row[0] for row in rows],))
            counter.done += len(rows)

    return work


def claim_project(batch: int) -> Worker:
    async def work(conn: Conn, _jobs: int, counter: Counter) -> None:
        # The worker's own policy: under this backlog, fair and plain claims alternate.
        policy = ops.ClaimPolicy()
        while True:
            claimed = await ops.claim(
                conn, limit=batch, lease_s=LEASE_S, now=datetime.now(UTC), fair=policy.fair()
            )
            policy.observe(len(claimed), batch)
            if not claimed:
                return
            await ops.complete(conn, [item.lease for item in claimed])
            counter.done += len(claimed)

    return work


async def prepare(admin: Conn, seed_jobs: int) -> None:
    await admin.execute("TRUNCATE queue_items RESTART IDENTITY")
    if seed_jobs:
        await admin.execute(
            "INSERT INTO queue_items (kind, payload)"
            " SELECT 'bench', jsonb_build_object('n', g) FROM generate_series(1, %s) AS g",
            (seed_jobs,),
        )
    # Same starting state for both variants: fresh statistics, visibility map set.
    await admin.execute("VACUUM (ANALYZE) queue_items")
    await admin.execute("CHECKPOINT")


async def measure(
    url: str,
    phase: str,
    variant: str,
    worker: Worker,
    jobs: int,
    workers: int,
    progress: Progress,
) -> Measurement:
    async with await AsyncConnection.connect(url, autocommit=True) as admin:
        await prepare(admin, jobs if phase == "claim+ack" else 0)
        conns = [await AsyncConnection.connect(url, autocommit=True) for _ in range(workers)]
        task = progress.add_task(f"{phase} {variant}", total=jobs)
        counter = Counter()
        ticker = asyncio.create_task(tick(progress, task, counter))
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(c, jobs // workers, counter) for c in conns))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        ticker.cancel()
        progress.update(task, completed=counter.done)
        for c in conns:
            await c.close()
        left = await (await admin.execute("SELECT count(*) FROM queue_items")).fetchone()
        expected = 0 if phase == "claim+ack" else jobs // workers * workers
        if left is None or left[0] != expected:
            raise RuntimeError(f"{phase} {variant}: {left} rows left, expected {expected}")
    return Measurement(phase, variant, counter.done, seconds, cpu)


async def tick(progress: Progress, task: TaskID, counter: Counter) -> None:
    # Progress is redrawn from a counter on a timer, so the hot loops pay one integer add per batch.
    while True:
        progress.update(task, completed=counter.done)
        await asyncio.sleep(0.1)


def create_scratch(server: str) -> tuple[str, str]:
    name = f"inngest_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    sa_url = sa.engine.make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = sa.create_engine(sa_url.set(database=name), poolclass=sa.NullPool)
    with engine.begin() as conn:
        tables.metadata.create_all(conn, tables=[tables.queue_items])
    engine.dispose()
    return name, make_conninfo(server, dbname=name)


def drop_scratch(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )


async def run(args: argparse.Namespace, url: str, console: Console) -> list[Comparison]:
    phases: list[tuple[str, Worker, Worker]] = [
        ("enqueue", enqueue_baseline, enqueue_project),
        ("claim+ack", claim_baseline(args.batch), claim_project(args.batch)),
    ]
    results = {phase: Comparison(phase) for phase, _, _ in phases}
    with Progress(console=console, transient=True) as progress:
        for repeat in range(args.repeat):
            for phase, baseline, project in phases:
                order = [("baseline", baseline), ("project", project)]
                if repeat % 2:
                    order.reverse()
                for variant, worker in order:
                    m = await measure(
                        url, phase, variant, worker, args.jobs, args.workers, progress
                    )
                    results[phase].add(m)
    return list(results.values())


def render(console: Console, args: argparse.Namespace, comparisons: list[Comparison]) -> None:
    table = Table(
        title=f"queue throughput: {args.jobs} jobs, {args.workers} workers, claim batch "
        f"{args.batch}, enqueue batch {ENQUEUE_BATCH}, {args.repeat} repeats (medians)"
    )
    for column in ("phase", "baseline jobs/s", "project jobs/s", "ratio", "paired ratio"):
        table.add_column(column, justify="right")
    table.add_column("Python CPU µs/job (base / project)", justify="right")
    for c in comparisons:
        s = c.summary()
        table.add_row(
            c.phase,
            f"{s['median_baseline']:,.0f}",
            f"{s['median_project']:,.0f}",
            f"{s['ratio']:.2f}x",
            f"{s['paired_ratio']:.2f}x",
            f"{s['median_baseline_cpu_us']:.0f} / {s['median_project_cpu_us']:.0f}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("INNGEST_TEST_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="server to create the scratch database on (env INNGEST_TEST_DATABASE_URL)",
    )
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10, help="items claimed per transaction")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.jobs % (args.workers * ENQUEUE_BATCH):
        parser.error(f"--jobs must be a multiple of workers x {ENQUEUE_BATCH}")

    console = Console()
    server = args.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name, url = create_scratch(server)
    try:
        comparisons = asyncio.run(run(args, url, console))
    finally:
        drop_scratch(server, name)
    render(console, args, comparisons)
    if args.json:
        with psycopg.connect(server) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": row[0] if row else None,
            },
            "settings": {
                "jobs": args.jobs,
                "workers": args.workers,
                "batch": args.batch,
                "enqueue_batch": ENQUEUE_BATCH,
                "repeat": args.repeat,
            },
            "results": [c.summary() for c in comparisons],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
