"""Quota accounting: the rows admissions lock, each replica's open streams per principal, and
an index for a principal's active tasks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ferry_quota_locks",
        sa.Column("name", sa.String(300), primary_key=True),
    )
    op.create_table(
        "ferry_stream_counts",
        sa.Column("replica", sa.String(64), primary_key=True),
        sa.Column("principal", sa.String(255), primary_key=True),
        sa.Column("streams", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ferry_tasks_principal_state", "ferry_tasks", ["principal", "state"])


def downgrade() -> None:
    op.drop_index("ix_ferry_tasks_principal_state", table_name="ferry_tasks")
    op.drop_table("ferry_stream_counts")
    op.drop_table("ferry_quota_locks")
