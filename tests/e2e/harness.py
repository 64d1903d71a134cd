"""Processes and HTTP helpers for the end-to-end tests.

What lives here, top to bottom:

* installing the two SDK test apps (``apps/ts`` with ``npm ci``, ``apps/py`` in its own virtualenv,
  because the official Python SDK's import name ``inngest`` is also ours),
* polling with a deadline (``wait_until``) and free ports,
* ``Process``: a subprocess in its own process group, logged to a file, always stopped by PID,
* ``ScratchDatabase``: a fresh PostgreSQL database per server, dropped afterwards,
* ``Server``: our server (``python -m inngest dev|start``) as a subprocess,
* ``SdkApp``: a real SDK app (``node app.js`` or ``uvicorn app:app``) pointed at a ``Server``,
* ``ApiClient``: the only place that knows the server's HTTP API shapes.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parents[1]
APPS_DIR = E2E_DIR / "apps"
CACHE_DIR = E2E_DIR / ".cache"

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# INNGEST_E2E_SDKS=ts (or py) limits the suite to one SDK, e.g. where Node.js is missing.
SDKS = tuple(s.strip() for s in os.environ.get("INNGEST_E2E_SDKS", "ts,py").split(",") if s.strip())
# Every function id the apps register (the SDKs add "<id>-failure" for an onFailure handler).
ALL_FUNCTIONS = (
    "three-steps",
    "single",
    "flaky",
    "fatal",
    "conditional",
    "wild",
    "slow-steps",
    "serial-steps",
    "parallel-steps",
    "sleeper",
    "waiter",
    "invoke-child",
    "invoker",
    "sender",
    "receiver",
    "step-flaky",
    "step-caught",
    "fatal-with-handler",
    "fatal-with-handler-failure",
    "cancellable",
    "finish-timeout",
    "start-timeout",
    "big-output",
    "sleep-wait-invoke",
    "fc-concurrency",
    "fc-concurrency-key",
    "fc-load",
    "fc-throttle",
    "fc-rate-limit",
    "fc-idempotent",
    "fc-singleton-skip",
    "fc-singleton-cancel",
    "fc-priority",
    "fc-debounce",
    "fc-batch",
    "fc-bulk",
)
FINAL_STATUSES = frozenset({"Completed", "Failed", "Cancelled"})

# Generous because CI machines are slow (2 cores shared by PostgreSQL, Redis, the server, and
# node or uvicorn); every wait returns as soon as its condition holds.
START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 60.0

T = TypeVar("T")


# --- polling and ports -------------------------------------------------------------------------


class WaitAborted(Exception):
    """Raised by a ``wait_until`` predicate when waiting longer cannot help."""


def wait_until(
    predicate: Callable[[], T],
    timeout_s: float = RUN_TIMEOUT_S,
    interval_s: float = 0.1,
    what: str = "condition",
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Exceptions raised by the predicate count as "not yet" (a process still starting refuses
    connections; an ``assert`` inside the predicate is an eventually-assert); the last one is
    reported when the deadline passes. ``WaitAborted`` ends the wait at once.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except WaitAborted:
            raise
        except Exception as exc:
            last_error = exc
        else:
            last_error = None
            if value:
                return value
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_error!r}" if last_error is not None else ""
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")
        time.sleep(interval_s)


_handed_out_ports: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now and that this process has not
    handed out before (a reserved port may stay unbound for a while, e.g. a server started after
    its app)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port


# --- installing the SDK apps --------------------------------------------------------------------


@contextlib.contextmanager
def _install_lock(name: str) -> Iterator[None]:
    """Serialise installs across pytest-xdist workers sharing one checkout."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_install(
    argv: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None
) -> None:
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed with exit code {done.returncode}\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
        h.update(b"\0")
    return h.hexdigest()


@functools.cache
def ensure_ts_app() -> Path:
    """``npm ci`` the TS app unless its node_modules matches the committed lock file."""
    app_dir = APPS_DIR / "ts"
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found on PATH; the TS SDK app needs Node.js 20+ and npm")
    stamp = CACHE_DIR / "ts-node_modules.sha256"
    digest = _digest((app_dir / "package-lock.json").read_bytes())
    with _install_lock("ts"):
        installed = (app_dir / "node_modules" / "inngest" / "package.json").is_file()
        if installed and stamp.is_file() and stamp.read_text() == digest:
            return app_dir
        _run_install([npm, "ci", "--no-audit", "--no-fund"], cwd=app_dir)
        stamp.write_text(digest)
    return app_dir


@functools.cache
def ensure_py_venv() -> Path:
    """A virtualenv with the PY app's requirements, rebuilt when requirements.txt changes."""
    venv = CACHE_DIR / "py-venv"
    requirements = APPS_DIR / "py" / "requirements.txt"
    stamp = venv / ".requirements.sha256"
    digest = _digest(requirements.read_bytes(), sys.version.encode())
    with _install_lock("py"):
        if stamp.is_file() and stamp.read_text() == digest and (venv / "bin" / "uvicorn").is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        env = _clean_env()
        _run_install([sys.executable, "-m", "venv", venv], cwd=CACHE_DIR, env=env)
        _run_install(
            [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
                requirements,
            ],
            cwd=CACHE_DIR,
            env=env,
        )
        stamp.write_text(digest)
    return venv


def _clean_env() -> dict[str, str]:
    """The test runner's environment minus everything that would leak into a child: Inngest
    settings (ours and the SDKs' share the ``INNGEST_`` prefix) and the server's virtualenv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PORT", "APP_ID", "CALL_LOG", "FUNCTIONS"}
    return {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_") and k not in drop}


# --- processes ----------------------------------------------------------------------------------


class Process:
    """A child process in its own process group, with stdout and stderr in one log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    def start(self) -> None:
        assert not self.alive(), f"{self.name} is already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start: {' '.join(self.argv)}\n".encode())
            log.flush()
            # A new session makes the child a process-group leader, so stop() reaches anything
            # it forks (and nothing of ours).
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def signal_group(self, sig: int) -> None:
        if self._popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def kill(self, sig: int = signal.SIGKILL, timeout_s: float = 30.0) -> None:
        """Send ``sig`` to the whole group and wait for the leader to exit."""
        self.signal_group(sig)
        self._wait(timeout_s)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; always reaps the leader and the group."""
        if self._popen is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=grace_s)
        # Whatever survived the leader (or ignored SIGTERM) goes now.
        self.signal_group(signal.SIGKILL)
        self._wait(30.0)

    def _wait(self, timeout_s: float) -> None:
        if self._popen is not None:
            self._popen.wait(timeout=timeout_s)

    def log_text(self, tail_lines: int | None = None) -> str:
        if not self.log_path.is_file():
            return ""
        text = self.log_path.read_text(errors="replace")
        if tail_lines is None:
            return text
        return "\n".join(text.splitlines()[-tail_lines:])


# --- databases ----------------------------------------------------------------------------------


class ScratchDatabase:
    """A database created for one server and dropped afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"inngest_e2e_{secrets.token_hex(6)}"
        parts = urlsplit(admin_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))

    def create(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


# --- our server ---------------------------------------------------------------------------------

ServerMode = Literal["dev", "start"]


def new_signing_key() -> str:
    return f"signkey-test-{secrets.token_hex(32)}"


class Server:
    """Our server as a subprocess: ``python -m inngest dev|start`` on a fresh database.

    ``mode="start"`` is the self-hosted personality: it needs a signing key, an event key and
    (here) Redis; ``mode="dev"`` takes any event key and no signing key.
    """

    def __init__(
        self,
        *,
        mode: ServerMode,
        database: ScratchDatabase,
        log_dir: Path,
        redis_url: str | None = None,
        signing_key: str | None = None,
        event_key: str | None = None,
        sdk_urls: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        if mode == "start":
            signing_key = signing_key or new_signing_key()
            event_key = event_key or secrets.token_hex(16)
        self.mode = mode
        self.database = database
        self.redis_url = redis_url
        self.signing_key = signing_key
        self.event_key = event_key or "e2e-dev-key"
        self.sdk_urls = list(sdk_urls)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = ApiClient(self.url, signing_key=signing_key)
        child_env = _clean_env()
        child_env.update(
            {
                # The server package is imported from the checkout.
                "PYTHONPATH": str(REPO_ROOT),
                "PYTHONUNBUFFERED": "1",
                "INNGEST_LOG_FORMAT": "json",
                "INNGEST_LOG_LEVEL": "debug",
                # Retries after 1 s instead of exponential backoff, so retry tests take seconds.
                "INNGEST_QUEUE__RETRY_INTERVAL_S": "1",
                # Redis is shared by every test: keep this server's keys apart.
                "INNGEST_REDIS__PREFIX": f"e2e-{secrets.token_hex(6)}",
                # Many servers share one PostgreSQL (max_connections 100 by default, two xdist
                # workers, three-process clusters): a small pool per server keeps them all in.
                "INNGEST_DATABASE__POOL_MAX": "6",
            }
        )
        child_env.update(env or {})
        self._extra_args = list(extra_args)
        # The working directory is the test's own, so nothing the server writes lands in the
        # checkout.
        self.process = Process(
            f"server-{mode}",
            [],
            cwd=log_dir,
            env=child_env,
            log_path=log_dir / f"server-{self.port}.log",
        )

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "inngest", self.mode, "--port", str(self.port)]
        argv += ["--database-url", self.database.url]
        if self.redis_url:
            argv += ["--redis-url", self.redis_url]
        if self.mode == "start":
            argv += ["--signing-key", str(self.signing_key), "--event-key", self.event_key]
        for url in self.sdk_urls:
            argv += ["-u", url]
        return argv + self._extra_args

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Server:
        """Start (or start again) with the current ``sdk_urls``; wait for ``GET /health``."""
        self.process.argv = self.argv()
        self.process.start()
        self.wait_healthy(timeout_s)
        return self

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> None:
        def healthy() -> bool:
            if not self.process.alive():
                raise ProcessExited(self.process)
            return self.api.health()

        try:
            wait_until(healthy, timeout_s, 0.1, f"GET {self.url}/health to answer 200")
        except (TimeoutError, ProcessExited) as exc:
            raise RuntimeError(f"{exc}\n--- server log ---\n{self.process.log_text(80)}") from None

    @property
    def redis_prefix(self) -> str:
        """The prefix of every Redis key this server writes."""
        return self.process.env["INNGEST_REDIS__PREFIX"]

    def launch(self) -> None:
        """Start the process without waiting for it (``wait_healthy`` next)."""
        self.process.argv = self.argv()
        self.process.start()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server (default ``kill -9``) and wait until it is gone."""
        self.process.kill(sig)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> Server:
        """Same port, same database, same flags."""
        self.process.stop()
        return self.start(timeout_s)

    def stop(self) -> None:
        self.process.stop()
        self.api.close()

    def send_event(self, event: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[str]:
        """POST /e/{key} with this server's event key; returns the internal event ids."""
        return self.api.send_event(self.event_key, event)


class Cluster:
    """Several server processes of one deployment: one database, one Redis prefix, one signing
    key and one event key. Apps are shared state (rows in the database), so an app synced through
    any of them is known to all; events may be sent to any of them.
    """

    def __init__(
        self,
        *,
        size: int,
        database: ScratchDatabase,
        log_dir: Path,
        mode: ServerMode = "start",
        redis_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        signing_key = new_signing_key() if mode == "start" else None
        event_key = secrets.token_hex(16) if mode == "start" else None
        shared_env = {"INNGEST_REDIS__PREFIX": f"e2e-{secrets.token_hex(6)}", **(env or {})}
        self.database = database
        self.servers = [
            Server(
                mode=mode,
                database=database,
                log_dir=log_dir,
                redis_url=redis_url,
                signing_key=signing_key,
                event_key=event_key,
                env=shared_env,
            )
            for _ in range(size)
        ]

    def __iter__(self) -> Iterator[Server]:
        return iter(self.servers)

    def __getitem__(self, index: int) -> Server:
        return self.servers[index]

    @property
    def processes(self) -> list[Process]:
        return [server.process for server in self.servers]

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Cluster:
        """Start every process at once (they migrate the one database concurrently)."""
        for server in self.servers:
            server.launch()
        for server in self.servers:
            server.wait_healthy(timeout_s)
        return self

    def stop(self) -> None:
        errors: list[BaseException] = []
        for server in self.servers:
            try:
                server.stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


class ProcessExited(WaitAborted):
    def __init__(self, process: Process) -> None:
        super().__init__(f"{process.name} exited early with code {process.returncode()}")
        self.process = process


# --- the SDK apps -------------------------------------------------------------------------------

Sdk = Literal["ts", "py"]
AppMode = Literal["dev", "cloud"]


class SdkApp:
    """A real SDK app (``apps/ts`` or ``apps/py``) serving at ``url``, pointed at ``server``.

    ``mode="dev"`` sets ``INNGEST_DEV=1``; ``mode="cloud"`` is the self-hosted personality
    (signing key and event key of ``server``, no ``INNGEST_DEV``).
    """

    def __init__(
        self,
        *,
        sdk: Sdk,
        server: Server,
        log_dir: Path,
        mode: AppMode = "dev",
        app_id: str | None = None,
        functions: Collection[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.sdk = sdk
        self.server = server
        self.mode = mode
        self.app_id = app_id or f"{sdk}-app"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base_url}/api/inngest"
        self.call_log = log_dir / f"calls-{sdk}-{self.port}.jsonl"
        self._log_dir = log_dir
        self._extra_env = dict(env or {})
        self._functions = functions
        self._http = httpx.Client(timeout=30.0)
        self.process = self._make_process()

    def slug(self, fn_id: str) -> str:
        """The server-side function id: the SDKs prefix function ids with the app id."""
        return f"{self.app_id}-{fn_id}"

    def _env(self) -> dict[str, str]:
        env = _clean_env()
        env.update(
            {
                "PORT": str(self.port),
                "APP_ID": self.app_id,
                "CALL_LOG": str(self.call_log),
                "INNGEST_BASE_URL": self.server.url,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self._functions is not None:
            env["FUNCTIONS"] = ",".join(self._functions)
        if self.mode == "dev":
            env["INNGEST_DEV"] = "1"
        else:
            assert self.server.signing_key, "cloud-mode apps need a server with a signing key"
            env["INNGEST_SIGNING_KEY"] = self.server.signing_key
            env["INNGEST_EVENT_KEY"] = self.server.event_key
        env.update(self._extra_env)
        return env

    def _make_process(self) -> Process:
        if self.sdk == "ts":
            app_dir = ensure_ts_app()
            argv: list[str | Path] = [shutil.which("node") or "node", "app.js"]
        else:
            app_dir = APPS_DIR / "py"
            uvicorn = ensure_py_venv() / "bin" / "uvicorn"
            argv = [uvicorn, "app:app", "--host", "127.0.0.1", "--port", str(self.port)]
        log_path = self._log_dir / f"{self.sdk}-app-{self.port}.log"
        return Process(f"{self.sdk}-app", argv, cwd=app_dir, env=self._env(), log_path=log_path)

    def start(self, timeout_s: float = START_TIMEOUT_S) -> SdkApp:
        self.process.start()

        def answers() -> bool:
            if not self.process.alive():
                raise ProcessExited(self.process)
            # Any SDK-made answer will do: in cloud mode an unsigned GET gets 401, and TS then
            # keeps only its x-inngest-sdk-handled header.
            headers = self._http.get(self.url).headers
            return "x-inngest-sdk" in headers or "x-inngest-sdk-handled" in headers

        try:
            wait_until(answers, timeout_s, 0.1, f"GET {self.url} to answer")
        except (TimeoutError, ProcessExited) as exc:
            raise RuntimeError(
                f"{exc}\n--- {self.sdk} app log ---\n{self.process.log_text(80)}"
            ) from None
        return self

    def restart(
        self, *, functions: Collection[str] | None = None, timeout_s: float = START_TIMEOUT_S
    ) -> SdkApp:
        """Stop and start again on the same port; ``functions`` changes what the app serves."""
        self.process.stop()
        self._functions = functions
        self.process.env = self._env()
        return self.start(timeout_s)

    def stop(self) -> None:
        self.process.stop()
        self._http.close()

    def send(self, event: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[str]:
        """Send through the SDK's own ``send()`` (the app's ``POST /send``); returns event ids."""
        resp = self._http.post(f"{self.base_url}/send", json=event)
        assert resp.status_code == 200, f"SDK send failed: {resp.status_code} {resp.text}"
        ids = resp.json()["ids"]
        assert isinstance(ids, list)
        return [str(i) for i in ids]

    def calls(self, fn: str | None = None, *, run_id: str | None = None) -> list[dict[str, Any]]:
        """Lines of the app's CALL_LOG: one per handler entry (``step`` None) and per step run."""
        if not self.call_log.is_file():
            return []
        lines = [
            json.loads(line) for line in self.call_log.read_text().splitlines() if line.strip()
        ]
        return [
            c
            for c in lines
            if (fn is None or c["fn"] == fn) and (run_id is None or c["run_id"] == run_id)
        ]

    def step_calls(self, fn: str, step: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.calls(fn, run_id=run_id) if c["step"] == step]

    def handler_calls(self, fn: str, *, run_id: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.calls(fn, run_id=run_id) if c["step"] is None]


# --- a server with a synced app -----------------------------------------------------------------

DeploymentMode = Literal["dev", "start"]
DEPLOYMENT_MODES: tuple[DeploymentMode, ...] = ("dev", "start")


class Deployment:
    """One server and one synced app, in one of the two personalities.

    ``mode="dev"``: ``inngest dev`` and the app in dev mode. ``mode="start"``: ``inngest start``
    with Redis, a signing key and an event key, and the app in cloud (self-hosted) mode. Several
    tests may share one deployment, so each sends its own ``data.id`` and looks only at its own
    runs and CALL_LOG lines.
    """

    def __init__(
        self,
        *,
        sdk: Sdk,
        mode: DeploymentMode,
        postgres_url: str,
        redis_url: str,
        log_dir: Path,
        server_env: Mapping[str, str] | None = None,
    ) -> None:
        self.sdk = sdk
        self.mode = mode
        self.database = ScratchDatabase(postgres_url)
        self.server = Server(
            mode=mode,
            database=self.database,
            log_dir=log_dir,
            redis_url=redis_url if mode == "start" else None,
            env=server_env,
        )
        self.app = SdkApp(
            sdk=sdk, server=self.server, mode="cloud" if mode == "start" else "dev", log_dir=log_dir
        )
        self._database_created = False

    @property
    def api(self) -> ApiClient:
        return self.server.api

    @property
    def processes(self) -> list[Process]:
        return [self.server.process, self.app.process]

    def start(self) -> Deployment:
        self.database.create()
        self._database_created = True
        self.server.start()
        self.app.start()
        self.api.sync_app(self.app.url)
        return self

    def stop(self) -> None:
        errors: list[BaseException] = []
        for stop in (self.app.stop, self.server.stop):
            try:
                stop()
            except Exception as exc:
                errors.append(exc)
        if self._database_created:
            try:
                self.database.drop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def trigger(self, name: str, data: Mapping[str, Any]) -> str:
        """Send one event to the server and return the id of the one run it starts."""
        [event_id] = self.server.send_event({"name": name, "data": dict(data)})
        [run] = self.api.wait_for_runs(event_id)
        return str(run["id"])

    def trigger_many(self, name: str, datas: Sequence[Mapping[str, Any]]) -> list[str]:
        """Send one event per ``datas`` entry in one request; the run id each one starts."""
        event_ids = self.server.send_event([{"name": name, "data": dict(d)} for d in datas])
        return [str(self.api.wait_for_runs(e)[0]["id"]) for e in event_ids]

    def send(self, name: str, data: Mapping[str, Any]) -> str:
        """Send one event to the server; returns its id."""
        [event_id] = self.server.send_event({"name": name, "data": dict(data)})
        return event_id

    def wait_for_history(
        self, run_id: str, kind: str, *, step: str | None = None, timeout_s: float = RUN_TIMEOUT_S
    ) -> dict[str, Any]:
        """Wait until the run's history has a ``kind`` line (for ``step``); returns the run."""

        def reached() -> dict[str, Any] | None:
            run = self.api.get_run(run_id)
            if history(run, kind, step=step):
                return run
            if run["status"] in FINAL_STATUSES:
                raise WaitAborted(f"run ended as {run['status']} without {kind}: {run}")
            return None

        return wait_until(reached, timeout_s, 0.1, f"{kind} in the history of run {run_id}")


# --- the server's HTTP API ----------------------------------------------------------------------


class ApiError(AssertionError):
    def __init__(self, resp: httpx.Response) -> None:
        super().__init__(
            f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:2000]}"
        )
        self.response = resp


class ApiClient:
    """Our server's HTTP API as the tests use it. Every response shape is known here only.

    REST (``/api/v1``): lists answer ``{"data": [...], "next_cursor": ...}``, single objects
    ``{"data": {...}}``. A run has ``id``, ``status``, ``output``, ``error``, ``function_slug``,
    ``steps`` (``step_id``, ``name``, ``op``, ``memo``, ``position``, ``attempts``) and
    ``attempts``. Events (``POST /e/{key}``) answer ``{"ids": [...], "status": 200}``.
    """

    def __init__(self, base_url: str, *, signing_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {signing_key}"} if signing_key else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Raw access, for tests about status codes and error bodies."""
        return self.http.request(method, path, **kwargs)

    def _data(self, resp: httpx.Response) -> Any:
        if resp.status_code >= 300:
            raise ApiError(resp)
        return resp.json()["data"]

    def health(self) -> bool:
        return self.http.get("/health").status_code == 200

    # events

    def post_event(
        self, key: str, event: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> httpx.Response:
        return self.http.post(f"/e/{key}", json=event)

    def send_event(
        self, key: str, event: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> list[str]:
        """POST /e/{key}; returns the internal event ids (ULIDs) in request order."""
        resp = self.post_event(key, event)
        if resp.status_code != 200:
            raise ApiError(resp)
        body = resp.json()
        assert body.get("status") == 200, body
        return [str(i) for i in body["ids"]]

    def list_events(self, name: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """GET /api/v1/events: stored events, newest first (one page)."""
        params: dict[str, Any] = {"limit": limit}
        if name is not None:
            params["name"] = name
        data = self._data(self.http.get("/api/v1/events", params=params))
        assert isinstance(data, list)
        return data

    # apps and functions

    def sync_app(self, url: str) -> dict[str, Any]:
        """POST /api/v1/apps: the server PUTs ``url`` and stores what the app registers."""
        data = self._data(self.http.post("/api/v1/apps", json={"url": url}))
        assert isinstance(data, dict)
        return data

    def list_apps(self) -> list[dict[str, Any]]:
        data = self._data(self.http.get("/api/v1/apps"))
        assert isinstance(data, list)
        return data

    def apps_at(self, url: str) -> list[dict[str, Any]]:
        return [a for a in self.list_apps() if a.get("url") == url]

    def list_functions(self) -> list[dict[str, Any]]:
        """Live (not archived) functions, each with ``slug`` and ``app_name``."""
        data = self._data(self.http.get("/api/v1/functions"))
        assert isinstance(data, list)
        return data

    def function_slugs(self, app_url: str) -> set[str]:
        """Slugs of the live functions the server holds for the app served at ``app_url``."""
        names = {a["name"] for a in self.apps_at(app_url)}
        return {f["slug"] for f in self.list_functions() if f["app_name"] in names}

    # runs

    def runs_for_event(self, event_id: str) -> list[dict[str, Any]]:
        data = self._data(self.http.get("/api/v1/runs", params={"event_id": event_id}))
        assert isinstance(data, list)
        return data

    def list_runs(
        self, *, function: str | None = None, status: str | None = None, page: int = 200
    ) -> list[dict[str, Any]]:
        """GET /api/v1/runs, every page: runs (without steps or history), newest first."""
        params: dict[str, Any] = {"limit": page}
        if function is not None:
            params["function"] = function
        if status is not None:
            params["status"] = status
        found: list[dict[str, Any]] = []
        while True:
            resp = self.http.get("/api/v1/runs", params=params)
            if resp.status_code >= 300:
                raise ApiError(resp)
            body = resp.json()
            found.extend(body["data"])
            if not body.get("next_cursor"):
                return found
            params["cursor"] = body["next_cursor"]

    def get_run(self, run_id: str) -> dict[str, Any]:
        data = self._data(self.http.get(f"/api/v1/runs/{run_id}"))
        assert isinstance(data, dict)
        return data

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        """POST /api/v1/runs/{id}/cancel; answers ``{"id", "cancelled", "status"}``."""
        data = self._data(self.http.post(f"/api/v1/runs/{run_id}/cancel"))
        assert isinstance(data, dict)
        return data

    def rerun(self, run_id: str) -> str:
        """POST /api/v1/runs/{id}/rerun; returns the new run's id."""
        data = self._data(self.http.post(f"/api/v1/runs/{run_id}/rerun"))
        return str(data["id"])

    def wait_for_runs(
        self, event_id: str, count: int = 1, timeout_s: float = RUN_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Wait until ``event_id`` has started at least ``count`` runs; returns them."""

        def enough() -> list[dict[str, Any]] | None:
            runs = self.runs_for_event(event_id)
            return runs if len(runs) >= count else None

        return wait_until(enough, timeout_s, 0.2, f"{count} run(s) for event {event_id}")

    def wait_for_run_status(
        self, run_id: str, statuses: Collection[str], timeout_s: float = RUN_TIMEOUT_S
    ) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def reached() -> dict[str, Any] | None:
            nonlocal last
            last = self.get_run(run_id)
            return last if last["status"] in statuses else None

        try:
            return wait_until(reached, timeout_s, 0.2, f"run {run_id} to be {sorted(statuses)}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last seen: {json.dumps(last)[:2000]}") from None

    def wait_for_run_end(self, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        """Wait for Completed, Failed or Cancelled, so a wrong ending fails fast."""
        return self.wait_for_run_status(run_id, FINAL_STATUSES, timeout_s)


def assert_no_runs(api: ApiClient, event_id: str, *, control_event_id: str) -> None:
    """``event_id`` started no run.

    A negative needs something to wait for: the control event, sent *after* ``event_id``, must
    start a run and that run must end; by then any run of ``event_id`` would exist too.
    """
    [control] = api.wait_for_runs(control_event_id)
    api.wait_for_run_end(control["id"])
    assert api.runs_for_event(event_id) == []


# --- step timings from an app's CALL_LOG ---------------------------------------------------------


def max_in_flight(
    lines: Sequence[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], Any] | None = None
) -> dict[Any, int]:
    """The most step executions in flight at one moment, per ``key(line)`` (one group by default),
    from the ``phase`` start/end lines of the flow-control functions (app clock, ms).

    An execution ending in the same millisecond another starts does not overlap it. A start
    without an end (the app died) counts as in flight until the end of the log.
    """
    marks: dict[Any, list[tuple[int, int]]] = {}
    for line in lines:
        phase = line.get("phase")
        if phase not in ("start", "end"):
            continue
        group = key(line) if key is not None else None
        marks.setdefault(group, []).append((int(line["t"]), 1 if phase == "start" else -1))
    peaks: dict[Any, int] = {}
    for group, points in marks.items():
        current = peak = 0
        for _, delta in sorted(points):  # -1 sorts before +1 within one millisecond
            current += delta
            peak = max(peak, current)
        peaks[group] = peak
    return peaks


def phase_lines(lines: Sequence[Mapping[str, Any]], phase: str) -> list[dict[str, Any]]:
    return [dict(line) for line in lines if line.get("phase") == phase]


# --- reading run objects ------------------------------------------------------------------------


def step_output(step: Mapping[str, Any]) -> Any:
    """The data a finished ``step.run`` recorded (memo is ``{"data": X}`` as sent to the SDK)."""
    memo = step["memo"]
    if isinstance(memo, Mapping) and set(memo) == {"data"}:
        return memo["data"]
    return memo


def steps_by_name(run: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in sorted(run.get("steps") or [], key=lambda s: s["position"])}


def history(
    run: Mapping[str, Any], kind: str | None = None, *, step: str | None = None
) -> list[dict[str, Any]]:
    """The run's history lines (oldest first), optionally only one ``kind`` and/or step name."""
    return [
        h
        for h in run.get("history") or []
        if (kind is None or h["kind"] == kind) and (step is None or h.get("step_name") == step)
    ]


def history_kinds(run: Mapping[str, Any]) -> list[str]:
    return [h["kind"] for h in run.get("history") or []]


def parse_time(value: str) -> datetime:
    """An ISO-8601 timestamp from the API (``Z`` or an offset) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def completed_runs(api: ApiClient, slug: str, *, at_least: int = 1) -> list[dict[str, Any]]:
    """The Completed runs of function ``slug`` (with outputs) if there are ``at_least``, else []."""
    runs = api.list_runs(function=slug, status="Completed")
    return runs if len(runs) >= at_least else []


def assert_one_run_per_tick(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every run is a cron run (``fc-cron`` returns its event) of a whole-second tick, and no
    tick started two runs; returns the ticks (``scheduledAt``)."""
    ticks = []
    for run in runs:
        output = run["output"]
        assert output["name"] == "inngest/scheduled.timer", run
        tick = output["data"]["scheduledAt"]
        assert parse_time(tick).microsecond == 0, tick
        ticks.append(tick)
    repeated = {tick: n for tick, n in Counter(ticks).items() if n > 1}
    assert not repeated, f"ticks with more than one run: {repeated}"
    return ticks


def error_message(run: Mapping[str, Any]) -> str:
    error = run.get("error")
    if isinstance(error, Mapping):
        return f"{error.get('name', '')}: {error.get('message', '')}"
    return "" if error is None else str(error)


def unique_id(prefix: str = "e2e") -> str:
    return f"{prefix}-{secrets.token_hex(8)}"
