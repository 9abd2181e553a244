"""abuse controls: submission keys (idempotency, duplicate fingerprints), hidden request text

Revision ID: 0800
Revises: 0600
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "0800"
down_revision = "0600"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "submission_keys",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", Id, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "scope", "key", name="uq_submission_keys_kind_scope_key"),
    )
    with op.batch_alter_table("submission_keys", schema=None) as batch_op:
        batch_op.create_index("ix_submission_keys_expires", ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_submission_keys_request_id"), ["request_id"], unique=False)
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_at", open311.storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("hidden_content", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("hidden_content")
        batch_op.drop_column("hidden_reason")
        batch_op.drop_column("hidden_at")
    with op.batch_alter_table("submission_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_keys_request_id"))
        batch_op.drop_index("ix_submission_keys_expires")
    op.drop_table("submission_keys")
