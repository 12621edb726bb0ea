"""Per-task webhooks: each task records where its completion notice goes, chosen when it is
declared (the URL given at CreateTask, its principal's, or the server's).

Revision ID: 0010_task_webhook
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_task_webhook"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch rebuilds ferry_tasks, and dropping
    # the old table would cascade to every block row. Existing tasks keep NULL: their notice
    # goes to their principal's URL in force when they end, as before this column.
    op.add_column("ferry_tasks", sa.Column("webhook_url", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ferry_tasks", "webhook_url")
