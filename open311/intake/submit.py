"""Service requests in: a POST's fields validated and placed, ready to store; one request or token looked up.

Storing is in open311.intake.storing, duplicate detection in open311.intake.dedup, the feed in open311.feeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from open311.catalog.answers import DECIMAL, validate_answers
from open311.catalog.definitions import Service
from open311.config.jurisdictions import Jurisdiction
from open311.core.business_time import around_the_clock
from open311.core.i18n import gettext as _
from open311.core.numbers import BETWEEN, MAX_ID_LENGTH, number_in, parse_ids
from open311.core.sla_clock import clock_of
from open311.errors import BadRequest, NotFound
from open311.gis.areas import ServiceAreas, swap_hint
from open311.intake.location import place_request
from open311.media.store import MediaStore
from open311.media.uploads import MediaPolicy, StoredPhoto, Upload, precheck, take_photos
from open311.notices.recipients import NoticeSetup, Wanted, read_notify
from open311.storage.db import reading
from open311.storage.models import ApiKey, ServiceRequest

MAX_DESCRIPTION = 4000
FIELD_LIMITS = {"address_string": 500, "address_id": 100, "zipcode": 20, "media_url": 2000,
                "first_name": 200, "last_name": 200, "email": 320, "phone": 50, "device_id": 200,
                "account_id": 200, "service_code": 64}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "device_id", "account_id")
MEDIA_SCHEMES = ("http", "https")
# POST's lat and long: plain decimal notation only (open311.catalog.answers.DECIMAL), reported as WGS84.
COORDINATE = BETWEEN._replace(not_a_number="{name} must be a decimal number (WGS84), got {raw}.")
TOKEN_ID = select(ServiceRequest.id).where(ServiceRequest.token == bindparam("token"),
                                           ServiceRequest.jurisdiction_id == bindparam("jurisdiction"))


@dataclass(frozen=True)
class Submission:
    """A POSTed service request after parsing, whatever the body format was."""

    fields: Mapping[str, str]
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Photos sent as multipart files or data: URLs, in the order received (checked by open311.media.uploads).
    uploads: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class Submitted:
    """What POST answers: the new id (realtime) or token (batch), plus the service notice."""

    service_request_id: str | None
    token: str | None
    service_notice: str | None
    status_url: str | None = None   # extensions=true: the request's status page (docs/notifications.md)
    routing: Mapping[str, Any] | None = None   # extensions=true: why it was taken there (docs/gis.md)


def _text(fields: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    """Return a trimmed optional field (None when empty), noting one that is too long."""
    value = (fields.get(name) or "").strip()
    limit = FIELD_LIMITS.get(name, MAX_DESCRIPTION)
    if len(value) > limit:
        problems.append(_("%(field)s must be at most %(limit)d characters.", field=name, limit=limit))
    return value or None


def field_text(fields: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    """A trimmed optional text field (None when empty), noting one over its length limit (followers use it too)."""
    return _text(fields, name, problems)


def _coordinate(fields: Mapping[str, str], name: str, bound: float, problems: list[str]) -> float | None:
    """Parse lat or long, noting a value that is not a finite number within ±bound."""
    raw = (fields.get(name) or "").strip()
    return number_in(raw or None, name, -bound, bound, problems, wording=COORDINATE, syntax=DECIMAL)


def _media_url(fields: Mapping[str, str], problems: list[str]) -> str | None:
    """media_url as sent, when it is an absolute http(s) URL (it is stored and shown, never fetched)."""
    value = _text(fields, "media_url", problems)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme.lower() in MEDIA_SCHEMES and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:
        valid = False
    if not valid:
        problems.append(_("media_url must be an absolute http or https URL."))
    return value


def _given(fields: Mapping[str, str], name: str) -> bool:
    """True when a field is present and not blank."""
    return bool((fields.get(name) or "").strip())


def _location(fields: Mapping[str, str], problems: list[str]) -> tuple[float | None, float | None]:
    """Check the location rule: lat+long, or address_string, or address_id."""
    lat = _coordinate(fields, "lat", 90, problems)
    lon = _coordinate(fields, "long", 180, problems)
    has_lat, has_long = _given(fields, "lat"), _given(fields, "long")
    if has_lat != has_long:
        problems.append(_("lat and long must be sent together."))
    elif not has_lat and not _given(fields, "address_string") and not _given(fields, "address_id"):
        problems.append(_("A location is required: lat and long, or address_string, or address_id."))
    return lat, lon


def find_service(jurisdiction: Jurisdiction, service_code: str | None) -> Service:
    """Return the service or raise 400 (missing) / 404 (unknown)."""
    if not service_code:
        raise BadRequest(_("service_code was not provided."))
    service = jurisdiction.catalog.get(service_code)
    if service is None:
        raise NotFound(_("service_code %(code)r not found.", code=service_code[:64]))
    return service


def _notice(*parts: str | None) -> str | None:
    """Notices joined into one text (None when there are none)."""
    return " ".join(p for p in parts if p) or None


@dataclass(frozen=True)
class Prepared:
    """A validated, placed submission, ready to be stored (as often as a retry needs)."""

    service: Service
    department: str
    values: Mapping[str, object]
    contact: Mapping[str, str | None]
    photos: tuple[StoredPhoto, ...] = ()     # processed, not yet written to `store`
    link: str | None = None                  # the client's media_url link
    store: MediaStore | None = None
    notices: NoticeSetup | None = None       # with it: a status link, and the recipients `notify` asked for
    notify: tuple[Wanted, ...] = ()


def prepare_request(jurisdiction: Jurisdiction, submission: Submission, api_key: ApiKey | None, now: datetime,
                    areas: ServiceAreas | None = None, media: MediaPolicy | None = None,
                    notices: NoticeSetup | None = None) -> Prepared:
    """Validate a submission and check it against its service's area; raise 400/404 listing every problem.

    `areas`: the jurisdiction's GIS layers (None for none). Photos are processed (`media`: how; None refuses
    uploads) but nothing is stored: open311.intake.storing.store_request does that.
    """
    fields = submission.fields
    service = find_service(jurisdiction, (fields.get("service_code") or "").strip())
    problems: list[str] = []
    lat, lon = _location(fields, problems)
    if problems and (hint := swap_hint(areas, fields.get("lat"), fields.get("long"))):
        problems.append(hint)
    answers, attr_problems = validate_answers(service, submission.attributes, jurisdiction.timezone)
    problems.extend(attr_problems)
    description = _text(fields, "description", problems)
    texts = {name: _text(fields, name, problems) for name in ("address_string", "address_id", "zipcode")}
    texts["media_url"] = _media_url(fields, problems)
    contact = {name: _text(fields, name, problems) for name in CONTACT_FIELDS}
    notify = read_notify(fields, notices.policy, problems) if notices is not None else []
    if problems:  # photos are decoded only once everything else is right; the cheap checks report now
        raise BadRequest(*problems, *precheck(submission.uploads, media))
    placed = place_request(areas, service, lat, lon, texts["address_string"])
    photos = take_photos(submission.uploads, media)
    urls = [p.url for p in photos] + ([texts["media_url"]] if texts["media_url"] else [])
    department = jurisdiction.departments[service.department]
    values = dict(
        jurisdiction_id=jurisdiction.id, service_code=service.service_code, service_name=service.service_name,
        department=department.code, agency_responsible=department.name, status="open", status_notes=None,
        description=description, service_notice=_notice(service.service_notice, placed.notice),
        address=texts["address_string"], address_id=texts["address_id"], zipcode=texts["zipcode"],
        lat=placed.lat, long=placed.long, location_status=placed.status, media_url=urls[0] if urls else None,
        routing=placed.routing.public() if placed.routing is not None else None,
        attributes=answers, requested_datetime=now, updated_datetime=now,
        **initial_clock(jurisdiction, service, now),
        api_key_id=api_key.id if api_key else None, channel=api_key.name if api_key else "anonymous",
    )
    return Prepared(service, department.code, values, contact, photos, texts["media_url"],
                    media.store if media is not None else None, notices, tuple(notify))


def initial_clock(jurisdiction: Jurisdiction, service: Service, now: datetime) -> dict[str, datetime | None]:
    """A new request's SLA clock: expected_datetime (in business time) and when its last fifth begins."""
    if not service.expected_text:
        return {"expected_datetime": None, "sla_risk_at": None}
    calendar = jurisdiction.calendar or around_the_clock(jurisdiction.timezone)
    clock = clock_of(calendar, service.expected_text, now, (), now)
    return {"expected_datetime": clock.expected, "sla_risk_at": clock.risk_at}


def get_request(session: Session, jurisdiction: Jurisdiction, service_request_id: str) -> ServiceRequest:
    """GET requests/{id}: the request or 404."""
    ids = parse_ids([service_request_id])
    with session.begin():
        row = session.get(ServiceRequest, ids[0]) if ids else None
    if row is None or row.jurisdiction_id != jurisdiction.id:
        raise NotFound(_("service_request_id %(id)r not found.", id=service_request_id[:64]))
    return row


def resolve_token(session: Session, jurisdiction: Jurisdiction, token: str) -> tuple[str | None, str]:
    """GET tokens/{token}: the request id behind a token, or 404 for an unknown token."""
    if len(token) > MAX_ID_LENGTH:
        raise BadRequest(f"token is longer than {MAX_ID_LENGTH} characters.")
    with reading(session, single=True) as connection:
        found = connection.execute(TOKEN_ID, {"token": token, "jurisdiction": jurisdiction.id}).scalar()
    if found is None:
        raise NotFound(f"token {token[:64]!r} not found.")
    return str(found), token


