"""How many residents reported each request: 1 + its followers + the requests closed as its duplicates
(extended_attributes.reporter_count). A duplicate's followers moved to the survivor when it was closed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from open311.storage.models import RequestFollower, ServiceRequest


def reporter_counts(session: Session, request_ids: Sequence[int]) -> dict[int, int]:
    """1 + the followers of each request + the requests merged into it as duplicates, in two queries (only
    counts: nothing of a follower or of a duplicate's submitter)."""
    counts = dict.fromkeys(request_ids, 1)
    if not request_ids:
        return counts
    f = RequestFollower
    stmt = select(f.request_id, func.count()).where(f.request_id.in_(sorted(set(request_ids)))).group_by(f.request_id)
    r = ServiceRequest
    merged = (select(r.duplicate_of, func.count()).where(r.duplicate_of.in_(sorted(set(request_ids))))
              .group_by(r.duplicate_of))
    with session.begin():
        for request_id, followers in session.execute(stmt):
            counts[request_id] += int(followers)
        for survivor, duplicates in session.execute(merged):
            if survivor is not None:
                counts[int(survivor)] += int(duplicates)
    return counts
