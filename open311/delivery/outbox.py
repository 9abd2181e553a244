"""The outbox: claiming due deliveries under a lease, building tickets, recording each attempt's outcome."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
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

from open311.adapter import Contact, Receipt, Ticket
from open311.config.jurisdictions import GatewayConfig
from open311.core.dates import format_w3c
from open311.core.text import clean_text
from open311.media.store import MediaStore
from open311.media.uploads import public_urls, ticket_photos
from open311.settings import DeliverySettings
from open311.storage.models import OutboxMessage, RequestContact, RequestMedia, ServiceRequest, UTCDateTime

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


class Undeliverable(Exception):
    """The row cannot become a ticket (its jurisdiction, department or service is no longer configured)."""


@contextmanager
def _transaction(session: Session) -> Iterator[None]:
    """Join the session's open transaction (the relay records a batch's outcomes and its next claim in
    one), or run in a new one committed at the end of the block."""
    if session.in_transaction():
        yield
        return
    with session.begin():
        yield


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


def _due() -> ColumnElement[bool]:
    """Rows to claim (bound parameter `b_now`): pending and due, or leased by a relay whose lease ran out (it
    died), and not waiting behind an earlier callback."""
    t, now = _OUTBOX.c, _when("b_now")
    return and_(or_(and_(t.state == PENDING, t.next_attempt_at <= now),
                    and_(t.state == IN_FLIGHT, t.lease_expires_at < now)), _in_order())


@cache
def _claim_statement(dialect: str) -> Update:
    """The claim, built once per dialect (Core, bound parameters: every claim reuses its compiled form).

    SQLite: the due pending rows and the expired leases are found by two index scans that stop at the
    batch size (ix_outbox_due is (state, next_attempt_at, rowid), already in claim order), instead of
    reading and sorting every due row on each claim, which costs in proportion to the backlog.
    PostgreSQL cannot lock rows (FOR UPDATE SKIP LOCKED) through a UNION, so it keeps the single query.
    """
    t, limit = _OUTBOX.c, bindparam("b_limit", type_=Integer())
    if dialect == "postgresql":
        ids = (select(t.id).where(_due()).order_by(t.next_attempt_at, t.id).limit(limit)
               .with_for_update(skip_locked=True).scalar_subquery())
    else:
        now = _when("b_now")
        pending = (select(t.id, t.next_attempt_at).where(t.state == PENDING, t.next_attempt_at <= now, _in_order())
                   .order_by(t.next_attempt_at, t.id).limit(limit).subquery())
        expired = (select(t.id, t.next_attempt_at).where(t.state == IN_FLIGHT, t.lease_expires_at < now, _in_order())
                   .order_by(t.next_attempt_at, t.id).limit(limit).subquery())
        both = union_all(select(pending.c.id, pending.c.next_attempt_at),
                         select(expired.c.id, expired.c.next_attempt_at)).subquery()
        ids = select(both.c.id).order_by(both.c.next_attempt_at, both.c.id).limit(limit).scalar_subquery()
    return (update(_OUTBOX).where(t.id.in_(ids))
            .values(state=IN_FLIGHT, leased_by=bindparam("b_worker"), lease_expires_at=_when("b_lease_until"),
                    attempts=t.attempts + 1, updated_at=_when("b_now"))
            .returning(t.id, t.request_id, t.department, t.attempts, t.kind, t.subscription_id,
                       t.status_update_id))


def claim_due(session: Session, worker: str, settings: DeliverySettings, now: datetime,
              limit: int | None = None) -> list[Claimed]:
    """Lease up to `limit` due rows to `worker` in one statement; each claim counts as an attempt.

    PostgreSQL: the candidate rows are locked with FOR UPDATE SKIP LOCKED, so concurrent relays never
    wait for or take each other's rows. SQLite: one UPDATE ... RETURNING, atomic under its write lock.
    Runs in the session's open transaction when there is one, else in its own.
    """
    stmt = _claim_statement(session.get_bind().dialect.name)
    params = {"b_now": now, "b_worker": worker, "b_lease_until": now + timedelta(seconds=settings.lease),
              "b_limit": limit or settings.batch}
    with _transaction(session):
        rows = session.execute(stmt, params).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def build_ticket(session: Session, config: GatewayConfig, claimed: Claimed, media: MediaStore | None = None) -> Ticket:
    """The ticket for a claimed row; contact data only when the department's contact_policy is full.

    Its photos read their bytes from `media` (the gateway's store) when an adapter asks for them.
    """
    ticket = build_tickets(session, config, [claimed], media)[claimed.id]
    if isinstance(ticket, Undeliverable):
        raise ticket
    return ticket


_REQUESTS = cast(Table, ServiceRequest.__table__)
_CONTACTS = cast(Table, RequestContact.__table__)
_MEDIA = cast(Table, RequestMedia.__table__)
_TICKET_COLUMNS = ("id", "jurisdiction_id", "service_code", "service_name", "description", "requested_datetime",
                   "lat", "long", "address", "address_id", "zipcode", "attributes", "agency_responsible",
                   "service_notice", "expected_datetime", "hidden_at", "media_url")
_CHUNK = 256    # ids per query at most


def _ids_in(column: ColumnElement[Any], size: int) -> ColumnElement[bool]:
    """`column IN (:b_id0, ... :b_id<size-1>)`: plain placeholders, so the compiled statement is reused as it
    is (an expanding IN is rewritten on every execution, which costs more than the query here)."""
    return column.in_([bindparam(f"b_id{i}") for i in range(size)])


@cache
def _rows_of(what: str, size: int) -> Select[Any]:
    """The Core query (rows, not ORM objects) reading one part of `size` tickets, built once per size."""
    if what == "requests":
        return select(*(_REQUESTS.c[name] for name in _TICKET_COLUMNS)).where(_ids_in(_REQUESTS.c.id, size))
    if what == "contacts":
        c = _CONTACTS.c
        return select(c.request_id, c.first_name, c.last_name, c.email, c.phone).where(_ids_in(c.request_id, size))
    m = _MEDIA.c
    return (select(m.request_id, m.url, m.name, m.content_type, m.size, m.width, m.height, m.sha256)
            .where(_ids_in(m.request_id, size)).order_by(m.request_id, m.position))


def _read(session: Session, what: str, ids: Sequence[int]) -> list[Any]:
    """Rows of one part for these request ids (sizes rounded up to a power of two, so few statements exist)."""
    rows: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        size = 1 << (len(chunk) - 1).bit_length()
        chunk += chunk[-1:] * (size - len(chunk))
        rows += session.execute(_rows_of(what, size), {f"b_id{i}": v for i, v in enumerate(chunk)}).all()
    return rows


def build_tickets(session: Session, config: GatewayConfig, claimed: Sequence[Claimed],
                  media: MediaStore | None = None) -> dict[int, Ticket | Undeliverable]:
    """The tickets of claimed rows by outbox id, read with three queries for a batch (in the session's open
    transaction, if any); a row that cannot become a ticket maps to its Undeliverable error. Contact data
    is read only for departments whose contact_policy is full."""
    if not claimed:
        return {}
    with _transaction(session):
        rows = {row.id: row for row in _read(session, "requests", sorted({c.request_id for c in claimed}))}
        full = sorted({c.request_id for c in claimed if c.request_id in rows
                       and _department(config, rows[c.request_id].jurisdiction_id, c.department) == "full"})
        contacts = {row.request_id: row for row in _read(session, "contacts", full)}
        items: dict[int, list[Any]] = {}
        for item in _read(session, "media", sorted(rows)):
            items.setdefault(item.request_id, []).append(item)
    return {c.id: _ticket(config, c, rows.get(c.request_id), contacts, items, media) for c in claimed}


def _department(config: GatewayConfig, jurisdiction_id: str, code: str) -> str | None:
    """The contact policy of a configured department (None: not configured)."""
    jurisdiction = config.jurisdictions.get(jurisdiction_id)
    department = jurisdiction.departments.get(code) if jurisdiction else None
    return department.contact_policy if department else None


def _ticket(config: GatewayConfig, claimed: Claimed, row: Any, contacts: dict[int, Any],
            items: dict[int, list[Any]], media: MediaStore | None) -> Ticket | Undeliverable:
    """One ticket from rows already read (Core rows carry the model's attribute names)."""
    if row is None:
        return Undeliverable(f"service request {claimed.request_id} no longer exists")
    jurisdiction = config.jurisdictions.get(row.jurisdiction_id)
    department = jurisdiction.departments.get(claimed.department) if jurisdiction else None
    if jurisdiction is None or department is None:
        return Undeliverable(f"department {row.jurisdiction_id}/{claimed.department} is not configured")
    contact = None
    if department.contact_policy == "full":
        found = contacts.get(row.id)
        if found is not None and any((found.first_name, found.last_name, found.email, found.phone)):
            contact = Contact(first_name=found.first_name, last_name=found.last_name, email=found.email,
                              phone=found.phone)
    photos = cast(list[RequestMedia], items.get(row.id, []))
    if row.hidden_at is not None:  # moderation hid the request's text and photos from everyone
        photos = []
    service = jurisdiction.catalog.get(row.service_code)
    extras = {"agency_responsible": row.agency_responsible, "service_notice": row.service_notice,
              "expected_datetime": format_w3c(row.expected_datetime)}
    return Ticket(
        service_request_id=str(row.id), jurisdiction_id=row.jurisdiction_id, department=department.code,
        service_code=row.service_code, service_name=row.service_name,
        backoffice_code=service.backoffice_code if service else None, description=row.description,
        requested_datetime=format_w3c(row.requested_datetime) or "", lat=row.lat, long=row.long,
        address=row.address, address_id=row.address_id, zipcode=row.zipcode, attributes=dict(row.attributes or {}),
        media_urls=tuple(public_urls(cast(ServiceRequest, row), photos)), contact=contact, extras=extras,
        photos=ticket_photos(photos, media, str(row.id)),
    )


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


def _set(session: Session, stmt: Update, claimed: Claimed, worker: str, now: datetime, **params: object) -> bool:
    """Run an outcome statement for a claimed row (in the open transaction, if any); True when it updated it."""
    with _transaction(session):
        result = session.execute(stmt, {"b_id": claimed.id, "b_worker": worker, "b_now": now, **params})
    return bool(getattr(result, "rowcount", 0))


def record_delivered(session: Session, claimed: Claimed, worker: str, receipt: Receipt, now: datetime) -> bool:
    """Mark the row done with the back office's id for the ticket."""
    return _set(session, _DONE, claimed, worker, now, b_external_id=clean_text(receipt.external_id, 200))


@cache
def _done_many(size: int) -> Update:
    """Mark `size` claimed rows done in one statement (each with its own external id), returning the ids
    of those whose lease this worker still held."""
    t = _OUTBOX.c
    ids: list[BindParameter[int]] = [bindparam(f"b_id{i}") for i in range(size)]
    external = case(*((t.id == ids[i], bindparam(f"b_external_id{i}")) for i in range(size)), else_=t.external_id)
    return (update(_OUTBOX).where(t.id.in_(ids), t.state == IN_FLIGHT, t.leased_by == bindparam("b_worker"))
            .values(state=DONE, external_id=external, last_error=None, lease_expires_at=None, leased_by=None,
                    updated_at=_when("b_now"))
            .returning(t.id))


def record_delivered_many(session: Session, delivered: Sequence[tuple[Claimed, Receipt]], worker: str,
                          now: datetime) -> set[int]:
    """Mark rows done with their back-office ids, in one statement per chunk (in the open transaction, if
    any); return the outbox ids recorded (a row whose lease another relay took is left to that relay)."""
    kept: set[int] = set()
    with _transaction(session):
        for start in range(0, len(delivered), _CHUNK):
            chunk = list(delivered[start:start + _CHUNK])
            size = 1 << (len(chunk) - 1).bit_length()
            chunk += chunk[-1:] * (size - len(chunk))   # repeats of the last row change nothing
            params: dict[str, object] = {"b_worker": worker, "b_now": now}
            for i, (claimed, receipt) in enumerate(chunk):
                params[f"b_id{i}"] = claimed.id
                params[f"b_external_id{i}"] = clean_text(receipt.external_id, 200)
            kept.update(session.execute(_done_many(size), params).scalars())
    return kept


def backoff_delay(attempts: int, settings: DeliverySettings, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff in seconds, at least the back office's Retry-After (both capped)."""
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** min(max(attempts - 1, 0), 60))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_cap))
    return delay


def record_failure(session: Session, claimed: Claimed, worker: str, message: str, *, permanent: bool,
                   settings: DeliverySettings, now: datetime, rng: random.Random,
                   retry_after: float | None = None) -> str:
    """Schedule the next attempt, or dead-letter (permanent error or attempts used up); return the new state."""
    error = clean_text(message, MAX_ERROR) or "unknown error"
    if permanent or claimed.attempts >= settings.max_attempts:
        if not permanent:
            error = f"gave up after {claimed.attempts} attempts: {error}"[:MAX_ERROR]
        _set(session, _DEAD, claimed, worker, now, b_error=error)
        return DEAD
    delay = backoff_delay(claimed.attempts, settings, rng, retry_after)
    _set(session, _RETRY, claimed, worker, now, b_error=error,
         b_next_attempt_at=now + timedelta(seconds=delay))
    return PENDING


def release(session: Session, claimed: Sequence[Claimed], worker: str, now: datetime) -> int:
    """Give back rows claimed but not attempted (shutdown): due again at once, the attempt uncounted."""
    released = 0
    with _transaction(session):
        for item in claimed:
            released += _set(session, _RELEASE, item, worker, now)
    return released


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
    with session.begin():
        result = session.execute(stmt, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0))
