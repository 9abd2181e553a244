"""per-key rate limit

Revision ID: 0700
Revises: 0800
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700"
down_revision = "0800"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add api_keys.rate_limit (NULL: the configured default applies)."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Drop api_keys.rate_limit."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("rate_limit")
