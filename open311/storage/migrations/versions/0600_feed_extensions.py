"""Feeds: request columns shown with extensions=true, and the commit order of status updates.

Revision ID: 0600
Revises: 0400
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from open311.storage.models import FEED_TXID_TRIGGER

revision = "0600"
down_revision = "0400"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the columns."""
    with op.batch_alter_table("service_requests") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("duplicate_of", ID, nullable=True))
        batch.add_column(sa.Column("parent_request_id", ID, nullable=True))
        batch.create_index("ix_requests_jur_status", ["jurisdiction_id", "status", "requested_datetime", "id"])
        batch.create_index("ix_requests_jur_place", ["jurisdiction_id", "lat", "long"])
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(sa.Column("feed_txid", sa.BigInteger(), server_default="0", nullable=False))
        batch.create_index("ix_status_updates_feed", ["jurisdiction_id", "feed_txid", "id"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in FEED_TXID_TRIGGER:
            op.execute(statement)


def downgrade() -> None:
    """Drop the columns."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS status_updates_feed_txid ON status_updates")
        op.execute("DROP FUNCTION IF EXISTS status_updates_feed_txid()")
    with op.batch_alter_table("status_updates") as batch:
        batch.drop_index("ix_status_updates_feed")
        batch.drop_column("feed_txid")
    with op.batch_alter_table("service_requests") as batch:
        batch.drop_index("ix_requests_jur_place")
        batch.drop_index("ix_requests_jur_status")
        batch.drop_column("parent_request_id")
        batch.drop_column("duplicate_of")
        batch.drop_column("channel")
