"""Deferred sizes: a task declared without its size (a pipe) records that, and its maximum.

Revision ID: 0006
Revises: 0005_block_receipts
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_block_receipts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing task was declared with its size. Plain ADD COLUMN, not batch mode: on
    # SQLite a batch rebuilds ferry_tasks, and dropping the old table would cascade to every
    # block row.
    op.add_column(
        "ferry_tasks",
        sa.Column("size_deferred", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column(
        "ferry_tasks",
        sa.Column("max_size", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    op.drop_column("ferry_tasks", "max_size")
    op.drop_column("ferry_tasks", "size_deferred")
