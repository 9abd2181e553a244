"""Followers: other residents reporting a request's problem, and the outbox rows that carry them.

Revision ID: 1300
Revises: 1100
Create Date: 2026-11-23

request_followers holds write-only details (contact, answers, description, photo descriptions); outbox rows of
kind "follower" point at one follower and add it to the request's ticket in the back office.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "1300"
down_revision = "1100"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create request_followers; link outbox rows to a follower."""
    op.create_table(
        "request_followers",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", ID, nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("device_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_request_followers_request", "request_followers", ["request_id", "id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("follower_id", ID, nullable=True))
        batch.create_foreign_key("fk_outbox_follower", "request_followers", ["follower_id"], ["id"],
                                 ondelete="CASCADE")


def downgrade() -> None:
    """Drop the outbox link and the followers."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_follower", type_="foreignkey")
        batch.drop_column("follower_id")
    op.drop_index("ix_request_followers_request", table_name="request_followers")
    op.drop_table("request_followers")
