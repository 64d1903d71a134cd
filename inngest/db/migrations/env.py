"""Alembic environment: runs revisions online against the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from inngest.db import tables

# Any id works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 0x1A6E57


def run_migrations_online() -> None:
    config = context.config
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.NullPool)
    with engine.connect() as connection:
        # Serialise concurrent `inngest start` processes migrating one database at boot.
        connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=tables.metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(
                sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
            connection.commit()
    engine.dispose()


run_migrations_online()
