"""GET requests as a use case: the spec's filters plus paging, update windows and places."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, case, func, literal, literal_column, select, tuple_
from sqlalchemy.orm import Session

from .config import Jurisdiction
from .dates import format_w3c, parse_datetime
from .errors import BadRequest
from .models import ServiceRequest
from .service_requests import parse_ids

DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LONG_AT_EQUATOR = 111_320.0
ORDER = (ServiceRequest.requested_datetime.desc(), ServiceRequest.id.desc())
# What the feed reads of a request, as plain rows (no ORM objects: the feed only reads): the spec's fields
# first, in the document's order (documents.request_entry), then what extensions=true and moderation add.
# Nothing personal lives in this table; the token and moderation's hidden text are left out.
SPEC_FIELDS = ("id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
               "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address",
               "address_id", "zipcode", "lat", "long", "media_url")
SPEC_COLUMNS = tuple(ServiceRequest.__table__.c[name] for name in SPEC_FIELDS)
FEED_COLUMNS = (*SPEC_COLUMNS, *(ServiceRequest.__table__.c[name] for name in (
    "department", "channel", "duplicate_of", "parent_request_id", "attributes", "hidden_at")))
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
        """Read a token made by encode(); raise BadRequest for anything else."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, ident = raw.split("|")
            return cls(parse_datetime(stamp), int(ident))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("after is not a cursor this server issued.") from None


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


def _place(stmt: Select[ServiceRequest], near: Near | None, bbox: BBox | None) -> Select[ServiceRequest]:
    """Circle and box filters; the circle uses an equirectangular distance (error < 0.5 % up to 50 km)."""
    lat, lon = ServiceRequest.lat, ServiceRequest.long
    if bbox is not None:
        stmt = stmt.where(lat >= bbox.south, lat <= bbox.north, lon >= bbox.west, lon <= bbox.east)
    if near is not None:
        dlat = near.radius / METRES_PER_DEGREE_LAT
        x_scale = METRES_PER_DEGREE_LONG_AT_EQUATOR * math.cos(math.radians(near.lat))
        dlon = near.radius / max(x_scale, 1.0)
        dy = (lat - near.lat) * METRES_PER_DEGREE_LAT
        dx = (lon - near.long) * x_scale
        stmt = stmt.where(lat.between(near.lat - dlat, near.lat + dlat),
                          lon.between(near.long - dlon, near.long + dlon),
                          dx * dx + dy * dy <= near.radius * near.radius)
    return stmt


def filtered(jurisdiction: Jurisdiction, query: RequestQuery, now: datetime) -> Select[ServiceRequest] | None:
    """The filtered selection (no order, no limit), or None when nothing can match."""
    stmt = select(ServiceRequest).where(ServiceRequest.jurisdiction_id == jurisdiction.id)
    if query.service_request_ids:
        ids = parse_ids(query.service_request_ids)
        return stmt.where(ServiceRequest.id.in_(ids)) if ids else None
    span = window(query, now)
    if span is not None:
        stmt = stmt.where(ServiceRequest.requested_datetime >= span[0], ServiceRequest.requested_datetime <= span[1])
    if query.updated_after is not None:
        stmt = stmt.where(ServiceRequest.updated_datetime >= query.updated_after)
    if query.updated_before is not None:
        stmt = stmt.where(ServiceRequest.updated_datetime <= query.updated_before)
    if query.service_codes:
        stmt = stmt.where(ServiceRequest.service_code.in_(query.service_codes))
    if query.statuses:
        stmt = stmt.where(ServiceRequest.status.in_(query.statuses))
    return _place(stmt, query.near, query.bbox)


def counted_in_feed_order(query: RequestQuery) -> bool:
    """Whether the capped count should walk the feed's own order (see count_capped).

    True when an index gives both the filters and the order (the window, service_code, status): PostgreSQL
    would otherwise guess that matches are spread evenly over the table and may pick a sequential scan
    that reads far more than cap + 1 rows when they are not. False with updated_* or a place, whose
    index is not in the feed order: an ORDER BY would then walk the order index through the table.
    """
    return not (query.updated_after or query.updated_before or query.near or query.bbox)


def count_capped(session: Session, stmt: Select[ServiceRequest], cap: int, *, ordered: bool = True) -> int:
    """How many rows match, or cap + 1 when more than cap do, in one statement reading at most cap + 1 matches.

    A probe `SELECT 1 ... LIMIT 1 OFFSET cap` asks whether a (cap + 1)-th match exists (skipping rows is
    cheaper than feeding them to an aggregate); only when none does are the (at most cap) matches counted.
    `ordered` walks the feed order (counted_in_feed_order); without it the planner picks the index that
    answers the filters alone, usually without reading the table, and never sorts.
    """
    probe: Select[tuple[int]] = stmt.with_only_columns(literal_column("1"))
    if ordered:  # ascending: any matches will do, and PostgreSQL walks an index forwards faster than back
        probe = probe.order_by(ServiceRequest.requested_datetime, ServiceRequest.id)
    found = probe.offset(cap).limit(1).scalar_subquery()
    matches = probe.limit(cap + 1).subquery()
    exact = select(func.count()).select_from(matches).scalar_subquery()
    return int(session.scalar(select(case((found.is_not(None), cap + 1), else_=exact))) or 0)


def find_requests(session: Session, jurisdiction: Jurisdiction, query: RequestQuery, now: datetime,
                  *, count_cap: int = 0, extended: bool = True) -> RequestPage:
    """GET requests: ids override every other filter; newest first; a page and the cursor after it.

    Ordering is (requested_datetime, id) descending. `after` continues strictly below a cursor, so a
    client following next links sees every row once even while requests are added or updated.
    Rows carry the spec's fields, and with `extended` what extensions=true shows as well.
    """
    stmt = filtered(jurisdiction, query, now)
    if stmt is None:
        return RequestPage([], 0 if count_cap else None, None)
    with session.begin():
        total = count_capped(session, stmt, count_cap, ordered=counted_in_feed_order(query)) if count_cap else None
        if query.after is not None:
            key = tuple_(ServiceRequest.requested_datetime, ServiceRequest.id)
            bound = tuple_(literal(query.after.requested, ServiceRequest.requested_datetime.type),
                           literal(query.after.id, ServiceRequest.id.type))
            stmt = stmt.where(key < bound)
        elif query.page is not None:
            stmt = stmt.offset((query.page - 1) * query.page_size)
        # Core rows rather than ORM objects: a page is read, rendered and dropped, never changed.
        columns = FEED_COLUMNS if extended else SPEC_COLUMNS
        page = stmt.with_only_columns(*columns).order_by(*ORDER).limit(query.page_size + 1)
        rows = list(session.connection().execute(page).all())
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    following = Cursor(rows[-1].requested_datetime, rows[-1].id) if more and rows else None
    return RequestPage(rows, total, following)

