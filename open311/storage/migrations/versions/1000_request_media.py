"""Request media: the photos stored for a request and the links it was given, in order.

Revision ID: 1000
Revises: 0900
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1000"
down_revision = "0900"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create request_media (requests stored before it keep their single media_url column, which outputs read)."""
    op.create_table(
        "request_media",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("content_type", sa.String(length=50), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("request_id", "position", name="uq_request_media_position"),
    )


def downgrade() -> None:
    """Drop it (stored files stay in the media store)."""
    op.drop_table("request_media")
