"""The feed's SQL: statements built once per filter shape, with a bind parameter for every value.

A statement depends only on which filters are present (its Shape), never on their values: it is built on
first use and kept (functools.cache, a few dozen entries at most), so a request neither builds SQL expressions
nor computes a new cache key, and SQLAlchemy's compiled cache finds the SQL at once. Bind names are prefixed by
what fills them: `f_` the filters (open311.feeds.request_query.filtered), `c_` the count, `p_` the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    bindparam,
    case,
    column,
    func,
    literal_column,
    select,
    table,
    tuple_,
)

from open311.feeds.sla_sql import state_clause
from open311.storage.db import padded_values, placeholders
from open311.storage.models import ServiceRequest
from open311.storage.spatial import GRID_COLUMN, RTREE, cells_of_box, spatial_index

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LONG_AT_EQUATOR = 111_320.0
ORDER = (ServiceRequest.requested_datetime.desc(), ServiceRequest.id.desc())
# What the feed reads of a request, as plain rows (no ORM objects: the feed only reads): the spec's fields
# first, in the document's order (documents.request_entry), then what extensions=true and moderation add.
# Nothing personal lives in this table; the token and moderation's hidden text (hidden_content) are left out:
# a hidden request's typed text is not in these columns at all (intake/moderation.py), so no page can show it.
SPEC_FIELDS = ("id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
               "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address",
               "address_id", "zipcode", "lat", "long", "media_url")
# closure_code rides after the spec's fields: the exports carry it, the spec's documents do not show it.
SPEC_COLUMNS = tuple(ServiceRequest.__table__.c[name] for name in (*SPEC_FIELDS, "closure_code"))
FEED_COLUMNS = (*SPEC_COLUMNS, *(ServiceRequest.__table__.c[name] for name in (
    "department", "channel", "duplicate_of", "parent_request_id", "attributes", "hidden_at",
    "sla_risk_at", "sla_paused_at", "sla_final", "routing")))
_COL = ServiceRequest.__table__.c
# How a page continues: the first page, after a cursor, or at an offset (page=).
PageMode = Literal["first", "after", "page"]


class Shape(NamedTuple):
    """Which filters a query has (never their values): what its statements are built, and kept, for.

    `ids` (or `one_id`) overrides every other filter. A new filter adds a field here, its clause in where_statement and
    its values in request_query.filtered. A list (ids, codes, statuses, cells) is an IN list of plain placeholders,
    its size the list's length padded (open311.storage.db.padded_values; 0: no such filter): SQLAlchemy would
    render an expanding IN list anew on every call.
    """

    ids: int = 0
    one_id: bool = False            # a single id: `id = :f_id`
    span: bool = False              # the requested_datetime window
    updated_after: bool = False
    updated_before: bool = False
    codes: int = 0
    statuses: int = 0
    bbox: bool = False
    near: bool = False
    sla: bool = False               # sla_state= (open311.feeds.sla.state_clause)
    # How a bbox or circle is narrowed (choose_spatial): "" the B-tree on lat/long; "rtree" SQLite's R*Tree
    # within a slab of days (s_day_low, s_day_high); "grid" PostgreSQL's `cells` cells (f_cells0 ...) in a B-tree
    # with the date. Both read one slab at a time, whose edges s_from and s_to are tested exactly
    # (open311.feeds.spatial_pages).
    spatial: str = ""
    cells: int = 0


@dataclass(frozen=True)
class Filtered:
    """The filtered selection of a query (no order, no limit) and the values of its parameters."""

    shape: Shape
    params: dict[str, Any]

    @property
    def stmt(self) -> Select[Any]:
        """The selection, built once per shape."""
        return where_statement(self.shape)


@cache
def where_statement(shape: Shape) -> Select[Any]:
    """The filtered selection of a shape, with a bind parameter for every value."""
    stmt = select(ServiceRequest).where(_COL.jurisdiction_id == bindparam("f_jurisdiction"))
    if shape.one_id:
        return stmt.where(_COL.id == bindparam("f_id"))
    if shape.ids:
        return stmt.where(_COL.id.in_(placeholders(shape.ids, "f_ids")))
    if shape.span:
        stmt = stmt.where(_COL.requested_datetime >= bindparam("f_start"),
                          _COL.requested_datetime <= bindparam("f_end"))
    if shape.updated_after:
        stmt = stmt.where(_COL.updated_datetime >= bindparam("f_updated_after"))
    if shape.updated_before:
        stmt = stmt.where(_COL.updated_datetime <= bindparam("f_updated_before"))
    if shape.codes:
        stmt = stmt.where(_COL.service_code.in_(placeholders(shape.codes, "f_codes")))
    if shape.statuses:
        stmt = stmt.where(_COL.status.in_(placeholders(shape.statuses, "f_statuses")))
    if shape.sla:
        stmt = stmt.where(state_clause())
    lat: Any = _COL.lat
    lon: Any = _COL.long
    if shape.spatial:   # the slab [s_from, s_to) of open311.feeds.spatial_pages, tested exactly
        stmt = stmt.where(_COL.requested_datetime >= bindparam("s_from"),
                          _COL.requested_datetime < bindparam("s_to"))
    if shape.bbox:
        stmt = stmt.where(*_narrowed(shape, "f_south", "f_north", "f_west", "f_east"),
                          lat >= bindparam("f_south"), lat <= bindparam("f_north"), lon >= bindparam("f_west"),
                          lon <= bindparam("f_east"))
    if shape.near:
        dy = (lat - bindparam("f_lat")) * METRES_PER_DEGREE_LAT
        dx = (lon - bindparam("f_long")) * bindparam("f_x_scale")
        stmt = stmt.where(*_narrowed(shape, "f_lat_low", "f_lat_high", "f_long_low", "f_long_high"),
                          lat.between(bindparam("f_lat_low"), bindparam("f_lat_high")),
                          lon.between(bindparam("f_long_low"), bindparam("f_long_high")),
                          dx * dx + dy * dy <= bindparam("f_radius2"))
    return stmt


def _narrowed(shape: Shape, south: str, north: str, west: str, east: str) -> tuple[Any, ...]:
    """The spatial index's candidates for a box (bind names of its edges) within the slab of days; the exact
    tests follow it."""
    if shape.spatial == "rtree":
        return (_COL.id.in_(rtree_ids(south, north, west, east)),)
    if shape.spatial == "grid":
        return (_CELL.in_(placeholders(shape.cells, "f_cells")),)
    return ()


_CELL = literal_column(f"service_requests.{GRID_COLUMN}", Integer)   # not a model column: PostgreSQL only
_RTREE = table(RTREE, *(column(name) for name in ("id", "min_lat", "max_lat", "min_long", "max_long", "min_day",
                                                  "max_day")))


def rtree_ids(south: str, north: str, west: str, east: str) -> Select[Any]:
    """Ids whose point may lie in the box and the slab of days: the R*Tree's boxes are rounded outwards, so this
    is a superset."""
    r = _RTREE.c
    return select(r.id).where(r.max_lat >= bindparam(south), r.min_lat <= bindparam(north),
                              r.max_long >= bindparam(west), r.min_long <= bindparam(east),
                              r.max_day >= bindparam("s_day_low"), r.min_day <= bindparam("s_day_high"))


def choose_spatial(connection: Connection, where: Filtered) -> Filtered:
    """A query with a box or circle narrowed by the database's spatial index (R*Tree or grid), when it has
    one; other queries, and every query where it has none, are returned unchanged."""
    shape = where.shape
    if not (shape.bbox or shape.near):
        return where
    index = spatial_index(connection)
    if index.kind == "rtree":
        return Filtered(shape._replace(spatial="rtree"), where.params)
    if index.kind == "grid":
        p = where.params
        edges = (p["f_south"], p["f_north"], p["f_west"], p["f_east"]) if shape.bbox else (
            p["f_lat_low"], p["f_lat_high"], p["f_long_low"], p["f_long_high"])
        cells = cells_of_box(*edges)
        if cells is not None:   # a box of too many cells reads the date order (most of its points match)
            params = dict(p)
            return Filtered(shape._replace(spatial="grid", cells=padded_values(params, "f_cells", cells)), params)
    return where


@cache
def count_statement(shape: Shape, ordered: bool) -> Select[Any]:
    """The capped count of a shape's matches (see count_capped), walking the feed order when `ordered`."""
    probe: Select[tuple[int]] = where_statement(shape).with_only_columns(literal_column("1"))
    if ordered:  # ascending: any matches will do, and PostgreSQL walks an index forwards faster than back
        probe = probe.order_by(ServiceRequest.requested_datetime, ServiceRequest.id)
    found = probe.offset(bindparam("c_cap", type_=Integer)).limit(1).scalar_subquery()
    matches = probe.limit(bindparam("c_more", type_=Integer)).subquery()
    exact = select(func.count()).select_from(matches).scalar_subquery()
    return select(case((found.is_not(None), bindparam("c_over", type_=Integer)), else_=exact))


def count_capped(connection: Connection, where: Filtered, cap: int, *, ordered: bool = True) -> int:
    """How many rows match, or cap + 1 when more than cap do, in one statement reading at most cap + 1 matches.

    A probe `SELECT 1 ... LIMIT 1 OFFSET cap` asks whether a (cap + 1)-th match exists (skipping rows is
    cheaper than feeding them to an aggregate); only when none does are the (at most cap) matches counted.
    `ordered` walks the feed order (request_query.counted_in_feed_order); without it the planner picks the index
    that answers the filters alone, usually without reading the table, and never sorts. Runs in the caller's
    transaction.
    """
    counted = connection.execute(count_statement(where.shape, ordered),
                                 {**where.params, "c_cap": cap, "c_more": cap + 1, "c_over": cap + 1})
    return int(counted.scalar() or 0)


@cache
def page_statement(shape: Shape, mode: PageMode, extended: bool) -> Select[Any]:
    """One page of a shape's matches, newest first: FEED_COLUMNS with `extended`, else SPEC_COLUMNS.

    `after` continues strictly below the cursor (`p_requested`, `p_id`); `page` skips `p_offset` rows.
    """
    stmt = where_statement(shape)
    if mode == "after":
        key = tuple_(ServiceRequest.requested_datetime, ServiceRequest.id)
        stmt = stmt.where(key < tuple_(bindparam("p_requested", type_=ServiceRequest.requested_datetime.type),
                                       bindparam("p_id", type_=ServiceRequest.id.type)))
    elif mode == "page":
        stmt = stmt.offset(bindparam("p_offset", type_=Integer))
    # Core rows rather than ORM objects: a page is read, rendered and dropped, never changed.
    columns = FEED_COLUMNS if extended else SPEC_COLUMNS
    return stmt.with_only_columns(*columns).order_by(*ORDER).limit(bindparam("p_limit", type_=Integer))
