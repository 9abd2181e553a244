"""Subscriptions: apps' callback URLs for status changes, and the outbox rows that carry the callbacks.

Revision ID: 0900
Revises: 0700
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "0900"
down_revision = "0700"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create subscriptions; link outbox rows to a subscription and a status update."""
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("api_key_id", ID, nullable=False),
        sa.Column("callback_url", sa.String(length=2000), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", open311.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_match", "subscriptions",
                    ["jurisdiction_id", "active", "service_code", "api_key_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("subscription_id", ID, nullable=True))
        batch.add_column(sa.Column("status_update_id", ID, nullable=True))
        batch.create_foreign_key("fk_outbox_subscription", "subscriptions", ["subscription_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_foreign_key("fk_outbox_status_update", "status_updates", ["status_update_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_outbox_subscription", ["subscription_id", "id"])


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_subscription")
        batch.drop_constraint("fk_outbox_status_update", type_="foreignkey")
        batch.drop_constraint("fk_outbox_subscription", type_="foreignkey")
        batch.drop_column("status_update_id")
        batch.drop_column("subscription_id")
    op.drop_index("ix_subscriptions_match", table_name="subscriptions")
    op.drop_table("subscriptions")
