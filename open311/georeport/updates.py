"""POST servicerequestupdates: back offices push status updates (mySociety's fields), with a department key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import tzinfo

from flask import Response, request
from flask.views import MethodView

from open311.adapter import RemoteUpdate
from open311.config.jurisdictions import Department, Jurisdiction
from open311.core.closure import CLOSURE_CODES, closure_code_of
from open311.core.dates import parse_datetime
from open311.delivery.status import InvalidUpdate, clean_update, find_request, map_status, record_update
from open311.errors import BadRequest, Conflict, Forbidden, NotFound
from open311.georeport import openapi
from open311.georeport.app import current_services
from open311.georeport.auth import api_key_of
from open311.georeport.blueprint import blp
from open311.georeport.parsing import param, parse_submission
from open311.georeport.render import Many
from open311.georeport.respond import respond
from open311.georeport.sandbox import jurisdiction_of
from open311.georeport.update_feed import updates_feed
from open311.georeport.views import check_format
from open311.intake.keys import check_department_key
from open311.storage.models import StatusUpdate

REQUIRED = ("service_request_id", "update_id", "status", "updated_datetime")
XML_ROOTS = ("request_update", "service_request_update", "update", "request")


def _update_of(fields: Mapping[str, str], tz: tzinfo) -> RemoteUpdate:
    """Read mySociety's update fields, reporting every missing or malformed one at once."""
    problems = [f"{name} was not provided." for name in REQUIRED if not param(fields, name)]
    updated = None
    raw = param(fields, "updated_datetime")
    if raw:
        try:
            updated = parse_datetime(raw, tz)
        except ValueError:
            problems.append(f"updated_datetime must be a W3C datetime such as 2026-01-01T00:00:00Z, got {raw[:40]!r}.")
    code = param(fields, "closure_code")
    if code and closure_code_of(code) is None:
        problems.append(f"closure_code must be one of {', '.join(CLOSURE_CODES)}, got {code[:40]!r}.")
    duplicate_of = param(fields, "duplicate_of")
    if duplicate_of and not (duplicate_of.isascii() and duplicate_of.isdigit() and len(duplicate_of) <= 18):
        problems.append(f"duplicate_of must be a service_request_id, got {duplicate_of[:40]!r}.")
    elif duplicate_of and code and closure_code_of(code) not in (None, "duplicate"):
        problems.append("duplicate_of is given only with closure_code duplicate.")
    if problems:
        raise BadRequest(*problems)
    assert updated is not None
    return RemoteUpdate(update_id=param(fields, "update_id") or "", external_id=None,
                        service_request_id=param(fields, "service_request_id"), status=param(fields, "status") or "",
                        updated_datetime=updated, description=fields.get("description"),
                        media_url=param(fields, "media_url"), closure_code=closure_code_of(code),
                        duplicate_of=duplicate_of)


def _choose_status(department: Department, remote: RemoteUpdate, code: str | None) -> RemoteUpdate:
    """Map `status`; when the status_map lacks it, fall back to the back office's external_status_code."""
    if code and map_status(department, remote.status) is None and map_status(department, code) is not None:
        return replace(remote, status=code)
    return remote


def _same(stored: StatusUpdate, request_id: int, remote: RemoteUpdate) -> bool:
    """True when a repeated update_id carries what was stored the first time (a retry, not a conflict)."""
    return (stored.request_id == request_id and stored.external_status == remote.status
            and stored.updated_datetime == remote.updated_datetime and stored.description == remote.description
            and (remote.closure_code is None or stored.closure_code == remote.closure_code))


def _department(jurisdiction: Jurisdiction, code: str | None) -> Department:
    """The department a key belongs to, if it is still configured."""
    department = jurisdiction.departments.get(code or "")
    if department is None:
        raise Forbidden("Invalid api_key received: its department is not configured.")
    return department


@blp.route("/servicerequestupdates.<fmt>", parameters=[openapi.FMT])
class ServiceRequestUpdates(MethodView):
    """Service request updates (mySociety extension): the public feed (GET) and back-office pushes (POST)."""

    @openapi.documented(openapi.UPDATE_FEED)
    def get(self, fmt: str) -> Response:
        """Status updates in commit order; follow X-Next-Cursor / Link rel=next to never miss or re-read one."""
        return updates_feed(fmt)

    @openapi.documented(openapi.PUSH_UPDATE)
    def post(self, fmt: str) -> Response:
        """Record one update for a request of the key's department; a repeated identical update is a no-op."""
        check_format(fmt)
        gateway = current_services()
        submission = parse_submission(request, XML_ROOTS)
        fields = submission.fields
        jurisdiction = jurisdiction_of(gateway, fields)
        with gateway.session() as session:
            key = check_department_key(session, jurisdiction.id, api_key_of(request, submission))
            department = _department(jurisdiction, key.department)
            now = gateway.clock()
            remote = _choose_status(department, _update_of(fields, jurisdiction.timezone),
                                    param(fields, "external_status_code"))
            try:
                remote = clean_update(remote, now)
            except InvalidUpdate as exc:
                raise BadRequest(f"{exc}.") from None
            target = find_request(session, jurisdiction, department, remote)
            if target is None:
                raise NotFound(f"service_request_id {str(remote.service_request_id)[:64]!r} not found.")
            recorded = record_update(session, jurisdiction, department, target.id, remote, source="push", now=now)
        if not recorded.created and not _same(recorded.update, target.id, remote):
            raise Conflict(f"update_id {remote.update_id[:100]!r} already exists with different content.")
        document = Many("request_update", [{"update_id": recorded.update.update_id}])
        return respond(fmt, "service_request_updates", document)
