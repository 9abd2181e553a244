"""The spatial index of requests' points: SQLite's R*Tree (a virtual table kept by triggers); on PostgreSQL
what spatial.install makes today (since 2110 a grid-cell column in a B-tree; first a PostGIS GiST index).

Revision ID: 2100
Revises: 2010
Create Date: 2026-12-02

open311/storage/spatial.py and docs/feeds.md describe them. On PostgreSQL the generated column rewrites
service_requests once (minutes at millions of rows). A later migration that recreates service_requests on
SQLite (batch mode) must call spatial.install again: the triggers go with the old table.
"""

from __future__ import annotations

from alembic import op

from open311.storage import spatial

revision = "2100"
down_revision = "2010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create and fill the index."""
    spatial.install(op.get_bind())


def downgrade() -> None:
    """Drop it."""
    spatial.uninstall(op.get_bind())
