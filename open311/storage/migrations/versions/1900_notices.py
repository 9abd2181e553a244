"""Notices to residents: who asked to hear (notice_recipients), each milestone owed (notices), the outbox rows
that carry them, and the status pages' capability links (status_links).

Revision ID: 1900
Revises: 1800
Create Date: 2026-12-02

docs/notifications.md describes them. notice_recipients holds contact data (write-only, purged with the rest).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "1900"
down_revision = "1800"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = open311.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables; link outbox rows to a notice."""
    op.create_table(
        "notice_recipients",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("follower_id", ID, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("push_endpoint", sa.String(length=2000), nullable=True),
        sa.Column("push_p256dh", sa.String(length=200), nullable=True),
        sa.Column("push_auth", sa.String(length=100), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("unsubscribed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["follower_id"], ["request_followers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notice_recipients_request", "notice_recipients", ["request_id", "id"])
    op.create_table(
        "notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("recipient_id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("milestone", sa.String(length=16), nullable=False),
        sa.Column("milestone_key", sa.String(length=64), nullable=False),
        sa.Column("status_update_id", ID, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["recipient_id"], ["notice_recipients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_update_id"], ["status_updates.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "milestone_key", name="uq_notices_recipient_milestone"),
    )
    op.create_index("ix_notices_request_id", "notices", ["request_id"])
    op.create_table(
        "status_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_status_links_request", "status_links", ["request_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("notice_id", ID, nullable=True))
        batch.create_foreign_key("fk_outbox_notice", "notices", ["notice_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    """Drop the outbox link and the tables."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_notice", type_="foreignkey")
        batch.drop_column("notice_id")
    for table in ("status_links", "notices", "notice_recipients"):
        op.drop_table(table)
