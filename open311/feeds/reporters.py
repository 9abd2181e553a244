"""How many residents reported each request: 1 + its followers (extended_attributes.reporter_count)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from open311.storage.models import RequestFollower


def reporter_counts(session: Session, request_ids: Sequence[int]) -> dict[int, int]:
    """1 + the number of followers of each request, in one query (only the count: nothing of a follower)."""
    counts = dict.fromkeys(request_ids, 1)
    if not request_ids:
        return counts
    f = RequestFollower
    stmt = select(f.request_id, func.count()).where(f.request_id.in_(sorted(set(request_ids)))).group_by(f.request_id)
    with session.begin():
        for request_id, followers in session.execute(stmt):
            counts[request_id] = 1 + int(followers)
    return counts
