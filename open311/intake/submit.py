"""Use cases for service requests: submit, get one, resolve a token (searching is in request_search)."""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, Insert, Integer, String, Table, bindparam, insert, literal, select
from sqlalchemy.orm import Session

from open311.catalog.answers import DECIMAL, validate_answers
from open311.catalog.definitions import Service
from open311.config.jurisdictions import Jurisdiction
from open311.errors import BadRequest, NotFound
from open311.gis.areas import ServiceAreas, swap_hint
from open311.intake.location import place_request
from open311.media.store import MediaStore
from open311.media.uploads import (
    MediaPolicy,
    StoredPhoto,
    Upload,
    discard_photos,
    media_rows,
    precheck,
    save_photos,
    take_photos,
)
from open311.storage.models import ApiKey, OutboxMessage, RequestContact, RequestMedia, ServiceRequest

MAX_DESCRIPTION = 4000
FIELD_LIMITS = {"address_string": 500, "address_id": 100, "zipcode": 20, "media_url": 2000,
                "first_name": 200, "last_name": 200, "email": 320, "phone": 50, "device_id": 200,
                "account_id": 200, "service_code": 64}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "device_id", "account_id")
MAX_ID = 2**63 - 1
MAX_ID_LENGTH = 64
MEDIA_SCHEMES = ("http", "https")


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


def _text(fields: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    """Return a trimmed optional field (None when empty), noting one that is too long."""
    value = (fields.get(name) or "").strip()
    limit = FIELD_LIMITS.get(name, MAX_DESCRIPTION)
    if len(value) > limit:
        problems.append(f"{name} must be at most {limit} characters.")
    return value or None


def _coordinate(fields: Mapping[str, str], name: str, bound: float, problems: list[str]) -> float | None:
    """Parse lat or long, noting a value that is not a finite number within ±bound."""
    raw = (fields.get(name) or "").strip()
    if not raw:
        return None
    if not DECIMAL.fullmatch(raw):
        problems.append(f"{name} must be a decimal number (WGS84), got {raw[:40]!r}.")
        return None
    value = float(raw)
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.append(f"{name} must be between -{bound:g} and {bound:g}, got {raw[:40]!r}.")
        return None
    return value


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
        problems.append("media_url must be an absolute http or https URL.")
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
        problems.append("lat and long must be sent together.")
    elif not has_lat and not _given(fields, "address_string") and not _given(fields, "address_id"):
        problems.append("A location is required: lat and long, or address_string, or address_id.")
    return lat, lon


def find_service(jurisdiction: Jurisdiction, service_code: str | None) -> Service:
    """Return the service or raise 400 (missing) / 404 (unknown)."""
    if not service_code:
        raise BadRequest("service_code was not provided.")
    service = jurisdiction.catalog.get(service_code)
    if service is None:
        raise NotFound(f"service_code {service_code[:64]!r} not found.")
    return service


def _notice(*parts: str | None) -> str | None:
    """Notices joined into one text (None when there are none)."""
    return " ".join(p for p in parts if p) or None


# Runs inside the storing transaction: (connection, new request id, the answer).
StoredHook = Callable[[Connection, int, Submitted], None]
# Built once: Core INSERTs (the ORM unit of work costs more than the rows themselves on this path).
INSERT_REQUEST = insert(ServiceRequest).returning(ServiceRequest.id)
INSERT_CONTACT = insert(cast(Table, RequestContact.__table__))
INSERT_OUTBOX = insert(cast(Table, OutboxMessage.__table__))
INSERT_MEDIA = insert(cast(Table, RequestMedia.__table__))
MEDIA_COLUMNS = tuple(c.key for c in RequestMedia.__table__.columns if c.key != "id")


@functools.lru_cache(maxsize=8)
def _request_with_outbox(keys: tuple[str, ...]) -> Insert:
    """PostgreSQL: the request row (these columns) and its outbox row in one statement (a data-modifying CTE)."""
    requests, outbox = cast(Table, ServiceRequest.__table__), cast(Table, OutboxMessage.__table__)
    new = insert(requests).values({k: bindparam(k, type_=requests.c[k].type) for k in keys}) \
        .returning(requests.c.id).cte("new_request")
    at = outbox.c.created_at.type
    row = select(new.c.id, literal("deliver", String()), bindparam("outbox_department", type_=String()),
                 literal("pending", String()), literal(0, Integer()), bindparam("outbox_at", type_=at),
                 bindparam("outbox_at", type_=at), bindparam("outbox_at", type_=at))
    return insert(outbox).from_select(["request_id", "kind", "department", "state", "attempts", "next_attempt_at",
                                       "created_at", "updated_at"], row).returning(outbox.c.request_id)


def _insert_request(connection: Connection, prepared: Prepared, token: str, now: datetime) -> int:
    """Insert the request row and its outbox row; return the request's id. On PostgreSQL one statement (one
    round trip instead of two), elsewhere two."""
    values = {**prepared.values, "token": token}
    if connection.dialect.name == "postgresql":
        statement = _request_with_outbox(tuple(values))
        found: int = connection.execute(statement, {**values, "outbox_department": prepared.department,
                                                    "outbox_at": now}).scalar_one()
        return found
    request_id: int = connection.execute(INSERT_REQUEST, values).scalar_one()
    connection.execute(INSERT_OUTBOX, {
        "request_id": request_id, "kind": "deliver", "department": prepared.department, "state": "pending",
        "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now})
    return request_id


@contextmanager
def _transaction(session: Session) -> Iterator[Connection]:
    """A transaction for Core statements: straight on the session's engine (the ORM's bookkeeping is not
    needed), or the session's own when it is bound to a connection."""
    bind = session.get_bind()
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        with session.begin():
            yield session.connection()


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


def prepare_request(jurisdiction: Jurisdiction, submission: Submission, api_key: ApiKey | None, now: datetime,
                    areas: ServiceAreas | None = None, media: MediaPolicy | None = None) -> Prepared:
    """Validate a submission and check it against its service's area (`areas`: the jurisdiction's GIS
    layers, None for none); raise 400/404 listing every problem. Photos are processed (`media`: how; None
    refuses uploads) but nothing is stored."""
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
        attributes=answers, requested_datetime=now, updated_datetime=now,
        expected_datetime=now + service.expected_response if service.expected_response else None,
        api_key_id=api_key.id if api_key else None, channel=api_key.name if api_key else "anonymous",
    )
    return Prepared(service, department.code, values, contact, photos, texts["media_url"],
                    media.store if media is not None else None)


def store_request(session: Session, prepared: Prepared, now: datetime, *,
                  on_stored: StoredHook | None = None) -> Submitted:
    """Store a prepared request with its outbox row in one transaction.

    `on_stored` runs inside that transaction once the row has its id (duplicate detection records
    its claims there, so a claim and its request are committed, or rolled back, together). Photos are
    written to the media store first and removed again when the transaction does not commit.
    """
    token = secrets.token_urlsafe(12)
    store = prepared.store
    if prepared.photos:
        if store is None:
            raise ValueError("prepared photos without a media store")
        save_photos(store, prepared.photos)
    try:
        with _transaction(session) as connection:
            request_id = _insert_request(connection, prepared, token, now)
            if any(prepared.contact.values()):
                connection.execute(INSERT_CONTACT, {"request_id": request_id, **prepared.contact})
            media = media_rows(request_id, prepared.photos, prepared.link)
            if media:
                connection.execute(INSERT_MEDIA, [{c: getattr(m, c) for c in MEDIA_COLUMNS} for m in media])
            result = _answer(prepared.service, request_id, token, prepared.values["service_notice"])
            if on_stored is not None:
                on_stored(connection, request_id, result)
    except BaseException:
        if store is not None and prepared.photos:
            discard_photos(store, prepared.photos)
        raise
    return result


def submit_request(session: Session, jurisdiction: Jurisdiction, submission: Submission,
                   api_key: ApiKey | None, now: datetime, areas: ServiceAreas | None = None,
                   media: MediaPolicy | None = None) -> Submitted:
    """Validate, place and store a submission (prepare_request, then store_request)."""
    return store_request(session, prepare_request(jurisdiction, submission, api_key, now, areas, media), now)


def _answer(service: Service, request_id: int, token: str, notice: object) -> Submitted:
    """What POST answers for this service type: the id (realtime), a token (batch) or neither (blackbox).

    `notice` is the stored service_notice: the service's notice plus any placing note (unverified address).
    """
    text = notice if isinstance(notice, str) else None
    if service.type == "batch":
        return Submitted(None, token, text)
    if service.type == "blackbox":
        return Submitted(None, None, text)
    return Submitted(str(request_id), None, text)


def parse_ids(raw: Sequence[str]) -> list[int]:
    """Keep the ids that can exist (positive integers); others match nothing; absurd ones are a 400."""
    huge = [v for v in raw if len(v) > MAX_ID_LENGTH or (v.isascii() and v.isdigit() and int(v) > MAX_ID)]
    if huge:
        shown = huge[0] if len(huge[0]) <= 24 else huge[0][:24] + "..."
        raise BadRequest(f"service_request_id {shown!r} is out of range: ids are integers up to {MAX_ID}.")
    return [int(v) for v in raw if v.isascii() and v.isdigit() and int(v) > 0]


def get_request(session: Session, jurisdiction: Jurisdiction, service_request_id: str) -> ServiceRequest:
    """GET requests/{id}: the request or 404."""
    ids = parse_ids([service_request_id])
    with session.begin():
        row = session.get(ServiceRequest, ids[0]) if ids else None
    if row is None or row.jurisdiction_id != jurisdiction.id:
        raise NotFound(f"service_request_id {service_request_id[:64]!r} not found.")
    return row


def resolve_token(session: Session, jurisdiction: Jurisdiction, token: str) -> tuple[str | None, str]:
    """GET tokens/{token}: the request id behind a token, or 404 for an unknown token."""
    if len(token) > MAX_ID_LENGTH:
        raise BadRequest(f"token is longer than {MAX_ID_LENGTH} characters.")
    with session.begin():
        row = session.scalars(select(ServiceRequest).where(
            ServiceRequest.token == token, ServiceRequest.jurisdiction_id == jurisdiction.id)).first()
    if row is None:
        raise NotFound(f"token {token[:64]!r} not found.")
    return str(row.id), token


