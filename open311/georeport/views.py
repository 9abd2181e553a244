"""The GeoReport v2 routes: discovery, services, definitions, requests (GET/POST), tokens."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Response, request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from open311.config.jurisdictions import Jurisdiction
from open311.core.i18n import gettext as _
from open311.errors import NotFound
from open311.feeds.history import updates_by_request
from open311.feeds.reporters import reporter_counts
from open311.feeds.request_query import RequestQuery, find_requests
from open311.georeport import documents, openapi
from open311.georeport.app import current_services
from open311.georeport.auth import api_key_of, key_row
from open311.georeport.blueprint import blp
from open311.georeport.exports import EXPORTS
from open311.georeport.feed import feed_response
from open311.georeport.feed_params import Problems, flag
from open311.georeport.languages import catalog_locale, mark_language, translate_notice
from open311.georeport.locate import services_here
from open311.georeport.media_files import served_media_policy
from open311.georeport.notice_intake import notice_setup, status_url, wants_extensions
from open311.georeport.origin import production_root
from open311.georeport.parsing import param, submission_of
from open311.georeport.respond import raw_response, respond
from open311.georeport.response_cache import mark_record, mark_static
from open311.georeport.sandbox import jurisdiction_of
from open311.intake.dedup import check_idempotency_key, submit_once
from open311.intake.keys import check_key
from open311.intake.submit import find_service, get_request, resolve_token
from open311.media.uploads import media_by_request
from open311.services import Services as AppServices  # the view class Services is GET services
from open311.storage.models import CatalogVersion

FORMATS = ("xml", "json")


def check_format(fmt: str) -> str:
    """Only .xml and .json exist; anything else is a missing resource."""
    if fmt not in FORMATS:
        raise NotFound(f"Unknown format {fmt[:20]!r}: use .xml or .json.")
    return fmt


def _jurisdiction_arg(gateway: AppServices) -> Any:
    return gateway.jurisdiction(param(request.args, "jurisdiction_id"))


def _changeset(gateway: AppServices) -> Any:
    """When the current catalog content was first served (recorded once per fingerprint)."""
    fingerprint = "-".join(j.catalog.fingerprint for j in gateway.config.jurisdictions.values())
    seen = gateway.caches.catalog_first_seen
    if fingerprint not in seen:
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
            seen[fingerprint] = row.first_seen
    return seen[fingerprint]


@blp.route("/discovery.<fmt>", parameters=[openapi.FMT])
class Discovery(MethodView):
    """Service Discovery."""

    @openapi.documented(openapi.SIMPLE["discovery"])
    def get(self, fmt: str) -> Response:
        """Where the endpoint is, the formats it speaks, and when its catalog last changed."""
        check_format(fmt)
        mark_static()
        gateway = current_services()
        root = production_root()
        single = gateway.config.single
        sandbox = gateway.config.sandbox_for(single.id) if single is not None else None
        test_url = f"{root}/sandbox{blp.url_prefix}" if sandbox is not None else None
        doc = documents.discovery_document(_changeset(gateway), gateway.config.contact,
                                           gateway.config.key_service, root + blp.url_prefix, test_url)
        return respond(fmt, "discovery", doc)


@blp.route("/services.<fmt>", parameters=[openapi.FMT])
class Services(MethodView):
    """GET Service List."""

    @openapi.documented(openapi.SIMPLE["services"])
    def get(self, fmt: str) -> Response:
        """Every request type of the jurisdiction; with lat and long, only those offered at that point."""
        check_format(fmt)
        mark_static()
        gateway = current_services()
        jurisdiction = _jurisdiction_arg(gateway)
        locale = catalog_locale(jurisdiction.catalog)
        located = services_here(gateway, jurisdiction, fmt, locale)
        if located is not None:
            return mark_language(located, locale)
        problems = Problems()
        extended = flag(request.args, "extensions", problems)
        problems.raise_any()
        key = (jurisdiction.id, fmt, locale, extended)
        body = gateway.caches.services.get(key)
        if body is None:
            departments = {d.code: d.name for d in jurisdiction.departments.values()} if extended else None
            body = gateway.caches.services[key] = documents.render_services(fmt, jurisdiction.catalog, locale,
                                                                            departments)
        return mark_language(raw_response(fmt, body), locale)


@blp.route("/services/<service_code>.<fmt>", parameters=[
    openapi.path_parameter("service_code", "A service_code of GET services."), openapi.FMT])
class ServiceDefinition(MethodView):
    """GET Service Definition."""

    @openapi.documented(openapi.SIMPLE["definition"])
    def get(self, service_code: str, fmt: str) -> Response:
        """The questions (attributes) of one service."""
        check_format(fmt)
        mark_static()
        gateway = current_services()
        jurisdiction = _jurisdiction_arg(gateway)
        locale = catalog_locale(jurisdiction.catalog)
        service = find_service(jurisdiction, service_code)
        localized = jurisdiction.catalog.services_in(locale)[service.service_code]
        return mark_language(respond(fmt, "service_definition", documents.definition_document(localized)), locale)


@blp.route("/service/<service_code>.<fmt>", parameters=[
    openapi.path_parameter("service_code", "A service_code of GET services."), openapi.FMT])
class ServiceDefinitionSingular(ServiceDefinition):
    """GET Service Definition at `service/` (singular), the path Code for America's `open311` client asks for."""


@blp.route("/requests.<fmt>", parameters=[openapi.FEED_FMT])
class Requests(MethodView):
    """GET Service Requests and POST Service Request."""

    @openapi.documented(openapi.FIND)
    def get(self, fmt: str) -> Response:
        """Requests of the last 90 days (or the given window), newest first, at most 1000 (or a page).

        Formats: xml, json, and the exports csv (formula-safe) and geojson (FeatureCollection).
        """
        if fmt in EXPORTS:
            return EXPORTS[fmt]()
        check_format(fmt)
        return feed_response(fmt)

    @openapi.documented(openapi.SUBMIT)
    def post(self, fmt: str) -> Response:
        """Create a service request (form-encoded, multipart with photos, JSON or XML body); needs an API key."""
        check_format(fmt)
        gateway = current_services()
        idempotency_key = check_idempotency_key(request.headers.get("Idempotency-Key"))
        submission = submission_of(request)
        jurisdiction = jurisdiction_of(gateway, submission.fields)
        locale = catalog_locale(jurisdiction.catalog)  # a bad locale is refused before anything is stored
        media = served_media_policy(gateway.media_policy)
        with gateway.session() as session:
            key = None
            if jurisdiction.api_key_required:
                key = check_key(session, jurisdiction.id, api_key_of(request, submission), key_row)
            outcome = submit_once(session, jurisdiction, submission, key, gateway.clock(),
                                  idempotency_key=idempotency_key, policy=gateway.policies.dedup,
                                  areas=gateway.areas(jurisdiction), media=media,
                                  notices=notice_setup(gateway, jurisdiction.catalog, submission.fields))
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        code = (submission.fields.get("service_code") or "").strip()
        result = replace(outcome.result, service_notice=translate_notice(
            outcome.result.service_notice, jurisdiction.catalog.get(code),
            jurisdiction.catalog.services_in(locale).get(code)))
        if wants_extensions() and result.service_request_id is not None:
            with gateway.session() as session:
                routing = get_request(session, jurisdiction, result.service_request_id).routing
            result = replace(result, status_url=status_url(gateway, int(result.service_request_id)), routing=routing)
        return mark_language(respond(fmt, "service_requests", documents.submitted_document(result), headers=headers),
                             locale)


@blp.route("/requests/<service_request_id>.<fmt>", parameters=[
    openapi.path_parameter("service_request_id", "The id POST returned."), openapi.FMT])
class RequestById(MethodView):
    """GET Service Request."""

    @openapi.documented(openapi.SIMPLE["request"])
    def get(self, service_request_id: str, fmt: str) -> Response:
        """One request, still wrapped in a list."""
        check_format(fmt)
        gateway = current_services()
        jurisdiction = _jurisdiction_arg(gateway)
        problems = Problems()
        extensions = flag(request.args, "extensions", problems)
        problems.raise_any()
        if not extensions:   # the feed's own read and its cached fragments: the same bytes, a fraction of the work
            return _one_request(gateway, jurisdiction, service_request_id, fmt)
        with gateway.session() as session:
            row = get_request(session, jurisdiction, service_request_id)
            history = updates_by_request(session, [row.id]) if extensions else None
            media = media_by_request(session, [row.id]) if extensions else None
            reporters = reporter_counts(session, [row.id]) if extensions else None
        doc = documents.requests_document([row], jurisdiction.timezone, history, media, reporters,
                                          gateway.clock())
        response = respond(fmt, "service_requests", doc)
        response.last_modified = row.updated_datetime
        return response


def _one_request(gateway: AppServices, jurisdiction: Jurisdiction, service_request_id: str, fmt: str) -> Response:
    """GET requests/{id} without extensions: read as the feed reads an id (find_requests, Core rows) and rendered
    from the feed's cached fragments, which are byte for byte what requests_document renders."""
    query = RequestQuery(service_request_ids=(service_request_id,), page_size=1)
    with gateway.session() as session:   # the primary: a Status screen asks right after its POST
        rows = find_requests(session, jurisdiction, query, gateway.clock(), extended=False).rows
    if not rows:
        raise NotFound(_("service_request_id %(id)r not found.", id=service_request_id[:64]))
    mark_record()   # kept by the response cache until the next write (SQLite)
    response = raw_response(fmt, documents.render_requests(fmt, rows, jurisdiction.timezone))
    response.last_modified = rows[0].updated_datetime
    return response


@blp.route("/tokens/<token>.<fmt>", parameters=[
    openapi.path_parameter("token", "The token POST returned for a batch service."), openapi.FMT])
class Token(MethodView):
    """GET service_request_id from a token."""

    @openapi.documented(openapi.SIMPLE["token"])
    def get(self, token: str, fmt: str) -> Response:
        """The request id behind a token returned by a batch service."""
        check_format(fmt)
        gateway = current_services()
        jurisdiction = _jurisdiction_arg(gateway)
        with gateway.session() as session:
            request_id, token = resolve_token(session, jurisdiction, token)
        return respond(fmt, "service_requests", documents.token_document(request_id, token))
