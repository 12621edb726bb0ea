"""Deferred sizes: a task declared without its size (a pipe) records that, and its maximum.

Revision ID: 0004_deferred_size
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_deferred_size"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing task was declared with its size.
    with op.batch_alter_table("ferry_tasks") as batch:
        batch.add_column(
            sa.Column("size_deferred", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("max_size", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ferry_tasks") as batch:
        batch.drop_column("max_size")
        batch.drop_column("size_deferred")
