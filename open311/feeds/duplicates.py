"""GET duplicates: requests of one service near a point, open or recently closed, nearest first.

A resident's app asks before it posts; when one of these is the resident's problem, the app posts a follower
(open311.intake.followers) instead of a new request. The radius and window are the service's (catalog).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from open311.catalog.definitions import Service
from open311.config.jurisdictions import Jurisdiction
from open311.feeds.request_statements import METRES_PER_DEGREE_LAT, METRES_PER_DEGREE_LONG_AT_EQUATOR
from open311.storage.models import ServiceRequest

MAX_DUPLICATES = 20


@dataclass(frozen=True)
class Candidate:
    """One request that may be the same problem, and how far it is from the point asked about (metres)."""

    request: ServiceRequest
    distance: float


def distance_metres(lat: float, lon: float, other_lat: float, other_lon: float) -> float:
    """Great-circle distance in metres (haversine on a 6 371 km sphere)."""
    p1, p2 = math.radians(lat), math.radians(other_lat)
    dp, dl = p2 - p1, math.radians(other_lon - lon)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(a)))


def find_duplicates(session: Session, jurisdiction: Jurisdiction, service: Service, lat: float, lon: float,
                    now: datetime, limit: int = MAX_DUPLICATES) -> list[Candidate]:
    """Requests of `service` within its duplicate radius of (lat, lon): open and made within its window, or
    closed within it; never one already marked a duplicate of another. Nearest first (then newest), at most
    `limit`. The box prefilter uses the feed's place index; the exact distance is computed here."""
    rule = service.duplicate_rule
    cutoff = now - rule.window
    dlat = rule.radius / METRES_PER_DEGREE_LAT
    dlon = rule.radius / max(METRES_PER_DEGREE_LONG_AT_EQUATOR * math.cos(math.radians(lat)), 1.0)
    r = ServiceRequest
    stmt = select(r).where(
        r.jurisdiction_id == jurisdiction.id, r.service_code == service.service_code,
        r.lat.between(lat - dlat, lat + dlat), r.long.between(lon - dlon, lon + dlon),
        r.duplicate_of.is_(None),
        or_(and_(r.status == "open", r.requested_datetime >= cutoff),
            and_(r.status == "closed", r.updated_datetime >= cutoff)))
    with session.begin():
        rows = list(session.scalars(stmt))
        session.expunge_all()
    found = [Candidate(row, distance_metres(lat, lon, row.lat or 0.0, row.long or 0.0)) for row in rows]
    near = [c for c in found if c.distance <= rule.radius]
    near.sort(key=lambda c: (c.distance, -c.request.requested_datetime.timestamp(), -c.request.id))
    return near[:limit]
