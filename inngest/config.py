"""One settings tree for the whole server, built once at start-up and passed down.

Precedence, highest first: values given by the CLI (init arguments), environment variables
(``INNGEST_`` prefix, ``__`` between nesting levels, e.g. ``INNGEST_DATABASE__URL``), a YAML
config file, then the defaults below. Durations are seconds (``*_s``), sizes bytes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

Personality = Literal["dev", "cloud"]

_SIGNKEY_PREFIX = re.compile(r"^signkey-\w+-")


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host:port/db). "
        "`inngest dev` starts an embedded PostgreSQL when unset.",
    )
    pool_min: int = Field(default=2, ge=1, description="Connections kept open in the pool.")
    pool_max: int = Field(default=16, ge=1, description="Upper bound on pooled connections.")
    data_dir: Path = Field(
        default=Path(".inngest"),
        description="Where `inngest dev` keeps its embedded PostgreSQL cluster.",
    )

    @field_validator("url")
    @classmethod
    def _postgres_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with postgresql:// (e.g. postgresql://postgres@127.0.0.1/db)"
            )
        return value.replace("postgresql+psycopg://", "postgresql://", 1)


class RedisSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="Redis URL for concurrency counters and wake-ups; "
        "PostgreSQL takes over when unset.",
    )
    prefix: str = Field(default="inngest", description="Prefix of every Redis key.")

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis:// (e.g. redis://127.0.0.1:6379/0)")
        return value


class ApiSettings(BaseModel):
    addr: str = Field(default="127.0.0.1", description="Address the HTTP API binds to.")
    port: int = Field(default=8288, ge=1, le=65535, description="Port of the HTTP API.")
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; larger ones get 413.",
    )
    public_url: str | None = Field(
        default=None, description="URL users reach the API on, when not http://addr:port."
    )


class QueueSettings(BaseModel):
    workers: int = Field(default=100, ge=1, description="Max SDK calls in flight per process.")
    claim_batch: int = Field(default=20, ge=1, description="Most items claimed per round trip.")
    lease_s: float = Field(
        default=30.0,
        gt=0,
        description="Lease per claimed item; a dead worker's item is re-claimed after it.",
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="Jittered poll period: the correctness path behind wake-ups."
    )
    shutdown_grace_s: float = Field(
        default=25.0, ge=0, description="How long in-flight calls may finish after SIGTERM."
    )
    retry_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="Fixed retry interval instead of exponential backoff (handy in development).",
    )
    call_timeout_s: float = Field(
        default=7200.0, gt=0, description="Per-call HTTP timeout to SDK apps."
    )


class AuthSettings(BaseModel):
    signing_key: SecretStr | None = Field(
        default=None,
        description="Hex signing key (optional signkey-<env>- prefix) shared with the SDK apps.",
    )
    signing_key_fallback: SecretStr | None = Field(default=None, description="Second accepted key.")
    event_keys: list[SecretStr] = Field(
        default_factory=list, description="Event keys accepted on POST /e/{key}."
    )

    @field_validator("signing_key", "signing_key_fallback")
    @classmethod
    def _hex_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        raw = _SIGNKEY_PREFIX.sub("", value.get_secret_value())
        if len(raw) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", raw):
            raise ValueError(
                "must be an even-length hex string, optionally prefixed signkey-<env>-"
            )
        return value


class Settings(BaseSettings):
    """Every setting of the server."""

    model_config = SettingsConfigDict(
        env_prefix="INNGEST_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    personality: Personality = Field(
        default="cloud",
        description="`dev` (no keys, no signatures) or `cloud` (self-hosted, keyed).",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    sdk_urls: list[str] = Field(default_factory=list, description="App URLs synced at boot.")
    log_format: Literal["auto", "json", "rich"] = Field(
        default="auto", description="JSON lines when not on a TTY under `auto`."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    event_dedup_window_s: float = Field(
        default=86400.0, gt=0, description="Window in which a repeated event id starts nothing new."
    )
    config_file: Path | None = Field(default=None, exclude=True, description="YAML config file.")

    @model_validator(mode="after")
    def _keys_for_cloud(self) -> Settings:
        if self.personality == "cloud":
            if self.auth.signing_key is None:
                raise ValueError("auth.signing_key is required by `inngest start` (--signing-key)")
            if not self.auth.event_keys:
                raise ValueError("auth.event_keys needs at least one key (--event-key)")
            if self.database.url is None:
                raise ValueError("database.url is required by `inngest start` (--database-url)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file_from(init_settings)
        if config_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


def _config_file_from(init_settings: PydanticBaseSettingsSource) -> Path | None:
    import os

    given: Any = init_settings().get("config_file") or os.environ.get("INNGEST_CONFIG_FILE")
    if not given:
        return None
    path = Path(given)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    return path


def signing_key_text(settings: Settings) -> str | None:
    """The signing key as configured (prefix included), or None in dev."""
    key = settings.auth.signing_key
    return None if key is None else key.get_secret_value()
