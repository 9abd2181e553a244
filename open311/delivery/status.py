"""Recording a back office's status update once, and letting its request follow it (never backwards)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.adapter import RemoteUpdate
from open311.config.jurisdictions import Department, Jurisdiction
from open311.core.text import clean_text, clean_token
from open311.feeds.sla import recompute_clock
from open311.feeds.subscriptions import enqueue_callbacks
from open311.storage.models import OutboxMessage, ServiceRequest, StatusUpdate

log = logging.getLogger(__name__)
MAX_NOTES = 2000
FUTURE_TOLERANCE = timedelta(minutes=5)


class InvalidUpdate(ValueError):
    """An update that cannot be stored (no usable id or status, or dated in the future)."""


@dataclass(frozen=True)
class Recorded:
    """The stored update and whether this call stored it (False: the update_id was already there)."""

    update: StatusUpdate
    created: bool


def map_status(department: Department, external: str) -> str | None:
    """The public status for a back-office status: exact key first, then case-insensitively; else None."""
    if external in department.status_map:
        return department.status_map[external]
    folded = external.casefold()
    for key, value in department.status_map.items():
        if key.casefold() == folded:
            return value
    return None


def find_request(session: Session, jurisdiction: Jurisdiction, department: Department,
                 remote: RemoteUpdate) -> ServiceRequest | None:
    """The department's request an update is about: by our id, else by the back office's external id."""
    with session.begin():
        if remote.service_request_id:
            text = str(remote.service_request_id).strip()
            row = session.get(ServiceRequest, int(text)) if text.isascii() and text.isdigit() and \
                len(text) < 19 else None
        elif remote.external_id:
            row = session.scalars(
                select(ServiceRequest).join(OutboxMessage, OutboxMessage.request_id == ServiceRequest.id)
                .where(OutboxMessage.department == department.code,
                       OutboxMessage.external_id == str(remote.external_id)[:200],
                       ServiceRequest.jurisdiction_id == jurisdiction.id).limit(1)).first()
        else:
            row = None
    if row is None or row.jurisdiction_id != jurisdiction.id or row.department != department.code:
        return None
    return row


def clean_update(remote: RemoteUpdate, now: datetime) -> RemoteUpdate:
    """The update with every field cleaned of control characters and bounded; InvalidUpdate if unusable."""
    update_id = clean_token(remote.update_id, 200)
    if update_id is None:
        raise InvalidUpdate("update_id is missing or longer than 200 characters")
    status = clean_token(remote.status, 100)
    if status is None:
        raise InvalidUpdate(f"update {update_id!r} has no usable status")
    if remote.updated_datetime.tzinfo is None:
        raise InvalidUpdate(f"update {update_id!r} has a datetime without a time zone")
    if remote.updated_datetime > now + FUTURE_TOLERANCE:
        raise InvalidUpdate(f"update {update_id!r} is dated in the future")
    media = clean_token(remote.media_url, 2000)
    if media is not None and not media.lower().startswith(("https://", "http://")):
        media = None
    return RemoteUpdate(update_id=update_id, external_id=remote.external_id,
                        service_request_id=remote.service_request_id, status=status,
                        updated_datetime=remote.updated_datetime, description=clean_text(remote.description, MAX_NOTES),
                        media_url=media)


def _existing(session: Session, jurisdiction_id: str, department: str, update_id: str) -> StatusUpdate | None:
    """The stored update with this id, if any."""
    with session.begin():
        return session.scalars(select(StatusUpdate).where(
            StatusUpdate.jurisdiction_id == jurisdiction_id, StatusUpdate.department == department,
            StatusUpdate.update_id == update_id)).first()


def record_update(session: Session, jurisdiction: Jurisdiction, department: Department, request_id: int,
                  remote: RemoteUpdate, *, source: str, now: datetime) -> Recorded:
    """Store a cleaned update once; apply it when its status is mapped and it is not older than the request."""
    found = _existing(session, jurisdiction.id, department.code, remote.update_id)
    if found is not None:
        return Recorded(found, created=False)
    status = map_status(department, remote.status)
    if status is None:
        log.warning("%s/%s: back-office status %r is not in the status_map; update %r stored, not applied",
                    jurisdiction.id, department.code, remote.status[:100], remote.update_id[:100])
    row = StatusUpdate(request_id=request_id, jurisdiction_id=jurisdiction.id, department=department.code,
                       update_id=remote.update_id, status=status, external_status=remote.status,
                       description=remote.description, media_url=remote.media_url,
                       updated_datetime=remote.updated_datetime, received_at=now, source=source, applied=False)
    try:
        with session.begin():
            session.add(row)
            session.flush()
            if status is not None:
                # One conditional UPDATE: a concurrent newer update wins whatever the arrival order.
                result = session.execute(
                    update(ServiceRequest).where(ServiceRequest.id == request_id,
                                                 ServiceRequest.updated_datetime <= remote.updated_datetime)
                    .values(status=status, status_notes=remote.description, updated_datetime=remote.updated_datetime),
                    execution_options={"synchronize_session": False})
                row.applied = bool(getattr(result, "rowcount", 0))
                if row.applied:  # subscribers hear of every change that reached the public record
                    enqueue_callbacks(session, row, now)
                    recompute_clock(session, jurisdiction, request_id, now)
    except IntegrityError:  # the same update arrived through another path at the same moment
        found = _existing(session, jurisdiction.id, department.code, remote.update_id)
        if found is None:
            raise
        return Recorded(found, created=False)
    return Recorded(row, created=True)
