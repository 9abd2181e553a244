"""service_requests.location_status: how a request's location was found (given, geocoded, unverified)

Revision ID: 0400
Revises: 0500
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("service_requests") as batch:
        batch.add_column(sa.Column("location_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("service_requests") as batch:
        batch.drop_column("location_status")
