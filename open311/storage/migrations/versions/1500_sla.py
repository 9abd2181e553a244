"""The SLA clock: stored clock columns on service_requests, SLA events, and the outbox rows that carry them.

Revision ID: 1500
Revises: 1400
Create Date: 2026-11-24

service_requests gains sla_risk_at, sla_paused_at, sla_final and sla_notified (expected_datetime already
exists and becomes the clock's due time); sla_events records each at_risk/breached event once; outbox rows
point at one (kind "sla" to the department, kind "callback" to a subscriber).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import open311.storage.models

revision = "1500"
down_revision = "1400"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = open311.storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Add the clock columns, sla_events and the outbox link."""
    with op.batch_alter_table("service_requests") as batch:
        batch.add_column(sa.Column("sla_risk_at", WHEN, nullable=True))
        batch.add_column(sa.Column("sla_paused_at", WHEN, nullable=True))
        batch.add_column(sa.Column("sla_final", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("sla_notified", sa.String(length=16), nullable=True))
    op.create_index("ix_requests_jur_sla", "service_requests", ["jurisdiction_id", "status", "expected_datetime", "id"])
    op.create_index("ix_requests_sla_watch", "service_requests", ["status", "sla_notified", "sla_risk_at"])
    op.create_table(
        "sla_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("request_id", ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expected_datetime", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_events_request", "sla_events", ["request_id", "id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sla_event_id", ID, nullable=True))
        batch.create_foreign_key("fk_outbox_sla_event", "sla_events", ["sla_event_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    """Drop the outbox link, sla_events and the clock columns."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_sla_event", type_="foreignkey")
        batch.drop_column("sla_event_id")
    op.drop_index("ix_sla_events_request", table_name="sla_events")
    op.drop_table("sla_events")
    op.drop_index("ix_requests_sla_watch", table_name="service_requests")
    op.drop_index("ix_requests_jur_sla", table_name="service_requests")
    with op.batch_alter_table("service_requests") as batch:
        for name in ("sla_notified", "sla_final", "sla_paused_at", "sla_risk_at"):
            batch.drop_column(name)
