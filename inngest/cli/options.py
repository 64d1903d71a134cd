"""Command-line options that map onto the settings tree, and the settings they build.

Every option names the setting it overrides (a dotted path into `inngest.config.Settings`). Click
never reads the environment itself: an option left out of the command line is simply not passed to
`Settings`, so pydantic-settings applies the one precedence of the project: command line, then
environment (``INNGEST_`` + path joined by ``__``), then the YAML config file, then the default.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from inngest.config import Personality, Settings

F = TypeVar("F", bound=Callable[..., Any])

ENV_PREFIX = "INNGEST_"


class SettingOption(click.Option):
    """A click option that overrides one setting; knows the variables that set it too."""

    def __init__(
        self, *args: Any, setting_path: str, env_names: tuple[str, ...], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.setting_path = setting_path
        self.env_names = env_names


# Flat environment names the reference self-hosted server reads; `inngest start` and `inngest
# migrate` honour them below the nested names (INNGEST_AUTH__SIGNING_KEY beats INNGEST_SIGNING_KEY).
# `inngest dev` ignores them: SDK apps are configured with the same names and a developer's shell
# often carries them.
ALIASES: dict[str, str] = {
    "INNGEST_SIGNING_KEY": "auth.signing_key",
    "INNGEST_SIGNING_KEY_FALLBACK": "auth.signing_key_fallback",
    "INNGEST_EVENT_KEY": "auth.event_keys",
    "INNGEST_POSTGRES_URI": "database.url",
    "INNGEST_REDIS_URI": "redis.url",
}

# Parameter name -> dotted settings path, for every option made by `setting_option`.
REGISTRY: dict[str, str] = {}


def env_var(path: str) -> str:
    """The environment variable pydantic-settings reads for a dotted settings path."""
    return ENV_PREFIX + path.replace(".", "__").upper()


def field_at(path: str) -> FieldInfo:
    """The pydantic field a dotted path names."""
    model: type[BaseModel] = Settings
    *parents, leaf = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type)
        assert issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[leaf]


def default_text(field: FieldInfo) -> str | None:
    """How a field's default reads in help and docs; None when there is none worth showing."""
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None or value == [] or isinstance(value, BaseModel):
        return None
    return str(value)


def setting_option(
    *decls: str, param: str, path: str, help: str, aliases: bool = True, **kwargs: Any
) -> Callable[[F], F]:
    """A click option overriding ``path``; its help shows its environment variables and default.

    ``aliases=False`` for commands that ignore the flat alias variables (`inngest dev`).
    """
    REGISTRY[param] = path
    # The config file is located before the tree is built: its variable is not derived from a path.
    env_names: tuple[str, ...] = (
        ("INNGEST_CONFIG_FILE",) if path == "config_file" else (env_var(path),)
    )
    if aliases:
        env_names += tuple(name for name, target in ALIASES.items() if target == path)
    extra = [f"env var: {' or '.join(env_names)}"]
    default = default_text(field_at(path)) if kwargs.get("default") is None else None
    if default is not None:
        extra.append(f"default: {default}")
    kwargs.setdefault("default", None)
    return click.option(
        *decls,
        param,
        cls=SettingOption,
        setting_path=path,
        env_names=env_names,
        help=f"{help}  [{'; '.join(extra)}]",
        **kwargs,
    )


def given(params: Mapping[str, Any]) -> dict[str, Any]:
    """The nested settings the command line actually set (unset options are left out)."""
    nested: dict[str, Any] = {}
    for name, value in params.items():
        path = REGISTRY.get(name)
        if path is None or value is None or value == ():
            continue
        _put(nested, path, list(value) if isinstance(value, tuple) else value)
    return nested


def with_aliases(nested: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Add values of the flat alias variables that neither a flag nor the nested variable set."""
    merged = copy.deepcopy(nested)
    for alias, path in ALIASES.items():
        raw = environ.get(alias)
        if not raw or env_var(path) in environ or _get(merged, path) is not None:
            continue
        value: Any = [part.strip() for part in raw.split(",") if part.strip()]
        if path != "auth.event_keys":
            value = raw
        _put(merged, path, value)
    return merged


def build_settings(
    personality: Personality,
    params: Mapping[str, Any],
    *,
    aliases: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings for a command: its flags over the environment over the config file over defaults.

    Raises pydantic's ValidationError, FileNotFoundError for a missing config file, or a YAML error.
    """
    overrides = given(params)
    if aliases:
        overrides = with_aliases(overrides, os.environ if environ is None else environ)
    return Settings(personality=personality, **overrides)


def _put(nested: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        nested = nested.setdefault(part, {})
    nested[leaf] = value


def _get(nested: Mapping[str, Any], path: str) -> Any:
    node: Any = nested
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


# The options themselves; commands pick the ones they accept.

host = setting_option("--host", param="host", path="api.addr", help="Address the API binds to.")
port = setting_option(
    "--port", "-p", param="port", path="api.port", type=click.IntRange(1, 65535),
    help="Port of the API and event endpoint.",
)  # fmt: skip
config = setting_option(
    "--config", param="config", path="config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML config file (keys as in docs/configuration.md).",
)  # fmt: skip
database_url = setting_option(
    "--database-url", param="database_url", path="database.url",
    help="PostgreSQL URL, e.g. postgresql://user:pass@host:5432/db.",
)  # fmt: skip
dev_database_url = setting_option(
    "--database-url", param="database_url", path="database.url", aliases=False,
    help="Use this PostgreSQL instead of the embedded one.",
)  # fmt: skip
redis_url = setting_option(
    "--redis-url", param="redis_url", path="redis.url",
    help="Redis URL for concurrency counters and wake-ups; PostgreSQL is used when unset.",
)  # fmt: skip
dev_redis_url = setting_option(
    "--redis-url", param="redis_url", path="redis.url", aliases=False,
    help="Redis URL for concurrency counters and wake-ups; PostgreSQL is used when unset.",
)  # fmt: skip
signing_key = setting_option(
    "--signing-key", param="signing_key", path="auth.signing_key",
    help="Hex signing key shared with the SDK apps (required).",
)  # fmt: skip
event_key = setting_option(
    "--event-key", param="event_key", path="auth.event_keys", multiple=True,
    help="Event key accepted on POST /e/{key}, at least one (repeatable).",
)  # fmt: skip
sdk_url = setting_option(
    "--sdk-url", "-u", param="sdk_url", path="sdk_urls", multiple=True,
    help="App serve URL to sync at boot, e.g. http://127.0.0.1:3000/api/inngest (repeatable).",
)  # fmt: skip
queue_workers = setting_option(
    "--queue-workers", param="queue_workers", path="queue.workers", type=click.IntRange(min=1),
    help="Most SDK calls in flight in this process.",
)  # fmt: skip
log_format = setting_option(
    "--log-format", param="log_format", path="log_format",
    type=click.Choice(["auto", "json", "rich"]),
    help="Log output: rich on a terminal and JSON lines otherwise under auto.",
)  # fmt: skip
retry_interval = setting_option(
    "--retry-interval", param="retry_interval", path="queue.retry_interval_s",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between retries, replacing exponential backoff.",
)  # fmt: skip
data_dir = setting_option(
    "--data-dir", param="data_dir", path="database.data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the embedded PostgreSQL keeps its cluster (in DATA_DIR/pg).",
)  # fmt: skip
