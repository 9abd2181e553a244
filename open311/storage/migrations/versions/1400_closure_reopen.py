"""Closure codes, duplicate_of on status updates, and residents' reopens ("not fixed").

Revision ID: 1400
Revises: 1300
Create Date: 2026-11-24

service_requests.closure_code and status_updates.closure_code say why a request was closed (None: unspecified);
status_updates.duplicate_of names the survivor of a duplicate closure. request_reopens holds a reopen's
write-only details; outbox rows of kind "reopen" point at one and add it to the request's ticket.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "1400"
down_revision = "1300"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the closure columns, request_reopens and the outbox link."""
    with op.batch_alter_table("service_requests") as batch:
        batch.add_column(sa.Column("closure_code", sa.String(length=32), nullable=True))
    with op.batch_alter_table("status_updates") as batch:
        batch.add_column(sa.Column("closure_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("duplicate_of", ID, nullable=True))
    op.create_table(
        "request_reopens",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", ID, nullable=True),
        sa.Column("follower_id", ID, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("status_update_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.ForeignKeyConstraint(["follower_id"], ["request_followers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["status_update_id"], ["status_updates.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_request_reopens_request", "request_reopens", ["request_id", "id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reopen_id", ID, nullable=True))
        batch.create_foreign_key("fk_outbox_reopen", "request_reopens", ["reopen_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    """Drop the outbox link, the reopens and the closure columns."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_reopen", type_="foreignkey")
        batch.drop_column("reopen_id")
    op.drop_index("ix_request_reopens_request", table_name="request_reopens")
    op.drop_table("request_reopens")
    with op.batch_alter_table("status_updates") as batch:
        batch.drop_column("duplicate_of")
        batch.drop_column("closure_code")
    with op.batch_alter_table("service_requests") as batch:
        batch.drop_column("closure_code")
