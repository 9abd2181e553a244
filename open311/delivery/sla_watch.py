"""The SLA watcher: notices open clocks that entered at_risk or breached with the passing of time, records
each such event once and queues its deliveries (the department's addition, the subscribers' callbacks).

The stored clock (open311.feeds.sla) changes only with a status change; time alone moves a request from
on_track to at_risk to breached, so a loop (the sync's, or `open311 sla`) looks for the clocks it has passed.
Each event is claimed by a compare-and-set of service_requests.sla_notified (an UPDATE whose WHERE holds the
whole condition): of two watchers running at once, on PostgreSQL or SQLite, exactly one changes the row and
records the event, its sla_events row and its outbox rows in that same transaction.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Connection, Table, and_, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from open311.delivery.tickets import SLA_KIND
from open311.feeds.subscriptions import CALLBACK_DEPARTMENT, CALLBACK_KIND, matching_subscriptions
from open311.services import Services
from open311.storage.db import reading, writing
from open311.storage.models import OutboxMessage, ServiceRequest, SlaEvent

log = logging.getLogger(__name__)

AT_RISK, BREACHED = "at_risk", "breached"
BATCH = 200                      # requests examined per state and pass

_REQUESTS = cast(Table, ServiceRequest.__table__)
_EVENTS = cast(Table, SlaEvent.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)


@dataclass
class WatchResult:
    """What one pass of the watcher recorded."""

    at_risk: int = 0
    breached: int = 0
    callbacks: int = 0
    department: int = 0

    @property
    def events(self) -> int:
        """Events recorded in this pass."""
        return self.at_risk + self.breached


def _entered(state: str, now: datetime) -> ColumnElement[bool]:
    """Open, running (not paused) clocks that reached `state` at `now` and were not yet told of it.

    `sla_risk_at <= now` leads both conditions, so both scan ix_requests_sla_watch (status, sla_notified,
    sla_risk_at). A clock already past due gets only its breached event (at_risk is skipped, not sent late).
    """
    c = _REQUESTS.c
    running = and_(c.status == "open", c.sla_final.is_(None), c.sla_paused_at.is_(None),
                   c.expected_datetime.is_not(None), c.sla_risk_at.is_not(None), c.sla_risk_at <= now)
    if state == BREACHED:
        return and_(running, c.expected_datetime <= now, or_(c.sla_notified.is_(None), c.sla_notified == AT_RISK))
    return and_(running, c.expected_datetime > now, c.sla_notified.is_(None))


def _candidates(gateway: Services, state: str, now: datetime) -> list[int]:
    """Ids of requests that look due for `state` (each is claimed by its own compare-and-set)."""
    stmt = select(_REQUESTS.c.id).where(_entered(state, now)).order_by(_REQUESTS.c.id).limit(BATCH)
    with gateway.session() as session, reading(session, single=True) as connection:
        return [int(i) for i in connection.execute(stmt).scalars()]


def _record(gateway: Services, connection: Connection, request_id: int, state: str, now: datetime,
            result: WatchResult) -> bool:
    """In the caller's transaction: claim the event by compare-and-set, then store it and its outbox rows."""
    c = _REQUESTS.c
    claimed = connection.execute(
        update(_REQUESTS).where(c.id == request_id, _entered(state, now)).values(sla_notified=state)
        .returning(c.jurisdiction_id, c.service_code, c.api_key_id, c.department, c.expected_datetime)).first()
    if claimed is None:           # another watcher told it first, or the clock changed meanwhile
        return False
    jurisdiction_id, service_code, api_key_id, department, expected = claimed
    event_id = connection.execute(insert(_EVENTS).values(request_id=request_id, state=state,
                                                         expected_datetime=expected, created_at=now)
                                  .returning(_EVENTS.c.id)).scalar_one()
    row = {"request_id": request_id, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
           "updated_at": now, "sla_event_id": event_id}
    adapter = gateway.adapters.get((jurisdiction_id, department))
    if adapter is not None and adapter.takes_sla_events:
        connection.execute(insert(_OUTBOX).values(kind=SLA_KIND, department=department, **row))
        result.department += 1
    subscriptions = connection.execute(matching_subscriptions(jurisdiction_id, service_code, api_key_id)).scalars()
    for subscription_id in subscriptions.all():
        connection.execute(insert(_OUTBOX).values(kind=CALLBACK_KIND, department=CALLBACK_DEPARTMENT,
                                                  subscription_id=subscription_id, **row))
        result.callbacks += 1
    log.info("request %d: SLA %s (event %d)", request_id, state, event_id,
             extra={"event": "sla", "sla_state": state})
    return True


def watch_sla(gateway: Services) -> WatchResult:
    """One pass at the gateway's clock: record every at_risk and breached event now due, once each."""
    now = gateway.clock()
    result = WatchResult()
    for state in (BREACHED, AT_RISK):
        while True:
            ids = _candidates(gateway, state, now)
            recorded = 0
            for request_id in ids:
                with gateway.session() as session, writing(session) as connection:
                    recorded += _record(gateway, connection, request_id, state, now, result)
            if state == BREACHED:
                result.breached += recorded
            else:
                result.at_risk += recorded
            if len(ids) < BATCH or not recorded:
                break
    return result


def run_watch(gateway: Services, interval: float, stop: threading.Event, *, once: bool = False) -> int:
    """Watch every `interval` seconds until stopped (once with `once`); return the number of events."""
    events = 0
    while not stop.is_set():
        try:
            events += watch_sla(gateway).events
        except SQLAlchemyError as exc:  # the database is unavailable: the clocks wait for the next pass
            if once:
                raise
            log.error("sla watcher: database error, retrying next pass: %s", type(exc).__name__)
        if once:
            break
        stop.wait(interval)
    return events
