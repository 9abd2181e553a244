"""Feed indexes for large tables: service_code + status in feed order, and places counted from the index.

Revision ID: 1100
Revises: 1000
Create Date: 2026-11-22

A filtered feed page and its capped count (X-Total-Count) then read at most the page (or cap + 1 index
entries) whatever the table's size: ORDER BY requested_datetime, id LIMIT n walks an index in that order,
and the count reads only index entries (bench/b6_scale.py, docs/benchmarks.md B6).
"""

from __future__ import annotations

from alembic import op

revision = "1100"
down_revision = "1000"
branch_labels = None
depends_on = None


TABLE = "service_requests"


def upgrade() -> None:
    """Add (service_code, status, requested, id); give the service and place indexes their tie-breakers.

    Plain CREATE/DROP INDEX (no batch table copy on SQLite): only indexes change.
    """
    op.drop_index("ix_requests_jur_service", table_name=TABLE)
    op.drop_index("ix_requests_jur_place", table_name=TABLE)
    op.create_index("ix_requests_jur_service", TABLE, ["jurisdiction_id", "service_code", "requested_datetime", "id"])
    op.create_index("ix_requests_jur_service_status", TABLE,
                    ["jurisdiction_id", "service_code", "status", "requested_datetime", "id"])
    op.create_index("ix_requests_jur_place", TABLE, ["jurisdiction_id", "lat", "long", "requested_datetime"])


def downgrade() -> None:
    """Back to the indexes of revision 1000."""
    op.drop_index("ix_requests_jur_place", table_name=TABLE)
    op.drop_index("ix_requests_jur_service_status", table_name=TABLE)
    op.drop_index("ix_requests_jur_service", table_name=TABLE)
    op.create_index("ix_requests_jur_service", TABLE, ["jurisdiction_id", "service_code", "requested_datetime"])
    op.create_index("ix_requests_jur_place", TABLE, ["jurisdiction_id", "lat", "long"])
