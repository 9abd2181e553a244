"""Reopen ("not fixed"): the resident who reported a closed request, or a follower, says it is not fixed.

Within the service's reopen_days after closure, the submitting API key or one of its followers' keys reopens
the request. One transaction stores the reopen's write-only details (request_reopens), a status update that
turns the request open (source "reopen", external_status REOPENED: the history and the SLA clock read it),
the request's new state, and an outbox row (kind "reopen") that tells the department once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.closure import REOPEN_SOURCE, REOPENED
from open311.errors import BadRequest, Conflict, Forbidden
from open311.intake.followers import PHOTO_COLUMNS
from open311.intake.submit import Submission, field_text, get_request
from open311.media.uploads import MediaPolicy, discard_photos, media_rows, precheck, save_photos, take_photos
from open311.notices.milestones import REOPENED as REOPENED_MILESTONE
from open311.notices.milestones import queue_notices
from open311.storage.models import ApiKey, OutboxMessage, RequestFollower, RequestReopen, ServiceRequest, StatusUpdate

REOPEN_KIND = "reopen"
# The public note of a reopen: the resident's own words and photos reach only the department.
PUBLIC_NOTE = "Reopened: a resident reports that the problem is not fixed."
# Called inside the reopen's transaction with its status update (the HTTP layer passes the subscribers' hook,
# feeds.subscriptions.enqueue_callbacks, which this layer cannot import).
OnUpdate = Callable[[Session, StatusUpdate, datetime], object]


@dataclass(frozen=True)
class Reopened:
    """What POST reopen answers: the request, the reopen's id and the request's new status."""

    service_request_id: str
    reopen_id: str
    status: str = "open"


def reopen_window(jurisdiction: Jurisdiction, service_code: str) -> timedelta:
    """How long after closure the request's service lets residents reopen it (the catalog's reopen_days)."""
    service = jurisdiction.catalog.get(service_code)
    days = service.reopen_days if service is not None else 14
    return timedelta(days=days)


def _follower_of(session: Session, request_id: int, api_key: ApiKey) -> int | None:
    """The id of a follower of the request that this key sent, if any."""
    with session.begin():
        return session.scalars(select(RequestFollower.id).where(
            RequestFollower.request_id == request_id, RequestFollower.api_key_id == api_key.id)
            .order_by(RequestFollower.id).limit(1)).first()


def reopen_request(session: Session, jurisdiction: Jurisdiction, service_request_id: str, submission: Submission,
                   api_key: ApiKey | None, now: datetime, *, media: MediaPolicy | None = None,
                   on_update: OnUpdate | None = None) -> Reopened:
    """Reopen a closed request: 404 unknown, 403 neither its submitter's nor a follower's key, 400 bad input,
    409 open already or closed longer ago than the service's reopen_days.

    `api_key` None: the caller holds the request's status link (its capability, open311.notices.links), which
    speaks for the submitter."""
    request = get_request(session, jurisdiction, service_request_id)
    follower_id = None
    if api_key is not None and request.api_key_id != api_key.id:
        follower_id = _follower_of(session, request.id, api_key)
        if follower_id is None:
            raise Forbidden(f"This api_key neither submitted nor follows service request {request.id}.")
    problems: list[str] = []
    description = field_text(submission.fields, "description", problems)
    if not problems and not (description or "").strip():
        problems.append("description is required: say what is not fixed.")
    if problems:
        raise BadRequest(*problems, *precheck(submission.uploads, media))
    if request.status != "closed":
        raise Conflict(f"service request {request.id} is open: only a closed request can be reopened.")
    window = reopen_window(jurisdiction, request.service_code)
    if now > request.updated_datetime + window:
        raise Conflict(f"service request {request.id} was closed more than {window.days} days ago: "
                       "it can no longer be reopened; please submit a new request.")
    photos = take_photos(submission.uploads, media)
    rows = media_rows(request.id, photos, None)
    stored = {"items": [{c: getattr(m, c) for c in PHOTO_COLUMNS} for m in rows]}
    store = media.store if media is not None else None
    if photos and store is not None:
        save_photos(store, photos)
    try:
        reopen_id = _store(session, request, api_key, follower_id, description, stored, now, on_update)
    except BaseException:
        if photos and store is not None:
            discard_photos(store, photos)
        raise
    return Reopened(str(request.id), str(reopen_id))


def _store(session: Session, request: ServiceRequest, api_key: ApiKey | None, follower_id: int | None,
           description: str | None, photos: dict[str, Any], now: datetime, on_update: OnUpdate | None) -> int:
    """One transaction: the reopen, its status update, the request open again, the department's outbox row."""
    when = max(now, request.updated_datetime)
    with session.begin():
        # Only a request still closed turns open (a concurrent reopen or back-office update wins otherwise).
        result = session.execute(
            update(ServiceRequest).where(ServiceRequest.id == request.id, ServiceRequest.status == "closed",
                                         ServiceRequest.updated_datetime == request.updated_datetime)
            .values(status="open", status_notes=PUBLIC_NOTE, updated_datetime=when, closure_code=None,
                    duplicate_of=None),
            execution_options={"synchronize_session": False})
        if not getattr(result, "rowcount", 0):
            raise Conflict(f"service request {request.id} changed meanwhile; read it again.")
        reopen = RequestReopen(request_id=request.id, created_at=now, api_key_id=api_key.id if api_key else None,
                               follower_id=follower_id,
                               description=description, photos=photos)
        session.add(reopen)
        session.flush()
        row = StatusUpdate(request_id=request.id, jurisdiction_id=request.jurisdiction_id,
                           department=request.department, update_id=f"reopen-{reopen.id}", status="open",
                           external_status=REOPENED, description=PUBLIC_NOTE, media_url=None, updated_datetime=when,
                           received_at=now, source=REOPEN_SOURCE, applied=True)
        session.add(row)
        session.flush()
        reopen.status_update_id = row.id
        queue_notices(session.connection(), request.id, REOPENED_MILESTONE, now, update=row)
        session.add(OutboxMessage(request_id=request.id, department=request.department, kind=REOPEN_KIND,
                                  state="pending", attempts=0, reopen_id=reopen.id, next_attempt_at=now,
                                  created_at=now, updated_at=now))
        if on_update is not None:
            on_update(session, row, now)
        reopen_id = int(reopen.id)
    return reopen_id
