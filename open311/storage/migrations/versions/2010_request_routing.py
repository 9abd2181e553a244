"""Explained routing: each request keeps why it was taken where it is (place, rule, layer versions).

Revision ID: 2010
Revises: 2000
Create Date: 2026-12-02

docs/gis.md, "Explained routing". Requests made before it have none (null).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2010"
down_revision = "2000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add service_requests.routing."""
    with op.batch_alter_table("service_requests") as batch:
        batch.add_column(sa.Column("routing", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it."""
    with op.batch_alter_table("service_requests") as batch:
        batch.drop_column("routing")
