"""fair claims: queue groups and the wake order of parked items

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Fairness moved from spacing run starts on a per-function clock to round-robin claims.
    op.drop_column("functions", "queue_clock")
    op.add_column("queue_items", sa.Column("gate_order", sa.DateTime(timezone=True)))
    op.add_column(
        "queue_items", sa.Column("group_key", sa.Text(), server_default="", nullable=False)
    )
    op.create_index(
        "ix_queue_items_group",
        "queue_items",
        ["group_key", sa.text("priority DESC"), "available_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_queue_items_group", table_name="queue_items")
    op.drop_column("queue_items", "group_key")
    op.drop_column("queue_items", "gate_order")
    op.add_column("functions", sa.Column("queue_clock", sa.DateTime(timezone=True)))
