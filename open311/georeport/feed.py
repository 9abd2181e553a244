"""GET requests.{xml,json}: the feed with its extensions, rendered with paging headers."""

from __future__ import annotations

from flask import Response, current_app, request

from ..gateway import get_gateway
from ..history import updates_by_request
from ..media import media_by_request
from ..request_search import find_requests
from . import documents
from .feed_params import request_query
from .paging import paging_headers
from .parsing import param
from .respond import respond

DEFAULT_COUNT_CAP = 10_000


def feed_response(fmt: str) -> Response:
    """Parse the filters, read one page, render it; counts and links go in headers."""
    gateway = get_gateway()
    jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
    query, extensions = request_query(jurisdiction.timezone)
    cap = int(current_app.config.get("OPEN311_COUNT_CAP", DEFAULT_COUNT_CAP)) if query.paged else 0
    with gateway.feed_session() as session:  # the replica, when there is one
        page = find_requests(session, jurisdiction, query, gateway.clock(), count_cap=cap)
        history = updates_by_request(session, [r.id for r in page.rows]) if extensions else None
        media = media_by_request(session, [r.id for r in page.rows]) if extensions else None
    doc = documents.requests_document(page.rows, jurisdiction.timezone, history, media)
    response = respond(fmt, "service_requests", doc, headers=paging_headers(query, page, cap))
    if page.rows:
        response.last_modified = max(r.updated_datetime for r in page.rows)
    return response
