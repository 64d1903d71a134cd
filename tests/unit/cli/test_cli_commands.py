"""The commands: start-up panel, invalid settings, dev's embedded PostgreSQL, migrate, --help."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fakes import FakeServer
from click.testing import CliRunner

from inngest.cli import main, options, render
from inngest.db import embedded, migrate

KEY = "0123456789abcdef"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main.cli, list(args), terminal_width=200)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["start", "dev", "migrate"])
def test_help_shows_every_env_var(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0
    params = [p for p in main.cli.commands[command].params if isinstance(p, options.SettingOption)]
    assert params
    for param in params:
        for env_name in param.env_names:
            assert env_name in output


def test_start_help_names_flat_aliases_dev_does_not() -> None:
    assert "INNGEST_POSTGRES_URI" in invoke("start", "--help")[1]
    assert "INNGEST_POSTGRES_URI" not in invoke("dev", "--help")[1]


def test_version() -> None:
    code, output = invoke("--version")
    assert code == 0
    assert "inngest, version" in output


def test_start_without_keys_exits_2_naming_the_setting(fake_server: FakeServer) -> None:
    code, output = invoke("start", "--database-url", "postgresql://x@h/db")
    assert code == 2
    assert "auth.signing_key" in output
    assert "--signing-key" in output
    assert not fake_server.calls


def test_bad_env_value_is_named(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_QUEUE__WORKERS", "0")
    code, output = invoke("dev", "--database-url", "mysql://nope")
    assert code == 2
    assert "queue.workers" in output
    assert "database.url" in output
    assert "INNGEST_QUEUE__WORKERS" in output


def test_secrets_never_echoed(fake_server: FakeServer) -> None:
    code, output = invoke(
        "start", "--signing-key", "not-hex-secret", "--event-key", "e", "--database-url",
        "postgresql://x@h/db",
    )  # fmt: skip
    assert code == 2
    assert "auth.signing_key" in output
    assert "not-hex-secret" not in output


def test_missing_config_file(fake_server: FakeServer, tmp_path: Path) -> None:
    code, output = invoke("dev", "--config", str(tmp_path / "absent.yaml"))
    assert code == 2
    assert "config_file" in output


def test_unknown_key_in_config_file(fake_server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("databse: {url: postgresql://x@h/db}\n")
    code, output = invoke("dev", "--config", str(path), "--database-url", "postgresql://x@h/db")
    assert code == 2
    assert "databse" in output


def test_start_panel(fake_server: FakeServer) -> None:
    code, output = invoke(
        "start", "--signing-key", KEY, "--event-key", "secret-event-key",
        "--database-url", "postgresql://x@h/db",
    )  # fmt: skip
    assert code == 0, output
    assert "http://127.0.0.1:8288/docs" in output
    assert "PostgreSQL fallback" in output
    assert "INNGEST_SIGNING_KEY" in output
    assert "INNGEST_DEV" not in output
    assert KEY not in output
    assert "secret-event-key" not in output


@pytest.fixture
def fake_embedded(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    started: list[Path] = []

    @contextlib.contextmanager
    def fake(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
        started.append(data_dir)
        yield "postgresql://postgres@127.0.0.1:5999/inngest"

    monkeypatch.setattr(embedded, "embedded_postgres", fake)
    return started


def test_dev_starts_embedded_postgres_and_migrates(
    fake_server: FakeServer,
    fake_embedded: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(migrate, "upgrade", migrated.append)
    code, output = invoke("dev", "--data-dir", str(tmp_path / "data"))
    assert code == 0, output
    assert fake_embedded == [(tmp_path / "data" / "pg").resolve()]
    assert migrated == ["postgresql://postgres@127.0.0.1:5999/inngest"]
    settings = fake_server.settings
    assert settings.personality == "dev"
    assert settings.database.url == "postgresql://postgres@127.0.0.1:5999/inngest"
    assert "INNGEST_DEV=1" in output
    assert "INNGEST_BASE_URL=http://127.0.0.1:8288" in output
    assert "embedded" in output


def test_dev_with_database_url_skips_embedded(
    fake_server: FakeServer, fake_embedded: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "not even hex")  # an SDK's variable: ignored by dev
    code, output = invoke("dev", "--database-url", "postgresql://x@h/db")
    assert code == 0, output
    assert fake_embedded == []
    assert fake_server.settings.auth.signing_key is None


def test_dev_embedded_failure_is_a_panel(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.contextmanager
    def broken(data_dir: Path, *, port: int | None = None) -> Iterator[str]:
        raise embedded.EmbeddedPostgresError("cannot run initdb")
        yield ""  # pragma: no cover

    monkeypatch.setattr(embedded, "embedded_postgres", broken)
    code, output = invoke("dev")
    assert code == 1
    assert "cannot run initdb" in output
    assert not fake_server.calls


def test_migrate(monkeypatch: pytest.MonkeyPatch) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(migrate, "upgrade", migrated.append)
    code, output = invoke("migrate", "--database-url", "postgresql://u:hunter2@h/db")
    assert code == 0, output
    assert migrated == ["postgresql://u:hunter2@h/db"]
    assert "hunter2" not in output
    assert "latest schema" in output


def test_migrate_needs_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrate, "upgrade", lambda url: None)
    code, output = invoke("migrate")
    assert code == 2
    assert "database.url" in output


def test_redact() -> None:
    assert render.redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert render.redact("postgresql://u@h/db") == "postgresql://u@h/db"
