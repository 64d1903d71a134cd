"""What the CLI shows: the start-up panel, the table of invalid settings, error panels."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from inngest.cli import options
from inngest.config import Settings

if TYPE_CHECKING:
    from inngest.server import ServerInfo

# A model-level check names its setting at the start of its message ("auth.signing_key is ...").
_NAMED_IN_MESSAGE = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+) ")


@dataclass(frozen=True, slots=True)
class Problem:
    """One invalid setting: where it is and what is wrong with it."""

    setting: str
    message: str


def problems_from_validation(errors: Iterable[Any]) -> list[Problem]:
    """Turn pydantic error dicts into problems; input values are never shown (they may be keys)."""
    found: list[Problem] = []
    for error in errors:
        loc = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        if not loc:
            named = _NAMED_IN_MESSAGE.match(message)
            loc = named.group(1) if named else "(settings)"
            message = message[named.end() :] if named else message
        found.append(Problem(loc, message))
    return found


def where_to_set(setting: str) -> str:
    """The flag and environment variable that set a dotted setting, for the error table."""
    path = ".".join(part for part in setting.split(".") if not part.isdigit())
    flags = sorted(
        {
            f"--{param.replace('_', '-')}"
            for param, target in options.REGISTRY.items()
            if target == path
        }
    )
    return ", ".join([*flags, options.env_var(path)]) if "(" not in path else ""


def settings_table(problems: Iterable[Problem], title: str = "Invalid settings") -> Table:
    table = Table(title=title, title_style="bold red", show_lines=True, expand=False)
    table.add_column("setting", style="bold")
    table.add_column("problem", style="red", overflow="fold")
    table.add_column("set it with", style="dim")
    for problem in problems:
        table.add_row(problem.setting, problem.message, where_to_set(problem.setting))
    return table


def error_panel(title: str, message: str) -> Panel:
    return Panel(Text(message), title=title, title_align="left", border_style="red")


def redact(url: str) -> str:
    """A URL with its password replaced, fit for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def startup_panel(info: ServerInfo, settings: Settings, embedded_dir: Path | None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("API", info.api_url)
    grid.add_row("Docs UI", info.docs_url)
    database = info.database
    if embedded_dir is not None:
        database = f"{database}  (embedded, data in {embedded_dir})"
    grid.add_row("Database", database)
    grid.add_row("Redis", info.redis or "not configured: PostgreSQL fallback")
    grid.add_row("Personality", info.personality)
    if settings.sdk_urls:
        grid.add_row("Syncing apps", "\n".join(settings.sdk_urls))

    sdk_env = Table.grid(padding=(0, 1))
    sdk_env.add_column(style="cyan")
    if info.personality == "dev":
        sdk_env.add_row("INNGEST_DEV=1")
        sdk_env.add_row(f"INNGEST_BASE_URL={info.api_url}")
    else:
        sdk_env.add_row(f"INNGEST_BASE_URL={info.api_url}")
        sdk_env.add_row("INNGEST_SIGNING_KEY=<the server's signing key>")
        sdk_env.add_row("INNGEST_EVENT_KEY=<one of the server's event keys>")
    body = Group(grid, Text(""), Text("Point your SDK apps at it with:", style="bold"), sdk_env)
    return Panel(body, title="inngest is ready", title_align="left", border_style="green")


def console(*, stderr: bool = False) -> Console:
    # Built per use: click's test runner swaps sys.stdout, and rich resolves it when printing.
    return Console(stderr=stderr, highlight=False)
