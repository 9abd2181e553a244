"""GET requests.{xml,json}: the feed with its extensions, rendered with paging headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response, current_app, request

from open311.config.jurisdictions import Jurisdiction
from open311.feeds.history import updates_by_request
from open311.feeds.reporters import reporter_counts
from open311.feeds.request_query import RequestPage, find_requests
from open311.georeport import documents
from open311.georeport.app import current_services
from open311.georeport.feed_params import request_query
from open311.georeport.paging import paging_headers
from open311.georeport.parsing import param
from open311.georeport.respond import raw_response, respond
from open311.georeport.response_cache import mark_data
from open311.media.uploads import media_by_request
from open311.storage.models import RequestMedia, StatusUpdate


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed as the request asked for it, and what its headers need."""

    jurisdiction: Jurisdiction
    page: RequestPage
    history: Mapping[int, Sequence[StatusUpdate]] | None
    media: Mapping[int, Sequence[RequestMedia]] | None
    reporters: Mapping[int, int] | None
    headers: dict[str, str]
    now: datetime  # the clock reading the page was computed at (its default window)


def read_feed(*, with_history: bool = True) -> FeedPage:
    """Parse the filters of this GET, read one page (and its notes and photos when extensions=true asks)."""
    gateway = current_services()
    jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
    query, extensions = request_query(jurisdiction.timezone)
    # The total is counted only when asked (count=true): up to the cap it reads every match, so a page that
    # costs the same at any table size would grow with the table (docs/feeds.md, Paging).
    cap: int = current_app.config["OPEN311_COUNT_CAP"] if query.paged and query.count else 0
    now = gateway.clock()
    wanted = extensions and with_history
    with gateway.feed_session() as session:  # the replica, when there is one
        page = find_requests(session, jurisdiction, query, now, count_cap=cap, extended=wanted)
        ids = [r.id for r in page.rows]
        history = updates_by_request(session, ids) if wanted else None
        media = media_by_request(session, ids) if wanted else None
        reporters = reporter_counts(session, ids) if wanted else None
    return FeedPage(jurisdiction, page, history, media, reporters, paging_headers(query, page, cap), now)


def feed_response(fmt: str) -> Response:
    """Read one page and render it; counts and links go in headers."""
    feed = read_feed()
    mark_data(feed.now)  # the same URL within the same second, on unchanged data, gets the same bytes
    tz = feed.jurisdiction.timezone
    if feed.history is None:  # the spec's entries: a join of cached fragments
        response = raw_response(fmt, documents.render_requests(fmt, feed.page.rows, tz), headers=feed.headers)
    else:
        doc = documents.requests_document(feed.page.rows, tz, feed.history, feed.media, feed.reporters,
                                          feed.now)
        response = respond(fmt, "service_requests", doc, headers=feed.headers)
    if feed.page.rows:
        response.last_modified = max(r.updated_datetime for r in feed.page.rows)
    return response
