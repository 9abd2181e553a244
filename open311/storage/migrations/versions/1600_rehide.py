"""Requests hidden before hiding withdrew address_string and answers: withdraw them now.

Revision ID: 1600
Revises: 1500
Create Date: 2026-12-02

Until issue 16, `open311 requests hide` moved only description and media_url into hidden_content; the
typed address (`address`) and the attribute answers stayed public. For every request hidden then, this
moves both aside as hiding does now. The migration cannot read the catalog, so it withholds every answer
(hiding today keeps list, number and date answers public): stricter, never looser, and `unhide` restores
all of them exactly. `updated_datetime` moves to now, so incremental feed readers replace their copies.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from open311.storage.column_types import UTCDateTime

revision = "1600"
down_revision = "1500"
branch_labels = None
depends_on = None

REQUESTS = sa.table("service_requests", sa.column("id", sa.BigInteger()), sa.column("address", sa.String()),
                    sa.column("attributes", sa.JSON()), sa.column("hidden_at", UTCDateTime()),
                    sa.column("hidden_content", sa.JSON()), sa.column("updated_datetime", UTCDateTime()))


def upgrade() -> None:
    """Move the address and the answers of requests hidden by an older version into hidden_content."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    rows = connection.execute(sa.select(REQUESTS.c.id, REQUESTS.c.address, REQUESTS.c.attributes,
                                        REQUESTS.c.hidden_content, REQUESTS.c.updated_datetime)
                              .where(REQUESTS.c.hidden_at.is_not(None))).all()
    for row in rows:
        kept = dict(row.hidden_content or {})
        if "address" in kept and "attributes" in kept:
            continue  # hidden by this version already
        kept.setdefault("address", row.address)
        kept.setdefault("attributes", dict(row.attributes or {}))
        connection.execute(sa.update(REQUESTS).where(REQUESTS.c.id == row.id).values(
            address=None, attributes={}, hidden_content=kept,
            updated_datetime=max(row.updated_datetime, now) if row.updated_datetime else now))


def downgrade() -> None:
    """Nothing to undo: the moved text stays in hidden_content, where `unhide` finds it."""
