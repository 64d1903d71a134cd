"""The `inngest` command: `start` (self-hosted), `dev` (local, embedded PostgreSQL) and `migrate`.

Each command parses its flags, builds the settings tree, calls one function and renders the outcome
with rich. A setting that fails validation stops the command with a table and exit code 2.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import pydantic
import yaml

import inngest
from inngest.cli import options, render
from inngest.config import Personality, Settings
from inngest.errors import InngestError

if TYPE_CHECKING:
    from inngest.server import ServerInfo

EXIT_BAD_SETTINGS = 2
EXIT_INTERRUPTED = 130

SERVE_OPTIONS = (
    options.host,
    options.port,
    options.config,
)
TUNING_OPTIONS = (
    options.sdk_url,
    options.queue_workers,
    options.log_format,
    options.retry_interval,
)

F = Callable[..., Any]


def _apply(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        # click lists options in the order the decorators are applied, innermost first.
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(inngest.__version__, prog_name="inngest")
def cli() -> None:
    """A self-hostable durable-execution server that speaks the Inngest protocol.

    Point the official Inngest SDKs at it; it stores everything in PostgreSQL.
    """


@cli.command()
@_apply(
    *SERVE_OPTIONS,
    options.database_url,
    options.redis_url,
    options.signing_key,
    options.event_key,
    *TUNING_OPTIONS,
)
def start(**params: Any) -> None:
    """Run the self-hosted server (keys required) on PostgreSQL and, optionally, Redis.

    Flags override INNGEST_* environment variables, which override the config file.
    """
    settings = _settings_or_exit("cloud", params, aliases=True)
    _serve(settings, embedded_dir=None)


@cli.command()
@_apply(
    *SERVE_OPTIONS,
    options.dev_database_url,
    options.dev_redis_url,
    options.data_dir,
    *TUNING_OPTIONS,
)
def dev(**params: Any) -> None:
    """Run the server for local development: no keys, an embedded PostgreSQL by default.

    Without --database-url the database lives in DATA_DIR/pg and persists across restarts.
    """
    settings = _settings_or_exit("dev", params)
    if settings.database.url is not None:
        _serve(settings, embedded_dir=None)
        return
    from inngest.db import embedded

    cluster_dir = settings.database.data_dir.expanduser().resolve() / "pg"
    with _fail_on(embedded.EmbeddedPostgresError), embedded.embedded_postgres(cluster_dir) as url:
        database = settings.database.model_copy(update={"url": url})
        _migrate(url)
        _serve(settings.model_copy(update={"database": database}), embedded_dir=cluster_dir)


@cli.command()
@_apply(options.database_url, options.config)
def migrate(**params: Any) -> None:
    """Apply the database migrations shipped with this version, then exit."""
    # Keys are irrelevant here, so validate as `dev` and require only the database.
    settings = _settings_or_exit("dev", params, aliases=True)
    url = settings.database.url
    if url is None:
        _exit_bad_settings([render.Problem("database.url", "is required by `inngest migrate`")])
    applied = _migrate(url)
    out = render.console()
    for line in applied:
        out.print(f"  {line}")
    out.print(
        f"[green]Database {render.redact(url)} is at the latest schema[/] "
        f"({len(applied)} migration{'s' if len(applied) != 1 else ''} applied)."
    )


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="inngest")
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


def _settings_or_exit(
    personality: Personality, params: Mapping[str, Any], *, aliases: bool = False
) -> Settings:
    try:
        return options.build_settings(personality, params, aliases=aliases)
    except pydantic.ValidationError as exc:
        _exit_bad_settings(render.problems_from_validation(exc.errors(include_input=False)))
    except FileNotFoundError as exc:
        _exit_bad_settings([render.Problem("config_file", str(exc))])
    except yaml.YAMLError as exc:
        _exit_bad_settings([render.Problem("config_file", f"not valid YAML: {exc}")])


def _exit_bad_settings(problems: list[render.Problem]) -> NoReturn:
    render.console(stderr=True).print(render.settings_table(problems))
    sys.exit(EXIT_BAD_SETTINGS)


@contextlib.contextmanager
def _fail_on(*errors: type[InngestError]) -> Iterator[None]:
    """Print our own expected failures as a panel and exit 1, without a traceback."""
    try:
        yield
    except errors as exc:
        render.console(stderr=True).print(render.error_panel(type(exc).__name__, str(exc)))
        sys.exit(1)


def _serve(settings: Settings, *, embedded_dir: Path | None) -> None:
    from inngest import server

    def on_ready(info: ServerInfo) -> None:
        render.console().print(render.startup_panel(info, settings, embedded_dir))

    with _fail_on(InngestError):
        server.run(settings, on_ready=on_ready)


def _migrate(url: str) -> list[str]:
    """Apply migrations; returns Alembic's account of what ran (empty when already current)."""
    from inngest.db import migrate

    # Alembic reports each revision it runs on this logger; collect those lines to show the user.
    ran: list[str] = []
    alembic_log = logging.getLogger("alembic.runtime.migration")
    handler = _Collect(ran)
    previous_level = alembic_log.level
    alembic_log.addHandler(handler)
    alembic_log.setLevel(logging.INFO)
    try:
        with _fail_on(InngestError):
            migrate.upgrade(url)
    finally:
        alembic_log.removeHandler(handler)
        alembic_log.setLevel(previous_level)
    return ran


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.INFO)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            self._sink.append(message)
