"""The embedded PostgreSQL of `inngest dev` starts, persists its cluster, answers SQL and stops."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from inngest.db import embedded


def test_starts_serves_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"

    with embedded.embedded_postgres(data_dir) as url:
        assert url.startswith("postgresql://")
        assert url.endswith(f"/{embedded.DATABASE}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
            conn.execute("INSERT INTO kept VALUES (42)")

    assert (data_dir / "PG_VERSION").is_file()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)

    # A second start reuses the cluster: what was written is still there.
    with embedded.embedded_postgres(data_dir) as again, psycopg.connect(again) as conn:
        row = conn.execute("SELECT id FROM kept").fetchone()
        assert row == (42,)


def test_one_process_per_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with (
        embedded.embedded_postgres(data_dir),
        pytest.raises(embedded.EmbeddedPostgresError, match="in use"),
        embedded.embedded_postgres(data_dir),
    ):
        pass
