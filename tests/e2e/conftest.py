"""Fixtures of the end-to-end suite: our server and real SDK apps as subprocesses.

Interface (see ``harness.py`` for the classes):

* ``sdk``: parametrizes a test over ``"ts"`` and ``"py"``.
* ``ts_app_dir`` / ``py_venv``: the SDK apps, installed once into ``tests/e2e/.cache``.
* ``start_server(mode="dev"|"start", started_now=True, **kw) -> Server``: a started server on
  its own fresh database; ``kw`` go to ``harness.Server`` (``sdk_urls``, ``redis_url``, ``env``,
  ...). With ``started_now=False`` its port is reserved but the test calls ``start()`` itself
  (to start an app pointed at it first).
* ``start_cluster(size, mode="start", **kw) -> Cluster``: ``size`` started server processes
  on one fresh database and one Redis prefix; ``kw`` go to ``harness.Cluster`` (``redis_url``,
  ``env``).
* ``start_app(sdk, server, mode="dev"|"cloud", **kw) -> SdkApp``: a started SDK app pointed at
  ``server``; ``kw`` go to ``harness.SdkApp`` (``app_id``, ``functions``, ``env``).
* ``server``: a dev-personality server; ``app``: the ``sdk`` app in dev mode, not synced;
  ``synced_app``: the same app after ``POST /api/v1/apps``.
* ``deployment``: a ``harness.Deployment`` (server + synced app), parametrized over the SDKs
  and the personalities (``[ts-dev]``, ``[ts-start]``, ``[py-dev]``, ``[py-start]``) and
  shared by every test of the same parameters (per xdist worker; ``INNGEST_E2E_SHARE=module``
  shares per file instead, to isolate a failure). Tests that restart or kill the server use
  ``own_deployment``: the same, shared only within one file.

Everything started is stopped by PID when the test ends, pass or fail, and each server's
database is dropped. Logs of a failed test's processes are attached to its report.
"""

from __future__ import annotations

import os
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
def start_cluster(
    request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path
) -> Iterator[Callable[..., harness.Cluster]]:
    started: list[harness.Cluster] = []
    processes = request.node.stash.setdefault(_PROCESSES, [])

    def start(size: int, mode: harness.ServerMode = "start", **kwargs: Any) -> harness.Cluster:
        database = harness.ScratchDatabase(postgres_url)
        database.create()
        cluster = harness.Cluster(
            size=size, database=database, log_dir=tmp_path, mode=mode, **kwargs
        )
        started.append(cluster)
        processes.extend(cluster.processes)
        return cluster.start()

    yield start
    errors: list[BaseException] = []
    for cluster in reversed(started):
        for stop in (cluster.stop, cluster.database.drop):
            try:
                stop()
            except Exception as exc:
                errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def start_app(
    request: pytest.FixtureRequest,
    start_server: Callable[..., harness.Server],
    start_cluster: Callable[..., harness.Cluster],
    tmp_path: Path,
) -> Iterator[Callable[..., harness.SdkApp]]:
    # Depends on start_server and start_cluster so apps stop before their servers.
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


# --- deployments shared between tests ------------------------------------------------------------

_DEPLOYMENT_PARAMS = [(sdk, mode) for sdk in harness.SDKS for mode in harness.DEPLOYMENT_MODES]


def _deployment_id(param: tuple[str, str]) -> str:
    return f"{param[0]}-{param[1]}"


def _shared_scope(fixture_name: str, config: pytest.Config) -> str:
    scope = os.environ.get("INNGEST_E2E_SHARE", "session")
    if scope not in ("session", "module"):
        raise pytest.UsageError("INNGEST_E2E_SHARE must be session or module")
    return scope


def _deploy(
    request: pytest.FixtureRequest,
    postgres_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    server_env: dict[str, str] | None = None,
) -> Iterator[harness.Deployment]:
    sdk, mode = request.param
    # Install (or skip) before any process starts.
    request.getfixturevalue("ts_app_dir" if sdk == "ts" else "py_venv")
    log_dir = tmp_path_factory.mktemp(f"deployment-{sdk}-{mode}")
    deployment = harness.Deployment(
        sdk=sdk,
        mode=mode,
        postgres_url=postgres_url,
        redis_url=redis_url,
        log_dir=log_dir,
        server_env=server_env,
    )
    try:
        deployment.start()
    except BaseException:
        deployment.stop()
        raise
    yield deployment
    deployment.stop()


@pytest.fixture(scope=_shared_scope, params=_DEPLOYMENT_PARAMS, ids=_deployment_id)
def _shared_deployment(
    request: pytest.FixtureRequest,
    postgres_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[harness.Deployment]:
    yield from _deploy(request, postgres_url, redis_url, tmp_path_factory)


@pytest.fixture(scope="module", params=_DEPLOYMENT_PARAMS, ids=_deployment_id)
def _module_deployment(
    request: pytest.FixtureRequest,
    postgres_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[harness.Deployment]:
    # A short lease: a call in flight when the server dies is claimed again soon after restart.
    env = {"INNGEST_QUEUE__LEASE_S": "5"}
    yield from _deploy(request, postgres_url, redis_url, tmp_path_factory, env)


def _attach(request: pytest.FixtureRequest, deployment: harness.Deployment) -> harness.Deployment:
    request.node.stash.setdefault(_PROCESSES, []).extend(deployment.processes)
    for process in deployment.processes:
        if not process.alive():
            raise harness.ProcessExited(process)
    return deployment


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, _shared_deployment: harness.Deployment
) -> harness.Deployment:
    return _attach(request, _shared_deployment)


@pytest.fixture
def own_deployment(
    request: pytest.FixtureRequest, _module_deployment: harness.Deployment
) -> harness.Deployment:
    return _attach(request, _module_deployment)
