"""The staff work queue: accounts, server-side sessions, the audit log, internal notes, assignments, update photos.

Revision ID: 1800
Revises: 1700
Create Date: 2026-12-02

docs/staff.md describes them. staff_audit has no foreign key to service_requests: the log outlives a purge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "1800"
down_revision = "1700"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = open311.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Create the six tables."""
    op.create_table(
        "update_media",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_update_media_request_id", "update_media", ["request_id"])
    op.create_table(
        "staff_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("setup_hash", sa.String(length=64), nullable=True),
        sa.Column("setup_expires_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_staff_accounts_email"),
        sa.UniqueConstraint("setup_hash"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", ID, nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_staff_sessions_staff", "staff_sessions", ["staff_id"])
    op.create_table(
        "staff_audit",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("staff_id", ID, nullable=True),
        sa.Column("subject", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("request_id", ID, nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_audit_request", "staff_audit", ["request_id", "id"])
    op.create_index("ix_staff_audit_staff", "staff_audit", ["staff_id", "id"])
    op.create_index("ix_staff_audit_action_at", "staff_audit", ["action", "at"])
    op.create_table(
        "staff_notes",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_notes_request", "staff_notes", ["request_id", "id"])
    op.create_table(
        "staff_assignments",
        sa.Column("request_id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column("assigned_by", ID, nullable=False),
        sa.Column("assigned_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"]),
        sa.ForeignKeyConstraint(["assigned_by"], ["staff_accounts.id"]),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_staff_assignments_staff", "staff_assignments", ["staff_id"])


def downgrade() -> None:
    """Drop them."""
    for table in ("staff_assignments", "staff_notes", "staff_audit", "staff_sessions", "staff_accounts",
                  "update_media"):
        op.drop_table(table)
