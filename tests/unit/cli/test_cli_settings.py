"""Settings precedence: command line > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_fakes import FakeServer
from click.testing import CliRunner

from inngest.cli import options
from inngest.cli.main import cli

KEY = "0123456789abcdef"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "inngest.yaml",
        "api: {port: 9001, addr: 0.0.0.0}\n"
        "database: {url: 'postgresql://file@db/x', pool_max: 7}\n"
        "queue: {workers: 11}\n",
    )


def test_defaults_when_nothing_is_given() -> None:
    settings = options.build_settings("dev", {})
    assert settings.api.port == 8288
    assert settings.api.addr == "127.0.0.1"
    assert settings.queue.retry_interval_s is None
    assert settings.sdk_urls == []


def test_config_file_over_defaults(config_file: Path) -> None:
    settings = options.build_settings("dev", {"config": config_file})
    assert settings.api.port == 9001
    assert settings.database.pool_max == 7
    assert settings.queue.workers == 11


def test_env_over_config_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_API__PORT", "9002")
    monkeypatch.setenv("INNGEST_CONFIG_FILE", str(config_file))
    settings = options.build_settings("dev", {})
    assert settings.api.port == 9002
    assert settings.api.addr == "0.0.0.0"  # still from the file


def test_flag_over_env_keeps_siblings(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_API__PORT", "9002")
    monkeypatch.setenv("INNGEST_DATABASE__POOL_MIN", "3")
    settings = options.build_settings(
        "dev",
        {"config": config_file, "port": 9003, "database_url": "postgresql://flag@db/x"},
    )
    assert settings.api.port == 9003
    assert settings.database.url == "postgresql://flag@db/x"
    # A flag replaces one leaf, not its whole section.
    assert settings.database.pool_min == 3
    assert settings.database.pool_max == 7


def test_repeatable_flags_become_lists() -> None:
    settings = options.build_settings(
        "cloud",
        {
            "signing_key": KEY,
            "event_key": ("a", "b"),
            "sdk_url": ("http://app/api/inngest",),
            "database_url": "postgresql://x@h/db",
        },
    )
    assert [key.get_secret_value() for key in settings.auth.event_keys] == ["a", "b"]
    assert settings.sdk_urls == ["http://app/api/inngest"]


def test_flags_not_given_are_not_passed() -> None:
    assert options.given({"port": None, "event_key": (), "host": "0.0.0.0"}) == {
        "api": {"addr": "0.0.0.0"}
    }


def test_flat_aliases_rank_below_nested_env_and_flags() -> None:
    environ = {
        "INNGEST_SIGNING_KEY": KEY,
        "INNGEST_EVENT_KEY": "k1, k2",
        "INNGEST_POSTGRES_URI": "postgresql://alias@h/db",
        "INNGEST_REDIS__URL": "redis://nested:6379",
        "INNGEST_REDIS_URI": "redis://alias:6379",
    }
    merged = options.with_aliases({"database": {"url": "postgresql://flag@h/db"}}, environ)
    assert merged == {
        "auth": {"signing_key": KEY, "event_keys": ["k1", "k2"]},
        "database": {"url": "postgresql://flag@h/db"},
    }


def test_start_reads_flat_aliases(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", f"signkey-prod-{KEY}")
    monkeypatch.setenv("INNGEST_EVENT_KEY", "evt")
    monkeypatch.setenv("INNGEST_POSTGRES_URI", "postgresql://alias@h/db")
    result = CliRunner().invoke(cli, ["start"])
    assert result.exit_code == 0, result.output
    settings = fake_server.settings
    assert settings.personality == "cloud"
    assert settings.database.url == "postgresql://alias@h/db"
    assert [k.get_secret_value() for k in settings.auth.event_keys] == ["evt"]


def test_cli_flags_reach_the_server(fake_server: FakeServer, config_file: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["start", "--config", str(config_file), "--signing-key", KEY, "--event-key", "e1",
         "--event-key", "e2", "-u", "http://a/api/inngest", "--port", "9100",
         "--queue-workers", "5", "--retry-interval", "0.5", "--log-format", "json",
         "--redis-url", "redis://127.0.0.1:6379/0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    settings = fake_server.settings
    assert settings.api.port == 9100
    assert settings.api.addr == "0.0.0.0"
    assert settings.database.url == "postgresql://file@db/x"
    assert settings.queue.workers == 5
    assert settings.queue.retry_interval_s == 0.5
    assert settings.log_format == "json"
    assert settings.redis.url == "redis://127.0.0.1:6379/0"
    assert settings.sdk_urls == ["http://a/api/inngest"]
