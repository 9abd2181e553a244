"""What staff do to a request, each through the same status-update path as a remote back office
(delivery.status.record_update, source "staff"), so feeds, callbacks, history and the SLA clock see it alike.

Internal notes are the exception by design: they are kept in staff_notes and never published anywhere.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from open311.adapter import RemoteUpdate
from open311.config.jurisdictions import Department, Jurisdiction
from open311.core.closure import CLOSURE_CODES, DUPLICATE
from open311.delivery.status import Recorded, clean_update, map_status, record_update, survivor_of
from open311.errors import BadRequest
from open311.media.store import MediaStore
from open311.media.uploads import StoredPhoto, discard_photos, save_photos
from open311.staff.accounts import AGENT, SUPERVISOR
from open311.storage.models import ServiceRequest, StaffAccount, StaffAssignment, StaffNote, UpdateMedia

SOURCE = "staff"
MAX_NOTE = 2000
# Closure codes staff pick with a status (duplicate has its own action, naming the surviving request).
STAFF_CLOSURE_CODES = tuple(code for code in CLOSURE_CODES if code != DUPLICATE)


def statuses_of(department: Department) -> list[tuple[str, str]]:
    """The back-office statuses staff can set, with the public status each maps to (the status_map's order)."""
    return [(external, public) for external, public in department.status_map.items()]


def _status_for(department: Department, public: str, prefer: tuple[str, ...]) -> str | None:
    """A back-office status of the department mapping to `public`, preferring the names given."""
    for name in prefer:
        for external, mapped in department.status_map.items():
            if external.casefold() == name.casefold() and mapped == public:
                return external
    return next((external for external, mapped in department.status_map.items() if mapped == public), None)


def _text(value: str | None) -> str | None:
    """A note as typed: trimmed, None when empty; 400 when too long."""
    text = (value or "").strip()
    if len(text) > MAX_NOTE:
        raise BadRequest(f"A note is at most {MAX_NOTE} characters; this one has {len(text)}.")
    return text or None


def _record(session: Session, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest,
            status: str, now: datetime, *, note: str | None = None, media_url: str | None = None,
            closure_code: str | None = None, duplicate_of: str | None = None) -> Recorded:
    """One staff update through record_update (a random update_id: staff updates are never replays)."""
    remote = RemoteUpdate(update_id=f"staff-{secrets.token_hex(8)}", external_id=None,
                          service_request_id=str(row.id), status=status, updated_datetime=now, description=note,
                          media_url=media_url, closure_code=closure_code, duplicate_of=duplicate_of)
    return record_update(session, jurisdiction, department, row.id, clean_update(remote, now), source=SOURCE, now=now)


def set_status(session: Session, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest,
               external_status: str, now: datetime, *, note: str | None = None, closure_code: str | None = None,
               photo_url: str | None = None) -> Recorded:
    """Set a back-office status (with a public note, and for a closure its reason and photo)."""
    public = map_status(department, external_status)
    problems = []
    if public is None:
        problems.append(f"{external_status[:40]!r} is not a status of {department.name}.")
    code = (closure_code or "").strip() or None
    if code is not None and code not in STAFF_CLOSURE_CODES:
        problems.append(f"The reason must be one of {', '.join(STAFF_CLOSURE_CODES)} (use 'Mark as duplicate' "
                        "for a duplicate).")
    if public == "closed" and code is None and not department.closure_codes.get(external_status):
        problems.append("Say why the request is closed: choose a reason.")
    if public != "closed" and (code is not None or photo_url):
        problems.append("A reason and a closure photo go only with a status that closes the request.")
    text = _text(note)
    if problems:
        raise BadRequest(*problems)
    return _record(session, jurisdiction, department, row, external_status, now, note=text, media_url=photo_url,
                   closure_code=code)


def add_public_note(session: Session, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest,
                    current_external: str | None, note: str | None, now: datetime) -> Recorded:
    """A public note: an update keeping the request's status, with the note as its description."""
    text = _text(note)
    if text is None:
        raise BadRequest("The note is empty.")
    status = current_external if current_external and map_status(department, current_external) == row.status \
        else _status_for(department, row.status, ("OPEN", "NEW", "CLOSED"))
    if status is None:
        raise BadRequest(f"{department.name} has no status for {row.status!r} requests in its status_map.")
    return _record(session, jurisdiction, department, row, status, now, note=text)


def add_internal_note(session: Session, row: ServiceRequest, staff: StaffAccount, note: str | None,
                      now: datetime) -> StaffNote:
    """An internal note: stored for the department's staff pages only, never published."""
    text = _text(note)
    if text is None:
        raise BadRequest("The note is empty.")
    item = StaffNote(request_id=row.id, staff_id=staff.id, body=text, created_at=now)
    with session.begin():
        session.add(item)
    return item


def assign(session: Session, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest,
           by: StaffAccount, assignee_id: int, now: datetime) -> StaffAccount:
    """Assign the request to an enabled agent or supervisor of its department (supervisors only); an open request
    moves to the department's ASSIGNED status when its status_map has one (a public milestone)."""
    if by.role != SUPERVISOR:
        raise BadRequest("Only a supervisor assigns requests.")
    with session.begin():
        person = session.get(StaffAccount, assignee_id)
        if person is None or person.disabled_at is not None or person.department != department.code \
                or person.jurisdiction_id != jurisdiction.id or person.role not in (AGENT, SUPERVISOR):
            raise BadRequest("Choose a person of this department.")
        held = session.get(StaffAssignment, row.id)
        if held is None:
            session.add(StaffAssignment(request_id=row.id, staff_id=person.id, assigned_by=by.id, assigned_at=now))
        else:
            held.staff_id, held.assigned_by, held.assigned_at = person.id, by.id, now
    status = _status_for(department, "open", ("ASSIGNED",))
    if row.status == "open" and status is not None and status.casefold() == "assigned":
        _record(session, jurisdiction, department, row, status, now)
    return person


def mark_duplicate(session: Session, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest,
                   survivor: str, now: datetime, *, note: str | None = None) -> Recorded:
    """Close the request as a duplicate of another request of the jurisdiction (its followers move there)."""
    text = (survivor or "").strip().lstrip("#")
    closed = _status_for(department, "closed", ("CLOSED", "COMPLETED"))
    if closed is None:
        raise BadRequest(f"{department.name} has no closing status in its status_map.")
    probe = RemoteUpdate(update_id="probe", external_id=None, service_request_id=str(row.id), status=closed,
                         updated_datetime=now, closure_code=DUPLICATE, duplicate_of=text)
    if survivor_of(session, jurisdiction, row.id, DUPLICATE, probe) is None:
        raise BadRequest(f"{text[:20]!r} is not another request of {jurisdiction.name}.")
    return _record(session, jurisdiction, department, row, closed, now, note=_text(note), closure_code=DUPLICATE,
                   duplicate_of=text)


def store_closure_photo(session: Session, store: MediaStore, row: ServiceRequest, photo: StoredPhoto,
                        now: datetime) -> str:
    """Store a processed closure photo and its row (so /media/ serves it); return its public URL."""
    save_photos(store, [photo])
    item = UpdateMedia(request_id=row.id, name=photo.name, url=photo.url, content_type=photo.photo.content_type,
                       size=len(photo.photo.data), width=photo.photo.width, height=photo.photo.height,
                       sha256=photo.photo.sha256, created_at=now)
    try:
        with session.begin():
            session.add(item)
    except Exception:
        discard_photos(store, [photo])
        raise
    return photo.url

