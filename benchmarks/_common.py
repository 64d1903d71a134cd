"""Shared pieces of the end-to-end benchmarks: a scratch database, the real server as a child
process, a minimal fake SDK app, percentiles and the machine description.

The fake app speaks just enough of the protocol (call requests in, 206 ops or 200 out, the SDK
headers on every answer) to drive runs; functions are registered through the REST API
(``POST /api/v1/functions``), so no sync round trip is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import platform
import secrets
import signal
import site
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import psycopg
from aiohttp import web
from psycopg import sql

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# What an inngest-py 0.5.19 app sends on every answer; the server treats an answer without
# x-inngest-sdk as a transport error.
SDK_HEADERS = {
    "content-type": "application/json",
    "x-inngest-sdk": "inngest-py:v0.5.19",
    "x-inngest-req-version": "2",
}
# Long enough for migrations on a busy machine.
SERVER_BOOT_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 30.0

Handler = Callable[[web.Request], Awaitable[web.Response]]


def step_hash(step_id: str) -> str:
    """The hashed step id an SDK uses for the first occurrence of ``step_id``."""
    return hashlib.sha1(step_id.encode()).hexdigest()


def answer(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), headers=SDK_HEADERS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def server_url_of(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(server: str) -> tuple[str, str]:
    """An empty scratch database (the server migrates it at start); returns (name, url)."""
    name = f"inngest_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, psycopg.conninfo.make_conninfo(server, dbname=name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def as_url(conninfo: str) -> str:
    """A postgresql:// URL for the server's --database-url from a libpq conninfo string."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = params.get("user", "postgres")
    password = params.get("password")
    auth = f"{user}:{password}" if password else str(user)
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    return f"postgresql://{auth}@{host}:{port}/{params['dbname']}"


def machine(database_server: str) -> dict[str, Any]:
    with psycopg.connect(database_server) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else None,
        "load_average": os.getloadavg(),
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3 of stat(5), utime and stime fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """``python -m inngest dev`` as a child process on its own port and scratch database."""

    api_url: str
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_s(self) -> float:
        return process_cpu_s(self.pid)


@contextlib.asynccontextmanager
async def run_server(
    database_url: str,
    *,
    redis_url: str | None = None,
    workers: int | None = None,
    log: TextIO | None = None,
    extra_env: dict[str, str] | None = None,
    source: Path | None = None,
) -> AsyncIterator[Server]:
    """``source``: run the server from this source tree (e.g. ``git archive`` of one commit)
    instead of the installed package, so a checkout being edited does not change what is measured.
    """
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    interpreter = [sys.executable]
    if source is not None:
        # -S skips site-packages' .pth files, and with them the editable install's import hook,
        # which would otherwise win over PYTHONPATH; the dependencies stay importable.
        interpreter.append("-S")
        env["PYTHONPATH"] = os.pathsep.join([str(source), *site.getsitepackages()])
    command = [
        *interpreter,
        "-m",
        "inngest",
        "dev",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--log-format",
        "json",
    ]
    if redis_url:
        command += ["--redis-url", redis_url]
    if workers is not None:
        command += ["--queue-workers", str(workers)]
    if redis_url:
        # A prefix of our own: other users of the same Redis never hear our wake-ups.
        env["INNGEST_REDIS__PREFIX"] = f"bench-{secrets.token_hex(4)}"
    out: Any = log if log is not None else subprocess.DEVNULL
    # With a source tree, start there: python -m puts the working directory first on sys.path.
    process = await asyncio.create_subprocess_exec(
        *command, stdout=out, stderr=out, env=env, cwd=source
    )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        await _wait_healthy(server)
        yield server
    finally:
        await _stop(process)


async def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + SERVER_BOOT_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(f"server exited with {server.process.returncode} at start")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{server.api_url}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not healthy after {SERVER_BOOT_TIMEOUT_S} s")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)  # graceful: stop claiming, finish in-flight calls
    try:
        await asyncio.wait_for(process.wait(), SERVER_STOP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def serve_app(handler: Handler, *, path: str = "/api/inngest") -> AsyncIterator[str]:
    """Serve ``handler`` for POSTs on 127.0.0.1; yields the serve URL."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()


async def register(
    client: httpx.AsyncClient, api_url: str, app_url: str, functions: list[dict[str, Any]]
) -> None:
    response = await client.post(
        f"{api_url}/api/v1/functions", json={"url": app_url, "functions": functions}
    )
    response.raise_for_status()


async def send_events(
    client: httpx.AsyncClient, api_url: str, events: list[dict[str, Any]]
) -> list[str]:
    response = await client.post(f"{api_url}/e/bench", json=events)
    response.raise_for_status()
    ids: list[str] = response.json()["ids"]
    return ids
