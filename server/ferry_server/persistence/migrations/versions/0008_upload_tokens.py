"""Upload tokens: task-scoped bearer tokens, stored as their SHA-256.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ferry_upload_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "task_id",
            sa.String(32),
            sa.ForeignKey("ferry_tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ferry_upload_tokens_task_id", "ferry_upload_tokens", ["task_id"])
    op.create_index("ix_ferry_upload_tokens_expires_at", "ferry_upload_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_ferry_upload_tokens_expires_at", "ferry_upload_tokens")
    op.drop_index("ix_ferry_upload_tokens_task_id", "ferry_upload_tokens")
    op.drop_table("ferry_upload_tokens")
