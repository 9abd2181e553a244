"""A request's status history (the notes behind extensions=true), loaded for many requests at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from open311.storage.models import StatusUpdate


def updates_by_request(session: Session, request_ids: Sequence[int]) -> dict[int, list[StatusUpdate]]:
    """Every published status update of these requests (mapped status), oldest first, in one query."""
    found: dict[int, list[StatusUpdate]] = defaultdict(list)
    if not request_ids:
        return found
    stmt = (select(StatusUpdate).where(StatusUpdate.request_id.in_(list(request_ids)), StatusUpdate.status.is_not(None))
            .order_by(StatusUpdate.request_id, StatusUpdate.updated_datetime, StatusUpdate.id))
    with session.begin():
        for update in session.scalars(stmt):
            found[update.request_id].append(update)
    return found
