"""Retention: a task's block rows are purged once it has ended (its committed byte count frozen
on the row first), and ended tasks are found by when they ended.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TERMINAL = "state IN ('COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED')"


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch rebuilds ferry_tasks, and dropping
    # the old table would cascade to every block row.
    op.add_column("ferry_tasks", sa.Column("final_committed_bytes", sa.BigInteger(), nullable=True))
    op.add_column(
        "ferry_tasks",
        sa.Column("blocks_purged", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    where = sa.text(f"{_TERMINAL} AND NOT blocks_purged")
    op.create_index(
        "ix_ferry_tasks_unpurged",
        "ferry_tasks",
        ["updated_at"],
        sqlite_where=where,
        postgresql_where=where,
    )
    ended = sa.text(_TERMINAL)
    op.create_index(
        "ix_ferry_tasks_ended",
        "ferry_tasks",
        ["updated_at"],
        sqlite_where=ended,
        postgresql_where=ended,
    )


def downgrade() -> None:
    op.drop_index("ix_ferry_tasks_ended", "ferry_tasks")
    op.drop_index("ix_ferry_tasks_unpurged", "ferry_tasks")
    op.drop_column("ferry_tasks", "blocks_purged")
    op.drop_column("ferry_tasks", "final_committed_bytes")
