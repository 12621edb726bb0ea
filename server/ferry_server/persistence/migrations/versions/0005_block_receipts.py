"""Block receipts: where a committed block's bytes landed in the byte store (the object
store's part ETag); NULL while a block is committed but not yet stored there.

Revision ID: 0005_block_receipts
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_block_receipts"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ferry_blocks") as batch:
        batch.add_column(sa.Column("receipt", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ferry_blocks") as batch:
        batch.drop_column("receipt")
