"""Tasks and committed blocks.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ACTIVE = sa.text("state IN ('UPLOADING', 'PAUSED')")


def upgrade() -> None:
    op.create_table(
        "ferry_tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("store_path", sa.Text(), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("block_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("overwrite", sa.Boolean(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merge_owner", sa.String(64), nullable=True),
        sa.Column("merge_lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ux_ferry_tasks_active_store_path",
        "ferry_tasks",
        ["store_path"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index("ix_ferry_tasks_state_expires", "ferry_tasks", ["state", "expires_at"])
    op.create_table(
        "ferry_blocks",
        sa.Column(
            "task_id",
            sa.String(32),
            sa.ForeignKey("ferry_tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("block_index", sa.Integer(), primary_key=True),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("crc32c", sa.BigInteger(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ferry_blocks")
    op.drop_index("ix_ferry_tasks_state_expires", table_name="ferry_tasks")
    op.drop_index("ux_ferry_tasks_active_store_path", table_name="ferry_tasks")
    op.drop_table("ferry_tasks")
