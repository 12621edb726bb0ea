"""ListTasks: a principal's tasks, and everyone's, in creation order (keyset pages).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_ferry_tasks_principal_created", "ferry_tasks", ["principal", "created_at", "id"]
    )
    op.create_index("ix_ferry_tasks_created", "ferry_tasks", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_ferry_tasks_created", "ferry_tasks")
    op.drop_index("ix_ferry_tasks_principal_created", "ferry_tasks")
