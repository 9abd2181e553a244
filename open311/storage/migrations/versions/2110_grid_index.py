"""PostgreSQL's spatial index becomes a grid: a generated `place_cell` column and a B-tree on (jurisdiction_id,
place_cell, requested_datetime), in place of PostGIS's geometry column and its n-dimensional GiST index.

Revision ID: 2110
Revises: 2100
Create Date: 2026-12-07

At a million requests the GiST index visited about 190 pages for the 17 points of one slab of a box; the grid
reads the slab's points of the box's cells (open311/storage/spatial.py, docs/benchmarks.md B6). The generated
column rewrites service_requests once (minutes at millions of rows). Nothing changes on SQLite. The PostGIS
extension itself stays (other schemas may use it); the gateway no longer needs it.
"""

from __future__ import annotations

from alembic import op

from open311.storage import spatial

revision = "2110"
down_revision = "2100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the GiST index and its column when there, add the grid."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        spatial.install(connection)


def downgrade() -> None:
    """Drop the grid: the feed reads boxes through the B-tree until upgraded again."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        spatial.uninstall(connection)
