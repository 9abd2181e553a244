"""The SLA clock of stored requests: recomputed from the status history on every status change, and read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.business_time import Calendar, around_the_clock
from open311.core.sla_clock import ClockState, Step, clock_of, state_of
from open311.storage.models import ServiceRequest, StatusUpdate


def calendar_of(jurisdiction: Jurisdiction) -> Calendar:
    """The jurisdiction's business calendar, or calendar time in its zone when it configures none."""
    return jurisdiction.calendar or around_the_clock(jurisdiction.timezone)


def recompute_clock(session: Session, jurisdiction: Jurisdiction, request_id: int, now: datetime) -> None:
    """Inside the transaction of a status change: store the request's clock as its whole history gives it.

    A close clears sla_notified, so the clock a reopen starts sends its own at_risk and breached events.
    """
    request = session.get(ServiceRequest, request_id)
    if request is None:
        return
    service = jurisdiction.catalog.get(request.service_code)
    department = jurisdiction.departments.get(request.department)
    if service is None or not service.expected_text or department is None:
        return
    history = session.execute(select(StatusUpdate.updated_datetime, StatusUpdate.status, StatusUpdate.external_status)
                              .where(StatusUpdate.request_id == request_id, StatusUpdate.applied.is_(True),
                                     StatusUpdate.status.is_not(None))
                              .order_by(StatusUpdate.updated_datetime, StatusUpdate.id)).all()
    steps = [Step(at, status or "open", department.is_paused(external)) for at, status, external in history]
    clock = clock_of(calendar_of(jurisdiction), service.expected_text, request.requested_datetime, steps, now)
    values: dict[str, Any] = {"expected_datetime": clock.expected, "sla_risk_at": clock.risk_at,
                              "sla_paused_at": clock.paused_at, "sla_final": clock.final}
    if clock.final is not None:
        values["sla_notified"] = None
    session.execute(update(ServiceRequest).where(ServiceRequest.id == request_id).values(**values),
                    execution_options={"synchronize_session": False})


def sla_state(row: Any, now: datetime) -> str | None:
    """A request's sla_state from its stored clock (a feed row or a ServiceRequest); None without a clock."""
    if row.expected_datetime is None or row.sla_risk_at is None:
        return None
    if row.status == "closed" and row.sla_final is None:
        return None
    return state_of(ClockState(row.expected_datetime, row.sla_risk_at, row.sla_paused_at, row.sla_final), now)
