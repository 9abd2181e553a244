"""delivery and status sync: department keys, sync cursors, complete status updates

Revision ID: 0500
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "0500"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=64), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_department_external", ["department", "external_id"], unique=False)
    op.create_table(
        "sync_cursors",
        sa.Column("jurisdiction_id", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("high_water", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", open311.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jurisdiction_id", "department"),
    )
    # Existing updates take their jurisdiction from their request.
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jurisdiction_id", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("media_url", sa.String(length=2000), nullable=True))
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=True)
    op.execute("UPDATE status_updates SET jurisdiction_id = (SELECT jurisdiction_id FROM service_requests "
               "WHERE service_requests.id = status_updates.request_id)")
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.alter_column("jurisdiction_id", existing_type=sa.String(length=100), server_default=None)
        batch_op.drop_constraint("uq_status_updates_department_update", type_="unique")
        batch_op.create_unique_constraint("uq_status_updates_department_update",
                                          ["jurisdiction_id", "department", "update_id"])
        batch_op.create_index("ix_status_updates_jur_updated", ["jurisdiction_id", "updated_datetime", "id"],
                              unique=False)


def downgrade() -> None:
    """Revert this revision (updates whose status was unmapped are dropped: the old schema needs one)."""
    op.execute("DELETE FROM status_updates WHERE status IS NULL")
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_status_updates_jur_updated")
        batch_op.drop_constraint("uq_status_updates_department_update", type_="unique")
        batch_op.create_unique_constraint("uq_status_updates_department_update", ["department", "update_id"])
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("media_url")
        batch_op.drop_column("jurisdiction_id")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_department_external")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("department")
