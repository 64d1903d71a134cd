"""Applies the Alembic revisions shipped inside the package (so `pip install` suffices)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("inngest.db") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url))
    return cfg


def sqlalchemy_url(database_url: str) -> str:
    """SQLAlchemy wants the driver named; users write plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema up to ``revision``. Safe to run concurrently: Alembic's version
    table update happens in the migration transaction, and PostgreSQL DDL is transactional;
    an advisory lock makes a second process wait instead of failing on duplicate DDL."""
    command.upgrade(alembic_config(database_url), revision)
