"""Synced GIS layers: every version pulled from ArcGIS REST (area_layer_versions) and the one each layer routes
by (area_layer_live).

Revision ID: 2000
Revises: 1900
Create Date: 2026-12-02

docs/gis.md describes them. They hold public boundary data only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "2000"
down_revision = "1900"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = open311.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "area_layer_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("layer", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=2000), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("fetched_at", WHEN, nullable=False),
        sa.Column("checked_at", WHEN, nullable=False),
        sa.Column("approved_at", WHEN, nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_area_layer_versions_layer", "area_layer_versions", ["jurisdiction_id", "layer", "id"])
    op.create_table(
        "area_layer_live",
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("layer", sa.String(length=100), nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("changed_at", WHEN, nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["area_layer_versions.id"]),
        sa.PrimaryKeyConstraint("jurisdiction_id", "layer"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("area_layer_live")
    op.drop_index("ix_area_layer_versions_layer", table_name="area_layer_versions")
    op.drop_table("area_layer_versions")
