"""GET servicerequestupdates.{fmt}: the mySociety update feed, plus a cursor for gap-free sync."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from open311.core.numbers import parse_ids
from open311.feeds.entries import update_entry
from open311.feeds.update_query import UpdateCursor, UpdatesQuery, find_updates
from open311.georeport.app import current_services
from open311.georeport.feed_params import Problems, date_param, flag, int_param, noted
from open311.georeport.paging import url_with
from open311.georeport.parsing import param, param_list
from open311.georeport.render import Many
from open311.georeport.respond import respond
from open311.georeport.views import check_format


def _query(tz: Any) -> tuple[UpdatesQuery, bool]:
    """The feed's query and whether extensions=true asked for the closure fields (every problem at once)."""
    args = request.args
    problems = Problems()
    start, end = date_param(args, "start_date", tz, problems), date_param(args, "end_date", tz, problems)
    largest: int = current_app.config["OPEN311_MAX_PAGE_SIZE"]
    size = int_param(args, "page_size", 1, largest, problems) or largest
    raw = param(args, "after")
    after = None if raw is None else noted(problems, UpdateCursor.decode, raw)
    ids = tuple(noted(problems, parse_ids, param_list(args, "service_request_id")) or ())
    extensions = flag(args, "extensions", problems)
    problems.raise_any()
    return UpdatesQuery(start=start, end=end, service_request_ids=ids, after=after, limit=size), bool(extensions)


def updates_feed(fmt: str) -> Response:
    """Updates in commit order; follow X-Next-Cursor / Link rel=next to never miss or re-read one."""
    check_format(fmt)
    gateway = current_services()
    jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
    query, extensions = _query(jurisdiction.timezone)
    with gateway.session() as session:  # the primary: its snapshot horizon makes the cursor gap-free
        page = find_updates(session, jurisdiction, query)
    headers = {}
    if page.cursor is not None:
        token = page.cursor.encode()
        headers = {"X-Next-Cursor": token, "Link": f'<{url_with(after=token)}>; rel="next"'}
    doc = Many("request_update", [update_entry(u, jurisdiction.timezone, extensions) for u in page.updates])
    return respond(fmt, "service_request_updates", doc, headers=headers)
