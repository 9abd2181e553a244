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
from open311.core.closure import DUPLICATE, closure_code_of
from open311.core.text import clean_text, clean_token
from open311.feeds.sla import recompute_clock
from open311.feeds.subscriptions import enqueue_callbacks
from open311.notices.milestones import follow_recipients, milestone_of, queue_notices
from open311.storage.models import OutboxMessage, RequestFollower, ServiceRequest, StatusUpdate

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
                        media_url=media, closure_code=clean_token(remote.closure_code, 100),
                        duplicate_of=clean_token(remote.duplicate_of, 20))


def closure_of(department: Department, remote: RemoteUpdate, status: str | None) -> str | None:
    """The closure code of a closed update: the back office's own (when in the vocabulary), else the
    status_map entry's; None (read `unspecified`) otherwise. An unknown code sent by a back office is logged."""
    if status != "closed":
        return None
    sent = closure_code_of(remote.closure_code)
    if remote.closure_code and sent is None:
        log.warning("%s: closure_code %r is not in the vocabulary; update %r takes its status_map code, if any",
                    department.code, remote.closure_code[:40], remote.update_id[:100])
    if sent is not None:
        return sent
    mapped = department.closure_codes.get(remote.status)
    if mapped is None:
        folded = remote.status.casefold()
        mapped = next((v for k, v in department.closure_codes.items() if k.casefold() == folded), None)
    return mapped


def survivor_of(session: Session, jurisdiction: Jurisdiction, request_id: int, code: str | None,
                remote: RemoteUpdate) -> int | None:
    """The surviving request a duplicate closure names: a request of the same jurisdiction, not itself and not
    itself a duplicate of this one (None: no usable duplicate_of; the closure stays `duplicate` without one)."""
    text = remote.duplicate_of
    if code != DUPLICATE or not text or not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    with session.begin():
        row = session.get(ServiceRequest, int(text))
        if row is None or row.jurisdiction_id != jurisdiction.id or row.id == request_id:
            return None
        # follow a chain to its end (a survivor later closed as a duplicate itself), never into a loop
        seen = {request_id}
        while row.duplicate_of is not None and len(seen) < 50:
            if row.duplicate_of in seen:  # the chain comes back here: the survivor is this request's duplicate
                return None
            seen.add(row.id)
            following = session.get(ServiceRequest, row.duplicate_of)
            if following is None:
                break
            row = following
        return None if row.id == request_id else row.id


def _merge(session: Session, duplicate_id: int, survivor_id: int, survivor_department: str) -> None:
    """The survivor takes over the duplicate's followers (and those of requests merged into it before); a
    follower not yet delivered goes to the survivor's ticket instead (its outbox row moves along)."""
    session.execute(update(RequestFollower).where(RequestFollower.request_id == duplicate_id)
                    .values(request_id=survivor_id), execution_options={"synchronize_session": False})
    session.execute(update(ServiceRequest).where(ServiceRequest.duplicate_of == duplicate_id)
                    .values(duplicate_of=survivor_id), execution_options={"synchronize_session": False})
    follow_recipients(session.connection(), duplicate_id, survivor_id)
    session.execute(update(OutboxMessage).where(OutboxMessage.request_id == duplicate_id,
                                                OutboxMessage.kind == "follower",
                                                OutboxMessage.state.in_(("pending", "in_flight")))
                    .values(request_id=survivor_id, department=survivor_department),
                    execution_options={"synchronize_session": False})


def _existing(session: Session, jurisdiction_id: str, department: str, update_id: str) -> StatusUpdate | None:
    """The stored update with this id, if any."""
    with session.begin():
        return session.scalars(select(StatusUpdate).where(
            StatusUpdate.jurisdiction_id == jurisdiction_id, StatusUpdate.department == department,
            StatusUpdate.update_id == update_id)).first()


def _department_of(session: Session, request_id: int) -> str | None:
    """The department of a request (the survivor of a duplicate closure)."""
    with session.begin():
        row = session.get(ServiceRequest, request_id)
        return row.department if row is not None else None


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
    code = closure_of(department, remote, status)
    survivor = survivor_of(session, jurisdiction, request_id, code, remote)
    survivor_department = _department_of(session, survivor) if survivor is not None else None
    row = StatusUpdate(request_id=request_id, jurisdiction_id=jurisdiction.id, department=department.code,
                       update_id=remote.update_id, status=status, external_status=remote.status,
                       description=remote.description, media_url=remote.media_url,
                       updated_datetime=remote.updated_datetime, received_at=now, source=source, applied=False,
                       closure_code=code, duplicate_of=survivor)
    try:
        with session.begin():
            session.add(row)
            session.flush()
            if status is not None:
                before = session.scalar(select(ServiceRequest.status).where(ServiceRequest.id == request_id))
                # One conditional UPDATE: a concurrent newer update wins whatever the arrival order.
                result = session.execute(
                    update(ServiceRequest).where(ServiceRequest.id == request_id,
                                                 ServiceRequest.updated_datetime <= remote.updated_datetime)
                    .values(status=status, status_notes=remote.description, updated_datetime=remote.updated_datetime,
                            closure_code=code, duplicate_of=survivor),
                    execution_options={"synchronize_session": False})
                row.applied = bool(getattr(result, "rowcount", 0))
                milestone = milestone_of(row, before) if row.applied else None
                if milestone is not None:  # residents who asked hear of it (queued once per recipient)
                    queue_notices(session.connection(), request_id, milestone, now, update=row)
                if row.applied and survivor is not None and survivor_department is not None:
                    _merge(session, request_id, survivor, survivor_department)
                if row.applied:  # subscribers hear of every change that reached the public record
                    enqueue_callbacks(session, row, now)
                    recompute_clock(session, jurisdiction, request_id, now)
    except IntegrityError:  # the same update arrived through another path at the same moment
        found = _existing(session, jurisdiction.id, department.code, remote.update_id)
        if found is None:
            raise
        return Recorded(found, created=False)
    return Recorded(row, created=True)
