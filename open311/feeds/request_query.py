"""GET requests as a use case: the spec's filters plus paging, update windows and places.

The query's value objects and its values are here; its SQL, built once per filter shape, is in
open311.feeds.request_statements.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.dates import format_w3c, parse_datetime
from open311.core.numbers import parse_ids
from open311.core.params import cursor_number, cursor_text, not_issued
from open311.errors import BadRequest
from open311.feeds.request_statements import (
    METRES_PER_DEGREE_LAT,
    METRES_PER_DEGREE_LONG_AT_EQUATOR,
    Filtered,
    PageMode,
    Shape,
    choose_spatial,
    count_capped,
    page_statement,
)
from open311.feeds.sla_sql import state_params
from open311.feeds.spatial_pages import spatial_page, window_slab
from open311.storage.db import padded_values, reading

DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
# A row of request_statements.FEED_COLUMNS (SPEC_COLUMNS unless extended), read by attribute like a ServiceRequest.
FeedRow = Row[Any]


@dataclass(frozen=True)
class Near:
    """A circle: lat, long (WGS84) and radius in metres."""

    lat: float
    long: float
    radius: float


@dataclass(frozen=True)
class BBox:
    """A box: west (min long), south (min lat), east (max long), north (max lat)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the last row a page returned."""

    requested: datetime
    id: int

    def encode(self) -> str:
        """An opaque, URL-safe token."""
        raw = f"{format_w3c(self.requested)}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a token exactly as encode() makes it (id within 1..MAX_ID); raise BadRequest for anything else."""
        stamp, _, ident = cursor_text(token).partition("|")
        try:
            cursor = cls(parse_datetime(stamp), cursor_number(ident))
        except ValueError:
            raise not_issued() from None
        if cursor.encode() != token:  # a stamp or number spelled otherwise than this server spells it
            raise not_issued()
        return cursor


@dataclass(frozen=True)
class RequestQuery:
    """Filters of GET requests, already parsed (the spec's, then the extensions)."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    near: Near | None = None
    bbox: BBox | None = None
    page: int | None = None
    page_size: int = MAX_RESULTS
    after: Cursor | None = None
    sla_states: tuple[str, ...] = ()   # extension: sla_state= (open311.core.sla_clock.SLA_STATES)
    count: bool = False                # extension: count=true asks a paged page for its (capped) total

    @property
    def paged(self) -> bool:
        """True when the client asked for paging (page or a cursor)."""
        return self.page is not None or self.after is not None


@dataclass(frozen=True)
class RequestPage:
    """One page of GET requests and what is needed to link to its neighbours."""

    rows: list[FeedRow]  # FEED_COLUMNS (SPEC_COLUMNS unless extended), read by attribute like a ServiceRequest
    total: int | None
    next: Cursor | None


def window(query: RequestQuery, now: datetime) -> tuple[datetime, datetime] | None:
    """The requested_datetime window: the given dates, else the last 90 days; at most 90 days.

    With updated_after/updated_before and no dates there is no window: those filters exist to fetch
    changes to requests of any age.
    """
    start, end = query.start, query.end
    if start is None and end is None:
        if query.updated_after or query.updated_before:
            return None
        return now - DEFAULT_WINDOW, now
    if start is None:
        assert end is not None
        return end - DEFAULT_WINDOW, end
    if end is None:
        return start, start + DEFAULT_WINDOW
    if end < start:
        raise BadRequest("end_date must not be before start_date.")
    if end - start > DEFAULT_WINDOW:
        raise BadRequest("start_date and end_date may not span more than 90 days.")
    return start, end


def _place(params: dict[str, Any], near: Near | None, bbox: BBox | None) -> None:
    """Circle and box values; the circle uses an equirectangular distance (error < 0.5 % up to 50 km)."""
    if bbox is not None:
        params.update(f_south=bbox.south, f_north=bbox.north, f_west=bbox.west, f_east=bbox.east)
    if near is not None:
        dlat = near.radius / METRES_PER_DEGREE_LAT
        x_scale = METRES_PER_DEGREE_LONG_AT_EQUATOR * math.cos(math.radians(near.lat))
        dlon = near.radius / max(x_scale, 1.0)
        params.update(f_lat=near.lat, f_long=near.long, f_x_scale=x_scale, f_lat_low=near.lat - dlat,
                      f_lat_high=near.lat + dlat, f_long_low=near.long - dlon, f_long_high=near.long + dlon,
                      f_radius2=near.radius * near.radius)


def filtered(jurisdiction: Jurisdiction, query: RequestQuery, now: datetime) -> Filtered | None:
    """The filtered selection (no order, no limit), or None when nothing can match."""
    params: dict[str, Any] = {"f_jurisdiction": jurisdiction.id}
    if query.service_request_ids:
        ids = parse_ids(query.service_request_ids)
        if not ids:
            return None
        if len(ids) == 1:   # one id (GET requests/{id}): a plain equality, no IN list to expand per call
            params["f_id"] = ids[0]
            shape = Shape(one_id=True)
        else:
            shape = Shape(ids=padded_values(params, "f_ids", ids))
    else:
        span = window(query, now)
        if span is not None:
            params["f_start"], params["f_end"] = span
        if query.updated_after is not None:
            params["f_updated_after"] = query.updated_after
        if query.updated_before is not None:
            params["f_updated_before"] = query.updated_before
        codes = padded_values(params, "f_codes", query.service_codes) if query.service_codes else 0
        statuses = padded_values(params, "f_statuses", query.statuses) if query.statuses else 0
        _place(params, query.near, query.bbox)
        if query.sla_states:
            params.update(state_params(query.sla_states, now))
        shape = Shape(span=span is not None, updated_after=query.updated_after is not None,
                      updated_before=query.updated_before is not None, codes=codes,
                      statuses=statuses, bbox=query.bbox is not None, near=query.near is not None,
                      sla=bool(query.sla_states))
    return Filtered(shape, params)


def counted_in_feed_order(query: RequestQuery) -> bool:
    """Whether the capped count should walk the feed's own order (see count_capped).

    True when an index gives both the filters and the order (the window, service_code, status): PostgreSQL
    would otherwise guess that matches are spread evenly over the table and may pick a sequential scan
    that reads far more than cap + 1 rows when they are not. False with updated_* or a place, whose
    index is not in the feed order: an ORDER BY would then walk the order index through the table.
    """
    return not (query.updated_after or query.updated_before or query.near or query.bbox)


def find_requests(session: Session, jurisdiction: Jurisdiction, query: RequestQuery, now: datetime,
                  *, count_cap: int = 0, extended: bool = True) -> RequestPage:
    """GET requests: ids override every other filter; newest first; a page and the cursor after it.

    Ordering is (requested_datetime, id) descending. `after` continues strictly below a cursor, so a
    client following next links sees every row once even while requests are added or updated.
    Rows carry the spec's fields, and with `extended` what extensions=true shows as well.
    """
    where = filtered(jurisdiction, query, now)
    if where is None:
        return RequestPage([], 0 if count_cap else None, None)
    mode: PageMode = "after" if query.after is not None else "page" if query.page is not None else "first"
    # Without a count or a place the page is one statement: no transaction around it (on PostgreSQL no BEGIN and
    # ROLLBACK round trips). A place reads slab by slab, and a count follows the page: those share one snapshot.
    single = not count_cap and not (where.shape.bbox or where.shape.near)
    with reading(session, single=single) as connection:
        where = choose_spatial(connection, where)
        params = {**where.params, "p_limit": query.page_size + 1}
        if query.after is not None:
            params.update(p_requested=query.after.requested, p_id=query.after.id)
        elif query.page is not None:
            params["p_offset"] = (query.page - 1) * query.page_size
        statement = page_statement(where.shape, mode, extended)
        if where.shape.spatial:   # read through the spatial index one slab of days at a time
            rows = spatial_page(connection, statement, params, where.shape, now)
        else:
            rows = list(connection.execute(statement, params).all())
        total = None
        if count_cap:
            if where.shape.spatial:   # the count reads the whole window's slab
                where = Filtered(where.shape, {**where.params, **window_slab(where.shape, where.params)})
            total = count_capped(connection, where, count_cap, ordered=counted_in_feed_order(query))
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    following = Cursor(rows[-1].requested_datetime, rows[-1].id) if more and rows else None
    return RequestPage(rows, total, following)

