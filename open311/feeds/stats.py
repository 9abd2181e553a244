"""GET stats as a use case: per department and service, requests received and closed, on time, hours to close.

Counted in SQL by GROUP BY over service_requests (no personal data lives there, and none is read); the
median is taken per group from the closed requests' durations, which are the only rows read back.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.storage.db import reading
from open311.storage.models import ServiceRequest

DEFAULT_DAYS, MAX_DAYS = 30, 366
_R = ServiceRequest


@dataclass(frozen=True)
class Figures:
    """One department's service over the window."""

    department: str
    service_code: str
    service_name: str
    received: int
    closed: int
    closed_on_time: int
    with_clock: int               # closed requests that had an SLA clock (the on-time percentage's base)
    median_hours_to_close: float | None

    @property
    def on_time_percent(self) -> float | None:
        """Share of closed requests (with a clock) closed on time, in percent to one decimal."""
        return round(100.0 * self.closed_on_time / self.with_clock, 1) if self.with_clock else None


def performance(session: Session, jurisdiction: Jurisdiction, now: datetime, days: int = DEFAULT_DAYS,
                department: str | None = None, service_code: str | None = None) -> list[Figures]:
    """Requests made in the last `days` days (up to `now`), by department and service, in code order."""
    since = now - timedelta(days=days)
    where = [_R.jurisdiction_id == jurisdiction.id, _R.requested_datetime > since, _R.requested_datetime <= now]
    if department:
        where.append(_R.department == department)
    if service_code:
        where.append(_R.service_code == service_code)
    closed = _R.status == "closed"
    counts = (select(_R.department, _R.service_code, func.count(),
                     func.sum(case((closed, 1), else_=0)),
                     func.sum(case((_R.sla_final == "met", 1), else_=0)),
                     func.sum(case((_R.sla_final.is_not(None), 1), else_=0)))
              .where(*where).group_by(_R.department, _R.service_code).order_by(_R.department, _R.service_code))
    spans = select(_R.department, _R.service_code, _R.requested_datetime, _R.updated_datetime).where(*where, closed)
    with reading(session) as connection:
        rows = connection.execute(counts).all()
        durations: dict[tuple[str, str], list[float]] = {}
        for dept, code, made, done in connection.execute(spans):
            durations.setdefault((dept, code), []).append((done - made).total_seconds() / 3600)
    found = []
    for dept, code, received, n_closed, met, with_clock in rows:
        service = jurisdiction.catalog.get(code)
        hours = durations.get((dept, code))
        found.append(Figures(dept, code, service.service_name if service else code, int(received), int(n_closed or 0),
                             int(met or 0), int(with_clock or 0),
                             round(statistics.median(hours), 1) if hours else None))
    return found
