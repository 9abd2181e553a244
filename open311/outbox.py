"""The outbox: claiming due deliveries under a lease, building tickets, recording each attempt's outcome."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from .adapter import Contact, Receipt, Ticket
from .config import GatewayConfig
from .dates import format_w3c
from .media import public_urls, ticket_photos
from .media_store import MediaStore
from .models import OutboxMessage, RequestContact, RequestMedia, ServiceRequest
from .tuning import DeliverySettings
from .untrusted import clean_text

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


def _due(now: datetime) -> object:
    """Rows to claim: pending and due, or leased by a relay whose lease ran out (it died).

    A subscriber's callbacks go out one at a time and in order: a callback waits while an earlier one
    of the same subscription is still pending or in flight (so `closed` never overtakes `open`).
    """
    earlier = aliased(OutboxMessage)
    in_order = or_(OutboxMessage.subscription_id.is_(None), ~exists().where(
        earlier.subscription_id == OutboxMessage.subscription_id, earlier.id < OutboxMessage.id,
        earlier.state.in_((PENDING, IN_FLIGHT))))
    return and_(or_(and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now),
                    and_(OutboxMessage.state == IN_FLIGHT, OutboxMessage.lease_expires_at < now)), in_order)


def claim_due(session: Session, worker: str, settings: DeliverySettings, now: datetime,
              limit: int | None = None) -> list[Claimed]:
    """Lease up to `limit` due rows to `worker` in one statement; each claim counts as an attempt.

    PostgreSQL: the candidate rows are locked with FOR UPDATE SKIP LOCKED, so concurrent relays never
    wait for or take each other's rows. SQLite: one UPDATE ... RETURNING, atomic under its write lock.
    """
    candidates = (select(OutboxMessage.id).where(_due(now))  # type: ignore[arg-type]
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit or settings.batch))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (update(OutboxMessage).where(OutboxMessage.id.in_(candidates.scalar_subquery()))
            .values(state=IN_FLIGHT, leased_by=worker, lease_expires_at=now + timedelta(seconds=settings.lease),
                    attempts=OutboxMessage.attempts + 1, updated_at=now)
            .returning(OutboxMessage.id, OutboxMessage.request_id, OutboxMessage.department,
                       OutboxMessage.attempts, OutboxMessage.kind, OutboxMessage.subscription_id,
                       OutboxMessage.status_update_id))
    with session.begin():
        rows = session.execute(stmt, execution_options={"synchronize_session": False}).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def build_ticket(session: Session, config: GatewayConfig, claimed: Claimed, media: MediaStore | None = None) -> Ticket:
    """The ticket for a claimed row; contact data only when the department's contact_policy is full.

    Its photos read their bytes from `media` (the gateway's store) when an adapter asks for them.
    """
    with session.begin():
        row = session.get(ServiceRequest, claimed.request_id)
        if row is None:
            raise Undeliverable(f"service request {claimed.request_id} no longer exists")
        jurisdiction = config.jurisdictions.get(row.jurisdiction_id)
        department = jurisdiction.departments.get(claimed.department) if jurisdiction else None
        if jurisdiction is None or department is None:
            raise Undeliverable(f"department {row.jurisdiction_id}/{claimed.department} is not configured")
        contact = None
        if department.contact_policy == "full":
            found = session.get(RequestContact, row.id)
            if found is not None and any((found.first_name, found.last_name, found.email, found.phone)):
                contact = Contact(first_name=found.first_name, last_name=found.last_name, email=found.email,
                                  phone=found.phone)
        items = list(session.scalars(select(RequestMedia).where(RequestMedia.request_id == row.id)
                                     .order_by(RequestMedia.position)))
        if row.hidden_at is not None:  # moderation hid the request's text and photos from everyone
            items = []
    service = jurisdiction.catalog.get(row.service_code)
    extras = {"agency_responsible": row.agency_responsible, "service_notice": row.service_notice,
              "expected_datetime": format_w3c(row.expected_datetime)}
    return Ticket(
        service_request_id=str(row.id), jurisdiction_id=row.jurisdiction_id, department=department.code,
        service_code=row.service_code, service_name=row.service_name,
        backoffice_code=service.backoffice_code if service else None, description=row.description,
        requested_datetime=format_w3c(row.requested_datetime) or "", lat=row.lat, long=row.long,
        address=row.address, address_id=row.address_id, zipcode=row.zipcode, attributes=dict(row.attributes or {}),
        media_urls=tuple(public_urls(row, items)), contact=contact, extras=extras,
        photos=ticket_photos(items, media, str(row.id)),
    )


def _mine(claimed: Claimed, worker: str) -> object:
    """The row, only while this worker still holds its lease (a reclaimed row belongs to another relay)."""
    return and_(OutboxMessage.id == claimed.id, OutboxMessage.state == IN_FLIGHT, OutboxMessage.leased_by == worker)


def _set(session: Session, claimed: Claimed, worker: str, **values: object) -> bool:
    """Update a claimed row if this worker still holds it; True when it did."""
    stmt = update(OutboxMessage).where(_mine(claimed, worker)).values(  # type: ignore[arg-type]
        lease_expires_at=None, leased_by=None, **values)
    with session.begin():
        result = session.execute(stmt, execution_options={"synchronize_session": False})
    return bool(getattr(result, "rowcount", 0))


def record_delivered(session: Session, claimed: Claimed, worker: str, receipt: Receipt, now: datetime) -> bool:
    """Mark the row done with the back office's id for the ticket."""
    external_id = clean_text(receipt.external_id, 200)
    return _set(session, claimed, worker, state=DONE, external_id=external_id, last_error=None, updated_at=now)


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
        _set(session, claimed, worker, state=DEAD, last_error=error, updated_at=now)
        return DEAD
    delay = backoff_delay(claimed.attempts, settings, rng, retry_after)
    _set(session, claimed, worker, state=PENDING, last_error=error, updated_at=now,
         next_attempt_at=now + timedelta(seconds=delay))
    return PENDING


def release(session: Session, claimed: Sequence[Claimed], worker: str, now: datetime) -> int:
    """Give back rows claimed but not attempted (shutdown): due again at once, the attempt uncounted."""
    released = 0
    for item in claimed:
        released += _set(session, item, worker, state=PENDING, attempts=OutboxMessage.attempts - 1, updated_at=now)
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
