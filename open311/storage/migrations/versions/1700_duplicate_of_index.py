"""An index on service_requests.duplicate_of: reporter_count reads the duplicates of a page's rows.

Revision ID: 1700
Revises: 1600
Create Date: 2026-12-02

Every extensions=true page counts, for its rows, the requests closed as their duplicates
(`duplicate_of IN (...)`, open311.feeds.reporters). Without an index that read the whole table on each
page, whatever the page size (tests/integration/test_feed_scale.py::test_list_queries_use_indexes).
"""

from __future__ import annotations

from alembic import op

revision = "1700"
down_revision = "1600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ix_requests_duplicate_of (plain CREATE INDEX: no table copy on SQLite)."""
    op.create_index("ix_requests_duplicate_of", "service_requests", ["duplicate_of"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_requests_duplicate_of", table_name="service_requests")
