"""Fixtures of the end-to-end suite: our server and real SDK apps as subprocesses.

Interface (see ``harness.py`` for the classes):

* ``sdk``: parametrizes a test over ``"ts"`` and ``"py"``.
* ``ts_app_dir`` / ``py_venv``: the SDK apps, installed once into ``tests/e2e/.cache``.
* ``start_server(mode="dev"|"start", started_now=True, **kw) -> Server``: a started server on
  its own fresh database; ``kw`` go to ``harness.Server`` (``sdk_urls``, ``redis_url``, ``env``,
  ...). With ``started_now=False`` its port is reserved but the test calls ``start()`` itself
  (to start an app pointed at it first).
* ``start_app(sdk, server, mode="dev"|"cloud", **kw) -> SdkApp``: a started SDK app pointed at
  ``server``; ``kw`` go to ``harness.SdkApp`` (``app_id``, ``functions``, ``env``).
* ``server``: a dev-personality server; ``app``: the ``sdk`` app in dev mode, not synced;
  ``synced_app``: the same app after ``POST /api/v1/apps``.

Everything started is stopped by PID when the test ends, pass or fail, and each server's
database is dropped. Logs of a failed test's processes are attached to its report.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import harness

_PROCESSES = pytest.StashKey[list[harness.Process]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        for process in item.stash.get(_PROCESSES, []):
            report.sections.append(
                (f"{process.name} log ({process.log_path.name})", process.log_text(tail_lines=200))
            )
    return report


@pytest.fixture(scope="session")
def ts_app_dir() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the TS SDK app")
    return harness.ensure_ts_app()


@pytest.fixture(scope="session")
def py_venv() -> Path:
    return harness.ensure_py_venv()


@pytest.fixture(params=harness.SDKS)
def sdk(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    # Install (or skip) before any process of the test starts.
    request.getfixturevalue("ts_app_dir" if name == "ts" else "py_venv")
    return name


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path
) -> Iterator[Callable[..., harness.Server]]:
    started: list[harness.Server] = []
    databases: list[harness.ScratchDatabase] = []
    processes = request.node.stash.setdefault(_PROCESSES, [])

    def start(
        mode: harness.ServerMode = "dev", *, started_now: bool = True, **kwargs: Any
    ) -> harness.Server:
        database = harness.ScratchDatabase(postgres_url)
        database.create()
        databases.append(database)
        server = harness.Server(mode=mode, database=database, log_dir=tmp_path, **kwargs)
        started.append(server)
        processes.append(server.process)
        return server.start() if started_now else server

    yield start
    errors: list[BaseException] = []
    for server in reversed(started):
        try:
            server.stop()
        except Exception as exc:
            errors.append(exc)
    for database in databases:
        try:
            database.drop()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def start_app(
    request: pytest.FixtureRequest,
    start_server: Callable[..., harness.Server],
    tmp_path: Path,
) -> Iterator[Callable[..., harness.SdkApp]]:
    # Depends on start_server so apps stop before their servers.
    started: list[harness.SdkApp] = []
    processes = request.node.stash.setdefault(_PROCESSES, [])

    def start(
        sdk: harness.Sdk, server: harness.Server, mode: harness.AppMode = "dev", **kwargs: Any
    ) -> harness.SdkApp:
        app = harness.SdkApp(sdk=sdk, server=server, mode=mode, log_dir=tmp_path, **kwargs)
        started.append(app)
        processes.append(app.process)
        return app.start()

    yield start
    errors: list[BaseException] = []
    for app in reversed(started):
        try:
            app.stop()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def server(start_server: Callable[..., harness.Server]) -> harness.Server:
    return start_server("dev")


@pytest.fixture
def app(
    start_app: Callable[..., harness.SdkApp], sdk: harness.Sdk, server: harness.Server
) -> harness.SdkApp:
    return start_app(sdk, server)


@pytest.fixture
def synced_app(app: harness.SdkApp, server: harness.Server) -> harness.SdkApp:
    server.api.sync_app(app.url)
    return app
