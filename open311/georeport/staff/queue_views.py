"""The queue of a department and a request's page, with the actions staff take on it."""

from __future__ import annotations

import json

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue

from open311.config.jurisdictions import Department, Jurisdiction
from open311.core.closure import CLOSURE_CODES
from open311.core.sla_clock import SLA_STATES
from open311.delivery.status import map_status
from open311.errors import BadRequest, NotFound
from open311.georeport.media_files import served_media_policy
from open311.georeport.staff.web import bp, check_csrf, desk_of, gateway, note, now, page, refuse, require
from open311.media.uploads import Upload, take_photos
from open311.staff import actions, case, queue
from open311.staff.accounts import AGENT, OPERATOR, SUPERVISOR, department_staff
from open311.storage.models import ServiceRequest, StaffAccount

DONE = {"status": "The status is set.", "note_public": "The public note is published.",
        "note_internal": "The internal note is saved.", "assign": "The request is assigned.",
        "duplicate": "The request is closed as a duplicate."}
WORKERS = (AGENT, SUPERVISOR)
MAX_ID = 2**63 - 1   # the largest id a BIGINT column holds


def _desk(staff: StaffAccount) -> tuple[Jurisdiction, Department]:
    """The account's queue, or a page saying it has none."""
    found = desk_of(staff)
    if found is None:
        refuse(404, "Your account has no staff queue: its department does not use the staff adapter.")
    return found


def _points(items: list[queue.Item]) -> str:
    """The queue's located requests for the map script (public fields only)."""
    return _json([{"id": i.id, "lat": i.lat, "long": i.long, "service": i.service_name,
                   "url": url_for("staff.request_page", request_id=i.id)}
                  for i in items if i.lat is not None and i.long is not None])


def _json(value: object) -> str:
    """JSON safe inside a <script type="application/json"> element (no "<" to end it early)."""
    return json.dumps(value).replace("<", "\\u003c")


@bp.get("/", endpoint="queue")
def queue_page() -> ResponseReturnValue:
    """The department's queue (operators go to the delivery dashboard)."""
    staff = require()
    if staff.role == OPERATOR:
        return redirect(url_for("staff.delivery"), 303)
    jurisdiction, department = _desk(staff)
    services = {s.service_code: s.service_name for s in jurisdiction.catalog.services.values()
                if s.department == department.code}
    filters, problems = queue.read_filters(request.args.to_dict(), set(services))
    with gateway().session() as session:
        found = queue.find_queue(session, jurisdiction.id, department.code, filters, me=staff.id, now=now())
    return page("queue.html", jurisdiction=jurisdiction, department=department, filters=filters,
                problems=problems, result=found, services=sorted(services.items(), key=lambda kv: kv[1]),
                points=_points(found.items), sla_states=SLA_STATES, statuses=queue.STATUSES,
                sorts=queue.SORTS, assigned=queue.ASSIGNED, args=request.args.to_dict())


def _request_of(staff: StaffAccount, request_id: int) -> tuple[Jurisdiction, Department, ServiceRequest]:
    """The request when it is in the account's queue; 404 (audited) for any other."""
    jurisdiction, department = _desk(staff)
    storable = request_id if 0 < request_id <= MAX_ID else None  # a path may carry any number of digits
    try:
        if storable is None:
            raise NotFound(case.NOT_FOUND)
        with gateway().session() as session:
            row = case.department_request(session, jurisdiction.id, department.code, storable)
    except NotFound:
        note("denied", staff=staff, request_id=storable, detail=f"{request.method} {request.path[:200]}")
        raise
    return jurisdiction, department, row


def _case_page(staff: StaffAccount, jurisdiction: Jurisdiction, department: Department, row: ServiceRequest, *,
               show_contact: bool = False, problems: tuple[str, ...] = (), status: int = 200) -> ResponseReturnValue:
    """The request page (contact details only when allowed and asked for: that showing is audited)."""
    with gateway().session() as session:
        found = case.load_case(session, department, row, show_contact=show_contact)
        people = department_staff(session, jurisdiction.id, department.code) if staff.role == SUPERVISOR else []
    if show_contact and found.contacts:
        note("view_contact", staff=staff, request_id=row.id, detail=f"{len(found.contacts)} contact(s) shown")
    service = jurisdiction.catalog.services.get(row.service_code)
    return page("request.html", status, jurisdiction=jurisdiction, department=department, case=found,
                service=service, people=people, statuses=actions.statuses_of(department),
                closure_codes=actions.STAFF_CLOSURE_CODES, all_codes=CLOSURE_CODES, problems=problems,
                done=DONE.get(request.args.get("done", "")), show_contact=show_contact,
                points=_json([{"id": row.id, "lat": row.lat, "long": row.long, "service": row.service_name}]
                             if row.lat is not None and row.long is not None else []))


@bp.get("/requests/<int:request_id>")
def request_page(request_id: int) -> ResponseReturnValue:
    """A request's case file; `?contact=1` shows the residents' contact details when the policy allows."""
    staff = require(*WORKERS)
    jurisdiction, department, row = _request_of(staff, request_id)
    return _case_page(staff, jurisdiction, department, row, show_contact=request.args.get("contact") == "1")


def _acted(staff: StaffAccount, action: str, row: ServiceRequest, detail: str) -> ResponseReturnValue:
    """Audit a done action and go back to the request page (303: a reload does not repeat it)."""
    note(action, staff=staff, request_id=row.id, detail=detail)
    return redirect(url_for("staff.request_page", request_id=row.id, done=action), 303)


def _closure_photo(row: ServiceRequest) -> str | None:
    """The uploaded closure photo, processed and stored like a resident's; its public URL (None: none sent)."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    services = gateway()
    policy = served_media_policy(services.media_policy)
    if policy is None or services.media is None:
        raise BadRequest("Photos are not stored by this gateway: leave the photo out.")
    photos = take_photos([Upload("photo", upload.read(), upload.filename)], policy)
    with services.session() as session:
        return actions.store_closure_photo(session, services.media, row, photos[0], now())


def _act(request_id: int, *roles: str) -> tuple[StaffAccount, Jurisdiction, Department, ServiceRequest]:
    """Every action's preamble: logged in with the role, CSRF checked, the request in the account's queue."""
    staff = require(*(roles or WORKERS))
    check_csrf()
    return (staff, *_request_of(staff, request_id))


def _fresh(row: ServiceRequest) -> ServiceRequest:
    """The request as stored now (after an action changed it)."""
    with gateway().session() as session, session.begin():
        found = session.get(ServiceRequest, row.id)
    return found or row


@bp.post("/requests/<int:request_id>/status")
def set_status(request_id: int) -> ResponseReturnValue:
    """Set a status; a closing one takes a reason and optionally a closure photo."""
    staff, jurisdiction, department, row = _act(request_id)
    form = request.form
    try:
        photo = _closure_photo(row) if form.get("status") and map_status(
            department, form.get("status", "")) == "closed" else None
        with gateway().session() as session:
            actions.set_status(session, jurisdiction, department, row, form.get("status", ""), now(),
                               note=form.get("note"), closure_code=form.get("closure_code") or None,
                               photo_url=photo)
    except BadRequest as exc:
        return _case_page(staff, jurisdiction, department, row, problems=exc.descriptions, status=400)
    code = form.get("closure_code") or "-"
    return _acted(staff, "status", row, f"status {form.get('status', '')[:40]}, closure {code[:20]}"
                  f"{', photo' if photo else ''}")


@bp.post("/requests/<int:request_id>/note")
def add_note(request_id: int) -> ResponseReturnValue:
    """A public note (published with the request) or an internal one (never published)."""
    staff, jurisdiction, department, row = _act(request_id)
    internal = request.form.get("visibility") == "internal"
    try:
        with gateway().session() as session:
            if internal:
                actions.add_internal_note(session, row, staff, request.form.get("note"), now())
            else:
                current = case.load_case(session, department, row, show_contact=False).external_status
                actions.add_public_note(session, jurisdiction, department, row, current, request.form.get("note"),
                                        now())
    except BadRequest as exc:
        return _case_page(staff, jurisdiction, department, row, problems=exc.descriptions, status=400)
    return _acted(staff, "note_internal" if internal else "note_public", row, "internal note" if internal
                  else "public note")


@bp.post("/requests/<int:request_id>/assign")
def assign(request_id: int) -> ResponseReturnValue:
    """Assign to a person of the department (supervisors)."""
    staff, jurisdiction, department, row = _act(request_id, SUPERVISOR)
    chosen = request.form.get("assignee") or ""
    try:
        if not (chosen.isdigit() and len(chosen) < 19):
            raise BadRequest("Choose a person of this department.")
        with gateway().session() as session:
            person = actions.assign(session, jurisdiction, department, row, staff, int(chosen), now())
    except BadRequest as exc:
        return _case_page(staff, jurisdiction, department, row, problems=exc.descriptions, status=400)
    return _acted(staff, "assign", row, f"assigned to staff {person.id}")


@bp.post("/requests/<int:request_id>/duplicate")
def duplicate(request_id: int) -> ResponseReturnValue:
    """Close as a duplicate of another request (which takes over the followers)."""
    staff, jurisdiction, department, row = _act(request_id)
    survivor = (request.form.get("duplicate_of") or "").strip()
    try:
        with gateway().session() as session:
            actions.mark_duplicate(session, jurisdiction, department, row, survivor, now(),
                                   note=request.form.get("note"))
    except BadRequest as exc:
        return _case_page(staff, jurisdiction, department, _fresh(row), problems=exc.descriptions, status=400)
    return _acted(staff, "duplicate", row, f"duplicate of {survivor[:20]}")

