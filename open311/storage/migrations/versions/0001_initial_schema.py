"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", open311.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_table(
        "catalog_versions",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("first_seen", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    op.create_table(
        "service_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("service_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("agency_responsible", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("service_notice", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("address_id", sa.String(length=100), nullable=True),
        sa.Column("zipcode", sa.String(length=20), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("media_url", sa.String(length=2000), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("requested_datetime", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_datetime", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expected_datetime", open311.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_requests_jur_requested", ["jurisdiction_id", "requested_datetime", "id"], unique=False
        )
        batch_op.create_index(
            "ix_requests_jur_service", ["jurisdiction_id", "service_code", "requested_datetime"], unique=False
        )
        batch_op.create_index("ix_requests_jur_updated", ["jurisdiction_id", "updated_datetime", "id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", open311.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_contacts",
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("device_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "status_updates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_status", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_datetime", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department", "update_id", name="uq_status_updates_department_update"),
    )
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.create_index("ix_status_updates_request", ["request_id", "updated_datetime"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_status_updates_request")

    op.drop_table("status_updates")
    op.drop_table("request_contacts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_request_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_jur_updated")
        batch_op.drop_index("ix_requests_jur_service")
        batch_op.drop_index("ix_requests_jur_requested")

    op.drop_table("service_requests")
    op.drop_table("catalog_versions")
    op.drop_table("api_keys")
