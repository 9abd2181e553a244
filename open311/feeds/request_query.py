"""GET requests as a use case: the spec's filters plus paging, update windows and places."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Row, Select, bindparam, case, func, literal_column, select, tuple_
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.dates import format_w3c, parse_datetime
from open311.errors import BadRequest
from open311.intake.submit import parse_ids
from open311.storage.models import ServiceRequest

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


@dataclass(frozen=True)
class Filtered:
    """The filtered selection (no order, no limit) and the values of its parameters.

    The statement depends only on which filters are present (its shape), never on their values: it is
    built once per shape with bind parameters and kept, so a request neither builds SQL expressions nor
    computes a new cache key, and SQLAlchemy's compiled cache finds the SQL at once.
    """

    stmt: Select[ServiceRequest]
    params: dict[str, Any]
    shape: tuple[Any, ...]


_COL = ServiceRequest.__table__.c
_STATEMENTS: dict[tuple[Any, ...], Any] = {}  # by shape (and what is built on it); a few dozen entries at most


def _kept(key: tuple[Any, ...], build: Any) -> Any:
    """The statement kept under key, built on first use (a race builds it twice, harmlessly)."""
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build()
    return found


def _where(shape: tuple[Any, ...]) -> Select[ServiceRequest]:
    """The filtered selection of a shape, with a bind parameter for every value."""
    ids, span, after_, before_, codes, statuses, bbox, near = shape
    stmt = select(ServiceRequest).where(_COL.jurisdiction_id == bindparam("f_jurisdiction"))
    if ids:
        return stmt.where(_COL.id.in_(bindparam("f_ids", expanding=True)))
    if span:
        stmt = stmt.where(_COL.requested_datetime >= bindparam("f_start"),
                          _COL.requested_datetime <= bindparam("f_end"))
    if after_:
        stmt = stmt.where(_COL.updated_datetime >= bindparam("f_updated_after"))
    if before_:
        stmt = stmt.where(_COL.updated_datetime <= bindparam("f_updated_before"))
    if codes:
        stmt = stmt.where(_COL.service_code.in_(bindparam("f_codes", expanding=True)))
    if statuses:
        stmt = stmt.where(_COL.status.in_(bindparam("f_statuses", expanding=True)))
    lat, lon = _COL.lat, _COL.long
    if bbox:
        stmt = stmt.where(lat >= bindparam("f_south"), lat <= bindparam("f_north"), lon >= bindparam("f_west"),
                          lon <= bindparam("f_east"))
    if near:
        dy = (lat - bindparam("f_lat")) * METRES_PER_DEGREE_LAT
        dx = (lon - bindparam("f_long")) * bindparam("f_x_scale")
        stmt = stmt.where(lat.between(bindparam("f_lat_low"), bindparam("f_lat_high")),
                          lon.between(bindparam("f_long_low"), bindparam("f_long_high")),
                          dx * dx + dy * dy <= bindparam("f_radius2"))
    return stmt


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
        params["f_ids"] = list(ids)
        shape: tuple[Any, ...] = (True, False, False, False, False, False, False, False)
    else:
        span = window(query, now)
        if span is not None:
            params["f_start"], params["f_end"] = span
        if query.updated_after is not None:
            params["f_updated_after"] = query.updated_after
        if query.updated_before is not None:
            params["f_updated_before"] = query.updated_before
        if query.service_codes:
            params["f_codes"] = list(query.service_codes)
        if query.statuses:
            params["f_statuses"] = list(query.statuses)
        _place(params, query.near, query.bbox)
        shape = (False, span is not None, query.updated_after is not None, query.updated_before is not None,
                 bool(query.service_codes), bool(query.statuses), query.bbox is not None, query.near is not None)
    return Filtered(_kept(("where", shape), lambda: _where(shape)), params, shape)


def counted_in_feed_order(query: RequestQuery) -> bool:
    """Whether the capped count should walk the feed's own order (see count_capped).

    True when an index gives both the filters and the order (the window, service_code, status): PostgreSQL
    would otherwise guess that matches are spread evenly over the table and may pick a sequential scan
    that reads far more than cap + 1 rows when they are not. False with updated_* or a place, whose
    index is not in the feed order: an ORDER BY would then walk the order index through the table.
    """
    return not (query.updated_after or query.updated_before or query.near or query.bbox)


def _count_statement(where: Filtered, ordered: bool) -> Select[tuple[int]]:
    probe: Select[tuple[int]] = where.stmt.with_only_columns(literal_column("1"))
    if ordered:  # ascending: any matches will do, and PostgreSQL walks an index forwards faster than back
        probe = probe.order_by(ServiceRequest.requested_datetime, ServiceRequest.id)
    found = probe.offset(bindparam("c_cap", type_=Integer)).limit(1).scalar_subquery()
    matches = probe.limit(bindparam("c_more", type_=Integer)).subquery()
    exact = select(func.count()).select_from(matches).scalar_subquery()
    return select(case((found.is_not(None), bindparam("c_over", type_=Integer)), else_=exact))


def count_capped(session: Session, where: Filtered, cap: int, *, ordered: bool = True) -> int:
    """How many rows match, or cap + 1 when more than cap do, in one statement reading at most cap + 1 matches.

    A probe `SELECT 1 ... LIMIT 1 OFFSET cap` asks whether a (cap + 1)-th match exists (skipping rows is
    cheaper than feeding them to an aggregate); only when none does are the (at most cap) matches counted.
    `ordered` walks the feed order (counted_in_feed_order); without it the planner picks the index that
    answers the filters alone, usually without reading the table, and never sorts.
    """
    return _count(session.connection(), where, cap, ordered)


def _count(connection: Connection, where: Filtered, cap: int, ordered: bool) -> int:
    stmt = _kept(("count", where.shape, ordered), lambda: _count_statement(where, ordered))
    counted = connection.execute(stmt, {**where.params, "c_cap": cap, "c_more": cap + 1, "c_over": cap + 1})
    return int(counted.scalar() or 0)


@contextmanager
def _reading(session: Session) -> Iterator[Connection]:
    """One transaction for the count and the page: a plain connection of the session's engine when it has
    one (the ORM's transaction bookkeeping costs more than the two statements' own Python), else the session's."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and not session.in_transaction():
        with bind.connect() as connection, connection.begin():
            yield connection
    else:
        with session.begin():
            yield session.connection()


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
    mode = "after" if query.after is not None else "page" if query.page is not None else "first"

    def build() -> Select[Any]:
        stmt = where.stmt
        if mode == "after":
            key = tuple_(ServiceRequest.requested_datetime, ServiceRequest.id)
            stmt = stmt.where(key < tuple_(bindparam("p_requested", type_=ServiceRequest.requested_datetime.type),
                                           bindparam("p_id", type_=ServiceRequest.id.type)))
        elif mode == "page":
            stmt = stmt.offset(bindparam("p_offset", type_=Integer))
        # Core rows rather than ORM objects: a page is read, rendered and dropped, never changed.
        columns = FEED_COLUMNS if extended else SPEC_COLUMNS
        return stmt.with_only_columns(*columns).order_by(*ORDER).limit(bindparam("p_limit", type_=Integer))

    page = _kept(("page", where.shape, mode, extended), build)
    params = {**where.params, "p_limit": query.page_size + 1}
    if query.after is not None:
        params.update(p_requested=query.after.requested, p_id=query.after.id)
    elif query.page is not None:
        params["p_offset"] = (query.page - 1) * query.page_size
    with _reading(session) as connection:
        total = _count(connection, where, count_cap, counted_in_feed_order(query)) if count_cap else None
        rows = list(connection.execute(page, params).all())
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    following = Cursor(rows[-1].requested_datetime, rows[-1].id) if more and rows else None
    return RequestPage(rows, total, following)

