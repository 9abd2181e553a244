"""The outbox: claiming due deliveries under a lease, recording each attempt's outcome, operators' views.

Claiming and recording run in the caller's transaction (they take its Connection): the relay records a batch's
outcomes and claims the next batch in one (open311.delivery.relay). Tickets are built in open311.delivery.tickets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Integer,
    Table,
    Update,
    and_,
    bindparam,
    case,
    exists,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from open311.adapter import Receipt
from open311.core.text import clean_text
from open311.settings import DeliverySettings
from open311.storage.column_types import UTCDateTime
from open311.storage.db import padded_chunks, placeholders, writing
from open311.storage.models import OutboxMessage, ServiceRequest

PENDING, IN_FLIGHT, DONE, DEAD = "pending", "in_flight", "done", "dead"
STATES = (PENDING, IN_FLIGHT, DONE, DEAD)
MAX_ERROR = 1000


@dataclass(frozen=True)
class Claimed:
    """An outbox row this relay holds the lease on; `attempts` already counts the attempt in hand."""

    id: int
    request_id: int
    department: str
    attempts: int
    kind: str = "deliver"
    subscription_id: int | None = None
    status_update_id: int | None = None
    follower_id: int | None = None
    reopen_id: int | None = None
    sla_event_id: int | None = None
    notice_id: int | None = None


_OUTBOX = cast(Table, OutboxMessage.__table__)


def _when(name: str) -> BindParameter[datetime]:
    """A bound datetime (aware; stored as UTC like every datetime column)."""
    return bindparam(name, type_=UTCDateTime())


def _in_order() -> ColumnElement[bool]:
    """A subscriber's callbacks go out one at a time and in order: a callback waits while an earlier one
    of the same subscription is still pending or in flight (so `closed` never overtakes `open`)."""
    t, earlier = _OUTBOX.c, _OUTBOX.alias("earlier").c
    return or_(t.subscription_id.is_(None), ~exists().where(
        earlier.subscription_id == t.subscription_id, earlier.id < t.id,
        or_(earlier.state == PENDING, earlier.state == IN_FLIGHT)))   # not IN (...): that is rewritten per execution


def _after_ticket() -> ColumnElement[bool]:
    """A follower (or a reopen, or an SLA event to the department) is added to a ticket the back office already
    has: its row waits until the request's own delivery is done (that row's external_id is what the addition
    names). An SLA event's callback to a subscriber does not wait."""
    t, ticket = _OUTBOX.c, _OUTBOX.alias("ticket").c
    own = and_(t.follower_id.is_(None), t.reopen_id.is_(None), or_(t.sla_event_id.is_(None), t.kind == "callback"))
    return or_(own, exists().where(
        ticket.request_id == t.request_id, ticket.kind == "deliver", ticket.state == DONE))


def _ready() -> ColumnElement[bool]:
    """Not waiting behind an earlier callback, nor (a follower) for its ticket."""
    return and_(_in_order(), _after_ticket())


def _due() -> ColumnElement[bool]:
    """Rows to claim (bound parameter `b_now`): pending and due, or leased by a relay whose lease ran out (it
    died), and not waiting behind an earlier callback."""
    t, now = _OUTBOX.c, _when("b_now")
    return and_(or_(and_(t.state == PENDING, t.next_attempt_at <= now),
                    and_(t.state == IN_FLIGHT, t.lease_expires_at < now)), _ready())


@cache
def _claim_statement(dialect: str) -> Update:
    """The claim, built once per dialect (Core, bound parameters: every claim reuses its compiled form).

    SQLite: the due pending rows and the expired leases are found by two index scans that stop at the
    batch size (ix_outbox_due is (state, next_attempt_at, rowid), already in claim order), instead of
    reading and sorting every due row on each claim, which costs in proportion to the backlog.
    PostgreSQL cannot lock rows (FOR UPDATE SKIP LOCKED) through a UNION, so it keeps the single query, as a
    CTE: a locking CTE is run once. As a plain `IN (subquery)` the planner may re-run the subquery for each
    outer row, and each run skips the rows this very UPDATE already changed, so one claim of 1 leased 20 rows
    (CI, test_delivery_figures).
    """
    t, limit = _OUTBOX.c, bindparam("b_limit", type_=Integer())
    if dialect == "postgresql":
        claimable = (select(t.id).where(_due()).order_by(t.next_attempt_at, t.id).limit(limit)
                     .with_for_update(skip_locked=True).cte("claimable"))
        ids = select(claimable.c.id).scalar_subquery()
    else:
        now = _when("b_now")
        pending = (select(t.id, t.next_attempt_at).where(t.state == PENDING, t.next_attempt_at <= now, _ready())
                   .order_by(t.next_attempt_at, t.id).limit(limit).subquery())
        expired = (select(t.id, t.next_attempt_at).where(t.state == IN_FLIGHT, t.lease_expires_at < now, _ready())
                   .order_by(t.next_attempt_at, t.id).limit(limit).subquery())
        both = union_all(select(pending.c.id, pending.c.next_attempt_at),
                         select(expired.c.id, expired.c.next_attempt_at)).subquery()
        ids = select(both.c.id).order_by(both.c.next_attempt_at, both.c.id).limit(limit).scalar_subquery()
    return (update(_OUTBOX).where(t.id.in_(ids))
            .values(state=IN_FLIGHT, leased_by=bindparam("b_worker"), lease_expires_at=_when("b_lease_until"),
                    attempts=t.attempts + 1, updated_at=_when("b_now"))
            .returning(t.id, t.request_id, t.department, t.attempts, t.kind, t.subscription_id,
                       t.status_update_id, t.follower_id, t.reopen_id, t.sla_event_id, t.notice_id))


def claim_due(connection: Connection, worker: str, settings: DeliverySettings, now: datetime,
              limit: int | None = None) -> list[Claimed]:
    """Lease up to `limit` due rows to `worker` in one statement; each claim counts as an attempt.

    PostgreSQL: the candidate rows are locked with FOR UPDATE SKIP LOCKED, so concurrent relays never
    wait for or take each other's rows. SQLite: one UPDATE ... RETURNING, atomic under its write lock.
    Runs in the caller's transaction (storage.db.writing), which commits the leases.
    """
    stmt = _claim_statement(connection.dialect.name)
    params = {"b_now": now, "b_worker": worker, "b_lease_until": now + timedelta(seconds=settings.lease),
              "b_limit": limit or settings.batch}
    rows = connection.execute(stmt, params).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def _outcome(**values: object) -> Update:
    """An update of one claimed row (bound parameters `b_id`, `b_worker`, `b_now`), only while the worker still
    holds its lease (a reclaimed row belongs to another relay); the lease is cleared."""
    t = _OUTBOX.c
    return (update(_OUTBOX).where(t.id == bindparam("b_id"), t.state == IN_FLIGHT, t.leased_by == bindparam("b_worker"))
            .values(lease_expires_at=None, leased_by=None, updated_at=_when("b_now"), **values))


# Built once: each outcome reuses its compiled statement.
_DONE = _outcome(state=DONE, external_id=bindparam("b_external_id"), last_error=None)
_RETRY = _outcome(state=PENDING, last_error=bindparam("b_error"), next_attempt_at=_when("b_next_attempt_at"))
_DEAD = _outcome(state=DEAD, last_error=bindparam("b_error"))
_RELEASE = _outcome(state=PENDING, attempts=_OUTBOX.c.attempts - 1)


def _set(connection: Connection, stmt: Update, claimed: Claimed, worker: str, now: datetime,
         **params: object) -> bool:
    """Run an outcome statement for a claimed row; True when it updated it."""
    result = connection.execute(stmt, {"b_id": claimed.id, "b_worker": worker, "b_now": now, **params})
    return bool(getattr(result, "rowcount", 0))


@cache
def _done_many(size: int) -> Update:
    """Mark `size` claimed rows done in one statement (each with its own external id), returning the ids
    of those whose lease this worker still held."""
    t = _OUTBOX.c
    ids = placeholders(size)
    external = case(*((t.id == ids[i], bindparam(f"b_external_id{i}")) for i in range(size)), else_=t.external_id)
    return (update(_OUTBOX).where(t.id.in_(ids), t.state == IN_FLIGHT, t.leased_by == bindparam("b_worker"))
            .values(state=DONE, external_id=external, last_error=None, lease_expires_at=None, leased_by=None,
                    updated_at=_when("b_now"))
            .returning(t.id))


def record_delivered_many(connection: Connection, delivered: Sequence[tuple[Claimed, Receipt]], worker: str,
                          now: datetime) -> set[int]:
    """Mark rows done with their back-office ids, one statement per padded chunk; return the ids recorded.

    A row whose lease another relay took is left to that relay (and not returned).
    """
    kept: set[int] = set()
    for size, chunk in padded_chunks(delivered):
        params: dict[str, object] = {"b_worker": worker, "b_now": now}
        for i, (claimed, receipt) in enumerate(chunk):
            params[f"b_id{i}"] = claimed.id
            params[f"b_external_id{i}"] = clean_text(receipt.external_id, 200)
        kept.update(connection.execute(_done_many(size), params).scalars())
    return kept


def backoff_delay(attempts: int, settings: DeliverySettings, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff in seconds, at least the back office's Retry-After (both capped)."""
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** min(max(attempts - 1, 0), 60))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_cap))
    return delay


def record_failure(connection: Connection, claimed: Claimed, worker: str, message: str, *, permanent: bool,
                   settings: DeliverySettings, now: datetime, rng: random.Random,
                   retry_after: float | None = None) -> str:
    """Schedule the next attempt, or dead-letter (permanent error or attempts used up); return the new state."""
    error = clean_text(message, MAX_ERROR) or "unknown error"
    if permanent or claimed.attempts >= settings.max_attempts:
        if not permanent:
            error = f"gave up after {claimed.attempts} attempts: {error}"[:MAX_ERROR]
        _set(connection, _DEAD, claimed, worker, now, b_error=error)
        return DEAD
    delay = backoff_delay(claimed.attempts, settings, rng, retry_after)
    _set(connection, _RETRY, claimed, worker, now, b_error=error,
         b_next_attempt_at=now + timedelta(seconds=delay))
    return PENDING


def release(connection: Connection, claimed: Sequence[Claimed], worker: str, now: datetime) -> int:
    """Give back rows claimed but not attempted (shutdown): due again at once, the attempt uncounted."""
    return sum(_set(connection, _RELEASE, item, worker, now) for item in claimed)


@dataclass(frozen=True)
class OutboxEntry:
    """One row as operators see it."""

    message: OutboxMessage
    jurisdiction_id: str
    service_code: str


def list_messages(session: Session, *, states: Sequence[str] = (), department: str | None = None,
                  jurisdiction_id: str | None = None, limit: int = 100) -> list[OutboxEntry]:
    """Outbox rows, oldest first, filtered by state, department and jurisdiction."""
    stmt = (select(OutboxMessage, ServiceRequest.jurisdiction_id, ServiceRequest.service_code)
            .join(ServiceRequest, ServiceRequest.id == OutboxMessage.request_id).order_by(OutboxMessage.id)
            .limit(limit))
    if states:
        stmt = stmt.where(OutboxMessage.state.in_(states))
    if department:
        stmt = stmt.where(OutboxMessage.department == department)
    if jurisdiction_id:
        stmt = stmt.where(ServiceRequest.jurisdiction_id == jurisdiction_id)
    with session.begin():
        return [OutboxEntry(*row) for row in session.execute(stmt).all()]


def requeue_dead(session: Session, now: datetime, *, ids: Sequence[int] = (), department: str | None = None,
                 jurisdiction_id: str | None = None) -> int:
    """Put dead letters back in the queue, due now with a fresh attempt count; return how many."""
    stmt = update(OutboxMessage).where(OutboxMessage.state == DEAD)
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    if department:
        stmt = stmt.where(OutboxMessage.department == department)
    if jurisdiction_id:
        stmt = stmt.where(OutboxMessage.request_id.in_(
            select(ServiceRequest.id).where(ServiceRequest.jurisdiction_id == jurisdiction_id)))
    stmt = stmt.values(state=PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None, leased_by=None,
                       updated_at=now)
    with writing(session) as connection:
        result = connection.execute(stmt)
    return int(getattr(result, "rowcount", 0))
