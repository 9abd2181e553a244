"""GET duplicates.{fmt} (requests that may be the same problem), POST requests/{id}/followers.{fmt} and
POST requests/{id}/reopen.{fmt} (a resident's "not fixed")."""

from __future__ import annotations

from datetime import datetime

from flask import Response, request
from flask.views import MethodView
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core import params
from open311.core.numbers import FROM_TO, number_in
from open311.feeds.duplicates import find_duplicates
from open311.feeds.history import updates_by_request
from open311.feeds.reporters import reporter_counts
from open311.feeds.sla import recompute_clock
from open311.feeds.stats import DEFAULT_DAYS, MAX_DAYS, performance
from open311.feeds.subscriptions import enqueue_callbacks
from open311.georeport import documents, openapi
from open311.georeport.app import current_services
from open311.georeport.auth import api_key_of, key_row
from open311.georeport.blueprint import blp
from open311.georeport.feed_params import Problems, flag, noted
from open311.georeport.media_files import served_media_policy
from open311.georeport.notice_intake import notice_setup
from open311.georeport.parsing import param, submission_of
from open311.georeport.respond import respond
from open311.georeport.sandbox import jurisdiction_of
from open311.georeport.views import check_format
from open311.intake.followers import add_follower
from open311.intake.keys import check_key
from open311.intake.reopen import OnUpdate, reopen_request
from open311.intake.submit import Submission, get_request
from open311.media.uploads import MediaPolicy, media_by_request
from open311.services import Services
from open311.storage.models import StatusUpdate

STATS_MAX_AGE = 300   # seconds: figures over days change slowly; a dashboard's refresh need not reach the database


def reopen_hook(jurisdiction: Jurisdiction) -> OnUpdate:
    """What a reopen's status row sets off in its transaction: the subscribers' callbacks, and the SLA clock
    recomputed (a new clock from the reopen, so its at_risk and breached events are sent again)."""
    def hook(session: Session, row: StatusUpdate, now: datetime) -> None:
        enqueue_callbacks(session, row, now)
        recompute_clock(session, jurisdiction, row.request_id, now)
    return hook


@blp.route("/duplicates.<fmt>", parameters=[openapi.FMT])
class Duplicates(MethodView):
    """GET duplicates: a service's requests near a point, nearest first."""

    @openapi.documented(openapi.DUPLICATES)
    def get(self, fmt: str) -> Response:
        """Requests of service_code within its duplicate radius and window of lat/long: open or recently closed,
        nearest first, at most 20; the same document as GET requests (extensions=true adds reporter_count)."""
        check_format(fmt)
        gateway = current_services()
        jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
        problems = Problems()
        code = param(request.args, "service_code")
        service = jurisdiction.catalog.get(code) if code else None
        if not code:
            problems.append("service_code is required.")
        elif service is None:
            problems.append(f"service_code {code[:64]!r} is not a service of this jurisdiction.")
        lat = number_in(param(request.args, "lat"), "lat", -90, 90, problems, wording=FROM_TO)
        lon = number_in(param(request.args, "long"), "long", -180, 180, problems, wording=FROM_TO)
        for name, value in (("lat", "lat"), ("long", "long")):
            if param(request.args, value) is None:
                problems.append(f"{name} is required.")
        extensions = flag(request.args, "extensions", problems)
        problems.raise_any()
        assert service is not None and lat is not None and lon is not None
        with gateway.feed_session() as session:
            rows = [c.request for c in find_duplicates(session, jurisdiction, service, lat, lon, gateway.clock())]
            ids = [row.id for row in rows]
            history = updates_by_request(session, ids) if extensions else None
            media = media_by_request(session, ids) if extensions else None
            reporters = reporter_counts(session, ids) if extensions else None
        doc = documents.requests_document(rows, jurisdiction.timezone, history, media, reporters,
                                          gateway.clock())
        return respond(fmt, "service_requests", doc)


def _posted_to_a_request() -> tuple[Services, Submission, Jurisdiction, MediaPolicy | None]:
    """What a POST to a request (a follower, a reopen) works with: the services, its parsed body (photos
    included), its jurisdiction and the photo policy with this gateway's /media/ prefix."""
    gateway = current_services()
    submission = submission_of(request)
    jurisdiction = jurisdiction_of(gateway, submission.fields)
    return gateway, submission, jurisdiction, served_media_policy(gateway.media_policy)


@blp.route("/requests/<service_request_id>/followers.<fmt>", parameters=[
    openapi.path_parameter("service_request_id", "The request another resident reports again."), openapi.FMT])
class Followers(MethodView):
    """POST a follower: another resident's report of a request's problem."""

    @openapi.documented(openapi.FOLLOW)
    def post(self, service_request_id: str, fmt: str) -> Response:
        """Add a follower (contact, description, answers, photos: all write-only) to a request; it reaches the
        department once, as an addition to the request's ticket."""
        check_format(fmt)
        gateway, submission, jurisdiction, media = _posted_to_a_request()
        with gateway.session() as session:
            key = None
            if jurisdiction.api_key_required:
                key = check_key(session, jurisdiction.id, api_key_of(request, submission), key_row)
            followed = add_follower(session, jurisdiction, service_request_id, submission, key, gateway.clock(),
                                    policy=gateway.policies.dedup, media=media,
                                    notices=notice_setup(gateway, jurisdiction.catalog, submission.fields))
        headers = {"Idempotent-Replayed": "true"} if followed.replayed else None
        doc = documents.followed_document(followed.service_request_id, followed.follower_id)
        return respond(fmt, "followers", doc, headers=headers)


@blp.route("/requests/<service_request_id>/reopen.<fmt>", parameters=[
    openapi.path_parameter("service_request_id", "The closed request that is not fixed."), openapi.FMT])
class Reopen(MethodView):
    """POST reopen: the submitter or a follower says a closed request is not fixed."""

    @openapi.documented(openapi.REOPEN)
    def post(self, service_request_id: str, fmt: str) -> Response:
        """Reopen a request closed within its service's reopen_days (the submitting key or a follower's key);
        the description and photos are write-only and reach the department once, like a follower's."""
        check_format(fmt)
        gateway, submission, jurisdiction, media = _posted_to_a_request()
        with gateway.session() as session:
            get_request(session, jurisdiction, service_request_id)   # 404 before the key is asked for
            key = check_key(session, jurisdiction.id, api_key_of(request, submission), key_row)
            reopened = reopen_request(session, jurisdiction, service_request_id, submission, key, gateway.clock(),
                                      media=media, on_update=reopen_hook(jurisdiction))
        doc = documents.reopened_document(reopened.service_request_id, reopened.reopen_id, reopened.status)
        return respond(fmt, "reopens", doc)


@blp.route("/stats.<fmt>", parameters=[openapi.FMT])
class Stats(MethodView):
    """GET stats: public performance figures per department and service (docs/api.md)."""

    @openapi.documented(openapi.STATS)
    def get(self, fmt: str) -> Response:
        """Requests received and closed in the last `days` days, the share closed on time, median hours to close."""
        check_format(fmt)
        gateway = current_services()
        jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
        problems = Problems()
        raw_days = param(request.args, "days")
        days = DEFAULT_DAYS if raw_days is None else noted(problems, params.integer, raw_days, "days", 1, MAX_DAYS)
        department = param(request.args, "department")
        if department and department not in jurisdiction.departments:
            problems.append(f"department {department[:64]!r} is not a department of this jurisdiction.")
        code = param(request.args, "service_code")
        if code and jurisdiction.catalog.get(code) is None:
            problems.append(f"service_code {code[:64]!r} is not a service of this jurisdiction.")
        problems.raise_any()
        now = gateway.clock()
        with gateway.session() as session:
            found = performance(session, jurisdiction, now, days or DEFAULT_DAYS, department, code)
        response = respond(fmt, "stats", documents.stats_document(found, days or DEFAULT_DAYS))
        response.headers["Cache-Control"] = f"public, max-age={STATS_MAX_AGE}"
        return response
