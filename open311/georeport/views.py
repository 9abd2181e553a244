"""The GeoReport v2 routes: discovery, services, definitions, requests (GET/POST), tokens."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from ..dates import parse_datetime
from ..errors import BadRequest, NotFound
from ..gateway import Gateway, get_gateway
from ..keys import check_key
from ..models import CatalogVersion
from ..service_requests import (
    MAX_RESULTS,
    RequestQuery,
    find_requests,
    find_service,
    get_request,
    resolve_token,
    submit_request,
)
from . import documents
from .auth import api_key_of, key_row
from .blueprint import blp
from .parsing import param, param_list, submission_of
from .respond import raw_response, respond

FORMATS = ("xml", "json")
STATUSES = ("open", "closed")


def check_format(fmt: str) -> str:
    """Only .xml and .json exist; anything else is a missing resource."""
    if fmt not in FORMATS:
        raise NotFound(f"Unknown format {fmt[:20]!r}: use .xml or .json.")
    return fmt


def _jurisdiction_arg(gateway: Gateway) -> Any:
    return gateway.jurisdiction(param(request.args, "jurisdiction_id"))


def _changeset(gateway: Gateway) -> Any:
    """When the current catalog content was first served (recorded once per fingerprint)."""
    fingerprint = "-".join(j.catalog.fingerprint for j in gateway.config.jurisdictions.values())
    key = ("changeset", fingerprint)
    if key not in gateway.cache:
        with gateway.session() as session:
            try:
                with session.begin():
                    if session.get(CatalogVersion, fingerprint) is None:
                        session.add(CatalogVersion(fingerprint=fingerprint, first_seen=gateway.clock()))
            except IntegrityError:  # another worker recorded it first
                pass
            with session.begin():
                row = session.get(CatalogVersion, fingerprint)
            assert row is not None
            gateway.cache[key] = row.first_seen
    return gateway.cache[key]


@blp.route("/discovery.<fmt>")
class Discovery(MethodView):
    """Service Discovery."""

    def get(self, fmt: str) -> Response:
        """Where the endpoint is, the formats it speaks, and when its catalog last changed."""
        check_format(fmt)
        gateway = get_gateway()
        url = request.url_root.rstrip("/") + blp.url_prefix
        doc = documents.discovery_document(_changeset(gateway), gateway.config.contact,
                                           gateway.config.key_service, url)
        return respond(fmt, "discovery", doc)


@blp.route("/services.<fmt>")
class Services(MethodView):
    """GET Service List."""

    def get(self, fmt: str) -> Response:
        """Every request type of the jurisdiction."""
        check_format(fmt)
        gateway = get_gateway()
        jurisdiction = _jurisdiction_arg(gateway)
        key = ("services", jurisdiction.id, fmt)
        body = gateway.cache.get(key)
        if body is None:
            body = gateway.cache[key] = documents.render_services(fmt, jurisdiction.catalog)
        return raw_response(fmt, body)


@blp.route("/services/<service_code>.<fmt>")
class ServiceDefinition(MethodView):
    """GET Service Definition."""

    def get(self, service_code: str, fmt: str) -> Response:
        """The questions (attributes) of one service."""
        check_format(fmt)
        gateway = get_gateway()
        service = find_service(_jurisdiction_arg(gateway), service_code)
        return respond(fmt, "service_definition", documents.definition_document(service))


def _request_query(jurisdiction: Any) -> RequestQuery:
    """Parse GET requests' filters, reporting every bad one at once."""
    args = request.args
    problems: list[str] = []
    statuses = tuple(s.lower() for s in param_list(args, "status"))
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        problems.append(f"status must be open or closed, got {', '.join(repr(b[:20]) for b in bad)}.")
    dates: dict[str, Any] = {}
    for name in ("start_date", "end_date"):
        raw = param(args, name) or ""
        try:
            dates[name] = parse_datetime(raw, jurisdiction.timezone) if raw else None
        except ValueError:
            problems.append(f"{name} must be a W3C datetime such as 2026-01-01T00:00:00Z, got {raw[:40]!r}.")
    ids = param_list(args, "service_request_id")
    if len(ids) > MAX_RESULTS:
        problems.append(f"At most {MAX_RESULTS} service_request_id values may be given.")
    if problems:
        raise BadRequest(*problems)
    return RequestQuery(service_request_ids=ids, service_codes=param_list(args, "service_code"),
                        statuses=statuses, start=dates["start_date"], end=dates["end_date"])


@blp.route("/requests.<fmt>")
class Requests(MethodView):
    """GET Service Requests and POST Service Request."""

    def get(self, fmt: str) -> Response:
        """Requests of the last 90 days (or the given window), newest first, at most 1000."""
        check_format(fmt)
        gateway = get_gateway()
        jurisdiction = _jurisdiction_arg(gateway)
        query = _request_query(jurisdiction)
        with gateway.feed_session() as session:  # the replica, when there is one
            rows = find_requests(session, jurisdiction, query, gateway.clock())
        return respond(fmt, "service_requests", documents.requests_document(rows, jurisdiction.timezone))

    def post(self, fmt: str) -> Response:
        """Create a service request (form-encoded, JSON or XML body); needs an API key."""
        check_format(fmt)
        gateway = get_gateway()
        submission = submission_of(request)
        jurisdiction = gateway.jurisdiction(param(submission.fields, "jurisdiction_id")
                                            or param(request.args, "jurisdiction_id"))
        with gateway.session() as session:
            key = None
            if jurisdiction.api_key_required:
                key = check_key(session, jurisdiction.id, api_key_of(request, submission), key_row)
            result = submit_request(session, jurisdiction, submission, key, gateway.clock())
        return respond(fmt, "service_requests", documents.submitted_document(result))


@blp.route("/requests/<service_request_id>.<fmt>")
class RequestById(MethodView):
    """GET Service Request."""

    def get(self, service_request_id: str, fmt: str) -> Response:
        """One request, still wrapped in a list."""
        check_format(fmt)
        gateway = get_gateway()
        jurisdiction = _jurisdiction_arg(gateway)
        with gateway.session() as session:
            row = get_request(session, jurisdiction, service_request_id)
        return respond(fmt, "service_requests", documents.requests_document([row], jurisdiction.timezone))


@blp.route("/tokens/<token>.<fmt>")
class Token(MethodView):
    """GET service_request_id from a token."""

    def get(self, token: str, fmt: str) -> Response:
        """The request id behind a token returned by a batch service."""
        check_format(fmt)
        gateway = get_gateway()
        jurisdiction = _jurisdiction_arg(gateway)
        with gateway.session() as session:
            request_id, token = resolve_token(session, jurisdiction, token)
        return respond(fmt, "service_requests", documents.token_document(request_id, token))
