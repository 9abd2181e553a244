"""The milestones residents hear about, and queuing each notice once per recipient (in the caller's transaction).

Milestones only: received (with the status link), assigned or scheduled, closed with its reason, reopened. A
notice is unique per recipient and milestone occurrence (`milestone_key`): `received`, `assigned`,
`closed:<reopens so far>` (a request closed again after a reopen is a new closure), `reopened:<reopen id>`,
each with the request's id after the milestone's name (`closed:<id>:<reopens>`).
The unique constraint makes a repeat a no-op, so a status update recorded twice never queues twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, and_, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from open311.core.closure import REOPEN_SOURCE
from open311.storage.column_types import UTCDateTime
from open311.storage.models import Notice, NoticeRecipient, OutboxMessage, RequestReopen, StatusUpdate

RECEIVED, ASSIGNED, CLOSED, REOPENED = "received", "assigned", "closed", "reopened"
MILESTONES = (RECEIVED, ASSIGNED, CLOSED, REOPENED)
NOTICE_KIND = "notice"
NOTICE_DEPARTMENT = "-notices"   # outbox rows of notices are no department's deliveries
# Back-office statuses (any case) that mean "assigned or scheduled" when they reach the public record.
ASSIGNED_STATUSES = frozenset({"assigned", "scheduled", "dispatched"})
_NOTICES, _RECIPIENTS = cast(Table, Notice.__table__), cast(Table, NoticeRecipient.__table__)


def milestone_of(update: StatusUpdate, previous_status: str | None) -> str | None:
    """The milestone an applied status update reaches, if any."""
    if update.source == REOPEN_SOURCE:
        return REOPENED
    if update.status == "closed" and previous_status != "closed":
        return CLOSED
    if update.status == "open" and (update.external_status or "").casefold() in ASSIGNED_STATUSES:
        return ASSIGNED
    return None


def milestone_key(connection: Connection, milestone: str, request_id: int, update: StatusUpdate | None) -> str:
    """The occurrence of a milestone a notice is unique for (per request: a duplicate's recipients follow the
    surviving request, whose closure is another milestone than the duplicate's)."""
    if milestone == CLOSED:
        reopens = connection.execute(select(func.count()).select_from(RequestReopen)
                                     .where(RequestReopen.request_id == request_id)).scalar_one()
        return f"{CLOSED}:{request_id}:{reopens}"
    if milestone == REOPENED and update is not None:
        return f"{REOPENED}:{request_id}:{update.id}"
    return f"{milestone}:{request_id}"


def _insert_once(connection: Connection) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on the notices' unique key, in the connection's dialect."""
    make = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return make(_NOTICES).on_conflict_do_nothing(index_elements=["recipient_id", "milestone_key"])


def queue_notices(connection: Connection, request_id: int, milestone: str, now: datetime, *,
                  update: StatusUpdate | None = None, recipient_id: int | None = None) -> int:
    """Queue the milestone's notice for every subscribed recipient of the request (or only `recipient_id`), each
    once, with its outbox row; return how many were queued."""
    key = milestone_key(connection, milestone, request_id, update)
    r = _RECIPIENTS.c
    chosen = select(r.id, r.request_id, literal(milestone), literal(key),
                    literal(update.id if update is not None else None),
                    literal(now, UTCDateTime())).where(
        r.request_id == request_id, r.unsubscribed_at.is_(None),
        *([r.id == recipient_id] if recipient_id is not None else []))
    statement = _insert_once(connection).from_select(
        ["recipient_id", "request_id", "milestone", "milestone_key", "status_update_id", "created_at"], chosen)
    created = connection.execute(statement.returning(_NOTICES.c.id)).scalars().all()
    for notice_id in created:
        connection.execute(insert(OutboxMessage).values(
            request_id=request_id, kind=NOTICE_KIND, department=NOTICE_DEPARTMENT, state="pending", attempts=0,
            notice_id=notice_id, next_attempt_at=now, created_at=now, updated_at=now))
    return len(created)


def follow_recipients(connection: Connection, duplicate_id: int, survivor_id: int) -> None:
    """A request closed as a duplicate: its recipients hear about the surviving request from now on."""
    connection.execute(update(NoticeRecipient).where(NoticeRecipient.request_id == duplicate_id)
                       .values(request_id=survivor_id), execution_options={"synchronize_session": False})


def sent(connection: Connection, notice_id: int, now: datetime) -> None:
    """Mark a notice sent (with its outbox row, right after the notifier returned)."""
    connection.execute(update(Notice).where(and_(Notice.id == notice_id, Notice.sent_at.is_(None)))
                       .values(sent_at=now))
