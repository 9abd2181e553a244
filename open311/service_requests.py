"""Use cases for service requests: submit, get one, resolve a token (searching is in request_search)."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .attributes import validate_answers
from .catalog import Service
from .config import Jurisdiction
from .errors import BadRequest, NotFound
from .geo import ServiceAreas, swap_hint
from .models import ApiKey, OutboxMessage, RequestContact, ServiceRequest
from .placing import place_request

MAX_DESCRIPTION = 4000
FIELD_LIMITS = {"address_string": 500, "address_id": 100, "zipcode": 20, "media_url": 2000,
                "first_name": 200, "last_name": 200, "email": 320, "phone": 50, "device_id": 200,
                "account_id": 200, "service_code": 64}
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "device_id", "account_id")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Submission:
    """A POSTed service request after parsing, whatever the body format was."""

    fields: Mapping[str, str]
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)


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
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a decimal number (WGS84), got {raw[:40]!r}.")
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.append(f"{name} must be between -{bound:g} and {bound:g}, got {raw[:40]!r}.")
        return None
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


def submit_request(session: Session, jurisdiction: Jurisdiction, submission: Submission,
                   api_key: ApiKey | None, now: datetime, areas: ServiceAreas | None = None) -> Submitted:
    """Validate a submission, check it against its service's area (`areas`: the jurisdiction's GIS layers,
    None for none), and store it with its outbox row in one transaction."""
    fields = submission.fields
    service = find_service(jurisdiction, (fields.get("service_code") or "").strip())
    problems: list[str] = []
    lat, lon = _location(fields, problems)
    if problems and (hint := swap_hint(areas, fields.get("lat"), fields.get("long"))):
        problems.append(hint)
    answers, attr_problems = validate_answers(service, submission.attributes, jurisdiction.timezone)
    problems.extend(attr_problems)
    description = _text(fields, "description", problems)
    texts = {name: _text(fields, name, problems) for name in ("address_string", "address_id", "zipcode", "media_url")}
    contact = {name: _text(fields, name, problems) for name in CONTACT_FIELDS}
    if problems:
        raise BadRequest(*problems)
    placed = place_request(areas, service, lat, lon, texts["address_string"])
    notice = _notice(service.service_notice, placed.notice)
    department = jurisdiction.departments[service.department]
    row = ServiceRequest(
        jurisdiction_id=jurisdiction.id, service_code=service.service_code, service_name=service.service_name,
        department=department.code, agency_responsible=department.name, status="open", status_notes=None,
        description=description, service_notice=notice, address=texts["address_string"],
        address_id=texts["address_id"], zipcode=texts["zipcode"], lat=placed.lat, long=placed.long,
        location_status=placed.status, media_url=texts["media_url"],
        attributes=answers, requested_datetime=now, updated_datetime=now,
        expected_datetime=now + service.expected_response if service.expected_response else None,
        token=secrets.token_urlsafe(12), api_key_id=api_key.id if api_key else None,
        channel=api_key.name if api_key else "anonymous",
    )
    with session.begin():
        session.add(row)
        session.flush()
        if any(contact.values()):
            session.add(RequestContact(request_id=row.id, **contact))
        session.add(OutboxMessage(request_id=row.id, kind="deliver", department=department.code, state="pending",
                                  attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    if service.type == "batch":
        return Submitted(None, row.token, notice)
    if service.type == "blackbox":
        return Submitted(None, None, notice)
    return Submitted(str(row.id), None, notice)


def parse_ids(raw: Sequence[str]) -> list[int]:
    """Keep the ids that can exist (positive integers in range); others simply match nothing."""
    return [int(v) for v in raw if v.isascii() and v.isdigit() and 0 < int(v) <= MAX_ID]


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
    with session.begin():
        row = session.scalars(select(ServiceRequest).where(
            ServiceRequest.token == token[:64], ServiceRequest.jurisdiction_id == jurisdiction.id)).first()
    if row is None:
        raise NotFound(f"token {token[:64]!r} not found.")
    return str(row.id), token


