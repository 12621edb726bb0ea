"""Block attempts: the promoted attempt of each block, the staging layout of each task, and
cluster-wide leases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tasks from before keep layout 1 (one shared staging file); new ones say 2 explicitly.
    with op.batch_alter_table("ferry_tasks") as batch:
        batch.add_column(
            sa.Column("staging_layout", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("ferry_blocks") as batch:
        batch.add_column(sa.Column("attempt", sa.String(32), nullable=True))
    op.create_table(
        "ferry_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ferry_leases")
    with op.batch_alter_table("ferry_blocks") as batch:
        batch.drop_column("attempt")
    with op.batch_alter_table("ferry_tasks") as batch:
        batch.drop_column("staging_layout")
