"""Followers: another resident reports a request's problem; stored write-only, delivered once as an addition.

A follower row and its outbox row (kind "follower") are inserted in one transaction. Nothing of a follower is
public: outputs show only the count (extended_attributes.reporter_count). A double tap of the same follower is
absorbed by the same claim rows as a POST requests (open311.intake.dedup).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.catalog.answers import validate_answers
from open311.config.jurisdictions import Jurisdiction
from open311.errors import BadRequest, Conflict
from open311.intake.dedup import ATTEMPTS, FOLLOWER, Claim, fingerprint, scope_of
from open311.intake.submit import CONTACT_FIELDS, Submission, field_text, get_request
from open311.media.uploads import MediaPolicy, discard_photos, media_rows, precheck, save_photos, take_photos
from open311.notices.milestones import RECEIVED, queue_notices
from open311.notices.recipients import NoticeSetup, add_recipients, read_notify
from open311.settings import DedupPolicy
from open311.storage.db import reading, writing
from open311.storage.models import ApiKey, OutboxMessage, RequestFollower, SubmissionKey

FOLLOWER_KIND = "follower"
INSERT_FOLLOWER = insert(cast(Table, RequestFollower.__table__)).returning(RequestFollower.id)
INSERT_OUTBOX = insert(cast(Table, OutboxMessage.__table__))
INSERT_CLAIM = insert(cast(Table, SubmissionKey.__table__))
PHOTO_COLUMNS = ("url", "name", "content_type", "size", "width", "height", "sha256")


@dataclass(frozen=True)
class Followed:
    """What POST followers answers: the request followed and the new follower's id (and whether replayed)."""

    service_request_id: str
    follower_id: str
    replayed: bool = False


def _answers(jurisdiction: Jurisdiction, service_code: str, submission: Submission,
             problems: list[str]) -> dict[str, Any]:
    """The follower's attribute answers, checked like a request's; none is required (the request has them)."""
    service = jurisdiction.catalog.get(service_code)
    if service is None:   # the service left the catalog: keep no answers rather than refuse the resident
        return {}
    optional = replace(service, attributes=tuple(replace(a, required=False) for a in service.attributes))
    answers, found = validate_answers(optional, submission.attributes, jurisdiction.timezone)
    problems.extend(found)
    return answers


def add_follower(session: Session, jurisdiction: Jurisdiction, service_request_id: str, submission: Submission,
                 api_key: ApiKey | None, now: datetime, *, policy: DedupPolicy | None = None,
                 media: MediaPolicy | None = None, notices: NoticeSetup | None = None) -> Followed:
    """Store a follower of a request (404 when unknown, 400 listing every problem) with its outbox row.

    Within the duplicate window the same follower sent again (same key, same details) gets the first answer.
    """
    request = get_request(session, jurisdiction, service_request_id)
    fields = submission.fields
    problems: list[str] = []
    values: dict[str, Any] = {name: field_text(fields, name, problems) for name in CONTACT_FIELDS}
    values["description"] = field_text(fields, "description", problems)
    values["attributes"] = _answers(jurisdiction, request.service_code, submission, problems)
    notify = read_notify(fields, notices.policy, problems) if notices is not None else []
    if problems:
        raise BadRequest(*problems, *precheck(submission.uploads, media))
    photos = take_photos(submission.uploads, media)
    rows = media_rows(request.id, photos, None)
    values["photos"] = {"items": [{c: getattr(m, c) for c in PHOTO_COLUMNS} for m in rows]}
    values.update(request_id=request.id, created_at=now, api_key_id=api_key.id if api_key else None,
                  channel=api_key.name if api_key else "anonymous")
    claim = _claim(jurisdiction, request.id, submission, api_key, now, policy or DedupPolicy())
    store = media.store if media is not None else None
    for _ in range(ATTEMPTS):
        if claim is not None:
            held = _held(session, claim, now)
            if held is not None:
                return Followed(str(request.id), str(held), replayed=True)
        if photos and store is not None:
            save_photos(store, photos)
        try:
            with writing(session) as connection:
                follower_id = int(connection.execute(INSERT_FOLLOWER, values).scalar_one())
                if notices is not None and notify:
                    for recipient in add_recipients(connection, request.id, notify, notices.locale, now,
                                                    follower_id=follower_id):
                        queue_notices(connection, request.id, RECEIVED, now, recipient_id=recipient)
                connection.execute(INSERT_OUTBOX, {
                    "request_id": request.id, "department": request.department, "kind": FOLLOWER_KIND,
                    "state": "pending", "attempts": 0, "follower_id": follower_id, "next_attempt_at": now,
                    "created_at": now, "updated_at": now})
                if claim is not None:
                    connection.execute(INSERT_CLAIM, {
                        "kind": claim.kind, "scope": claim.scope, "key": claim.key, "payload_hash": claim.payload_hash,
                        "request_id": request.id, "created_at": now, "expires_at": claim.expires_at,
                        "result": {"follower_id": str(follower_id)}})
        except BaseException as exc:
            if photos and store is not None:
                discard_photos(store, photos)
            if isinstance(exc, IntegrityError) and claim is not None:
                continue   # the same follower committed concurrently: answer as it was answered
            raise
        return Followed(str(request.id), str(follower_id))
    raise Conflict("The same follower is being processed concurrently; retry shortly.")


def _claim(jurisdiction: Jurisdiction, request_id: int, submission: Submission, api_key: ApiKey | None,
           now: datetime, policy: DedupPolicy) -> Claim | None:
    """The claim of this follower within the duplicate window (None when the window is off)."""
    if not policy.duplicate_window:
        return None
    mark = fingerprint(jurisdiction, replace(submission, fields={**submission.fields,
                                                                 "follows": str(request_id)}))
    return Claim(FOLLOWER, scope_of(jurisdiction, api_key), mark, mark, now + policy.duplicate_window)


def _held(session: Session, claim: Claim, now: datetime) -> str | None:
    """The follower id an unexpired identical claim answered with, if any (expired ones are removed)."""
    table = cast(Table, SubmissionKey.__table__)
    where = (table.c.kind == claim.kind, table.c.scope == claim.scope, table.c.key == claim.key)
    with reading(session, single=True) as connection:
        row = connection.execute(table.select().where(*where)).first()
    if row is None:
        return None
    if row.expires_at > now:
        return str(row.result.get("follower_id"))
    with writing(session) as connection:
        connection.execute(table.delete().where(*where, table.c.expires_at <= now))
    return None
