"""flow control: fair ordering clock, skipped and singleton runs, gated queue items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("functions", sa.Column("queue_clock", sa.DateTime(timezone=True), nullable=True))
    op.add_column("runs", sa.Column("skip_reason", sa.Text(), nullable=True))
    op.add_column("runs", sa.Column("singleton_key", sa.Text(), nullable=True))
    op.create_index(
        "ix_runs_singleton",
        "runs",
        ["function_id", "singleton_key"],
        unique=False,
        postgresql_where=sa.text(
            "singleton_key IS NOT NULL AND status IN ('Scheduled', 'Running')"
        ),
    )
    op.add_column("queue_items", sa.Column("gate_key", sa.Text(), nullable=True))
    op.create_index(
        "ix_queue_items_gate_key",
        "queue_items",
        ["gate_key", "available_at"],
        unique=False,
        postgresql_where=sa.text("gate_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_queue_items_gate_key",
        table_name="queue_items",
        postgresql_where=sa.text("gate_key IS NOT NULL"),
    )
    op.drop_column("queue_items", "gate_key")
    op.drop_index(
        "ix_runs_singleton",
        table_name="runs",
        postgresql_where=sa.text(
            "singleton_key IS NOT NULL AND status IN ('Scheduled', 'Running')"
        ),
    )
    op.drop_column("runs", "singleton_key")
    op.drop_column("runs", "skip_reason")
    op.drop_column("functions", "queue_clock")
