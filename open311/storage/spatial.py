"""The spatial index of requests' points, for the feed's `bbox` and `lat`/`long`/`radius`.

A page of a box is read one slab of time at a time, newest first (open311.feeds.spatial_pages), so each
database indexes a request by its place and the moment it was requested, in a form that reads about as many
entries as a slab holds, whatever the table holds:

- SQLite: the built-in R*Tree module, a virtual table `request_rtree` of points in three dimensions
  (latitude, longitude and the day requested as days since J2000, 2000-01-01 12:00 UTC), kept by triggers on
  service_requests, so it changes in the same transaction as the row.
- PostgreSQL: a grid. A stored generated column `place_cell` numbers the cell of 0.05 by 0.05 degrees (about
  5.5 by 4.6 km in the county) holding the point, computed by the database from lat and long, and a B-tree on
  (jurisdiction_id, place_cell, requested_datetime) reads each cell of a box in time order. A slab of a box
  then reads the slab's points of a few cells, not more. (PostGIS's n-dimensional GiST, used before, visited
  about 190 index pages for the 17 points of one slab at a million rows: its nodes split a county of points
  in space, not in time; docs/benchmarks.md, B6.) A box of more than MAX_CELLS cells (a large share of the
  county) reads the feed's date order instead: there most points match.

The index only narrows candidates: the exact lat/long and date tests still decide, so results are identical
either way (the R*Tree stores 32-bit floats rounded outwards, a superset; a cell is computed by the same
floor of the same sum in Python and in PostgreSQL).
"""

from __future__ import annotations

import logging
import math
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

RTREE = "request_rtree"
J2000 = datetime(2000, 1, 1, 12, tzinfo=UTC)   # day 0 of the index's time dimension
# A row's point: id, lat and long as a zero-size box, and its day number (julianday(J2000) is 2451545.0).
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS request_rtree USING rtree(id, min_lat, max_lat, min_long, max_long, "
    "min_day, max_day)",
    "CREATE TRIGGER IF NOT EXISTS request_rtree_insert AFTER INSERT ON service_requests "
    "WHEN new.lat IS NOT NULL AND new.long IS NOT NULL BEGIN "
    "INSERT INTO request_rtree VALUES (new.id, new.lat, new.lat, new.long, new.long, "
    "julianday(new.requested_datetime) - 2451545.0, julianday(new.requested_datetime) - 2451545.0); END",
    "CREATE TRIGGER IF NOT EXISTS request_rtree_update AFTER UPDATE OF lat, long, requested_datetime "
    "ON service_requests BEGIN DELETE FROM request_rtree WHERE id = old.id; "
    "INSERT INTO request_rtree SELECT new.id, new.lat, new.lat, new.long, new.long, "
    "julianday(new.requested_datetime) - 2451545.0, julianday(new.requested_datetime) - 2451545.0 "
    "WHERE new.lat IS NOT NULL AND new.long IS NOT NULL; END",
    "CREATE TRIGGER IF NOT EXISTS request_rtree_delete AFTER DELETE ON service_requests BEGIN "
    "DELETE FROM request_rtree WHERE id = old.id; END",
    "INSERT OR REPLACE INTO request_rtree SELECT id, lat, lat, long, long, julianday(requested_datetime) - 2451545.0, "
    "julianday(requested_datetime) - 2451545.0 FROM service_requests WHERE lat IS NOT NULL AND long IS NOT NULL",
)
SQLITE_DROP = ("DROP TRIGGER IF EXISTS request_rtree_insert", "DROP TRIGGER IF EXISTS request_rtree_update",
               "DROP TRIGGER IF EXISTS request_rtree_delete", "DROP TABLE IF EXISTS request_rtree")
LEGACY_GEOM_INDEX = "ix_requests_geom"   # PostGIS's GiST of migration 2100's first form, dropped by install
CELLS_PER_DEGREE = 20                    # cells of 0.05 degrees
CELLS_PER_ROW = 360 * CELLS_PER_DEGREE
MAX_CELLS = 256                          # more than this (a box of about 0.8 by 0.8 degrees): the date order is read
GRID_COLUMN = "place_cell"
GRID_INDEX = "ix_requests_jur_cell_requested"
GRID_COLUMN_DDL = (
    f"ALTER TABLE service_requests ADD COLUMN {GRID_COLUMN} integer GENERATED ALWAYS AS (CASE WHEN lat IS NULL "
    f"OR long IS NULL THEN NULL ELSE floor((lat + 90) * {CELLS_PER_DEGREE})::integer * {CELLS_PER_ROW} "
    f"+ floor((long + 180) * {CELLS_PER_DEGREE})::integer END) STORED")
GRID_INDEX_DDL = (f"CREATE INDEX IF NOT EXISTS {GRID_INDEX} ON service_requests "
                  f"(jurisdiction_id, {GRID_COLUMN}, requested_datetime)")


def day_number(moment: datetime) -> float:
    """A moment as the index's time coordinate: days since J2000 (what both databases compute from the row)."""
    return (moment - J2000).total_seconds() / 86400


def plan_for_values(connection: Connection) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their own values.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then switch to one generic
    plan for every value. For a box or circle that plan cannot know how thin the slab is or how few its cells,
    and may read the slab's whole date range instead of its cells (with the GiST index of before, the last slab
    of a 2 km circle at 1M rows took 4 to 7 ms generic against 1 to 2 ms planned for its values). SET LOCAL
    ends with the transaction; SQLite plans every statement for its values anyway.
    """
    if connection.dialect.name == "postgresql" and connection.in_transaction():
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


@dataclass(frozen=True)
class SpatialIndex:
    """Which index serves places on this database: rtree (SQLite), grid (PostgreSQL) or none."""

    kind: str                  # rtree | grid | none
    note: str = ""             # none: why

    def describe(self) -> str:
        """For start-up logs and /readyz."""
        return {"rtree": "SQLite R*Tree", "grid": f"grid of {1 / CELLS_PER_DEGREE} degree cells (B-tree)"}.get(
            self.kind, f"none ({self.note})")


def _row(lat: float) -> int:
    """A latitude's grid row, as GRID_COLUMN_DDL computes it (floor of the same doubles)."""
    return math.floor((lat + 90) * CELLS_PER_DEGREE)


def _column(long: float) -> int:
    """A longitude's grid column, as GRID_COLUMN_DDL computes it."""
    return math.floor((long + 180) * CELLS_PER_DEGREE)


def cell_of(lat: float, long: float) -> int:
    """The grid cell of a point, exactly as the generated column computes it."""
    return _row(lat) * CELLS_PER_ROW + _column(long)


def cells_of_box(south: float, north: float, west: float, east: float) -> list[int] | None:
    """Every cell a point of the box can lie in, or None when they are more than MAX_CELLS."""
    rows, columns = range(_row(south), _row(north) + 1), range(_column(west), _column(east) + 1)
    if len(rows) * len(columns) > MAX_CELLS:
        return None
    return [row * CELLS_PER_ROW + column for row in rows for column in columns]


def install(connection: Connection) -> SpatialIndex:
    """Create the dialect's spatial index of service_requests (idempotent) and fill it from the rows."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            connection.exec_driver_sql(statement)
        return SpatialIndex("rtree")
    if connection.dialect.name != "postgresql":
        return SpatialIndex("none", note=f"no spatial index for {connection.dialect.name}")
    _drop_postgis(connection)
    if not _has_column(connection, GRID_COLUMN):
        connection.exec_driver_sql(GRID_COLUMN_DDL)
    connection.exec_driver_sql(GRID_INDEX_DDL)
    return SpatialIndex("grid")


def _drop_postgis(connection: Connection) -> None:
    """Drop the PostGIS column and its GiST index of migration 2100's first form (the extension stays)."""
    connection.exec_driver_sql(f"DROP INDEX IF EXISTS {LEGACY_GEOM_INDEX}")
    connection.exec_driver_sql("ALTER TABLE service_requests DROP COLUMN IF EXISTS geom")


def uninstall(connection: Connection) -> None:
    """Drop the spatial index."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        _drop_postgis(connection)
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GRID_INDEX}")
        connection.exec_driver_sql(f"ALTER TABLE service_requests DROP COLUMN IF EXISTS {GRID_COLUMN}")


def _has_column(connection: Connection, name: str) -> bool:
    """Whether service_requests (in the current schema) has the column."""
    return connection.execute(text(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'service_requests' AND column_name = :name"), {"name": name}).scalar() is not None


def detect(connection: Connection) -> SpatialIndex:
    """Which spatial index the database has (none until the migration or create_schema made it)."""
    if connection.dialect.name == "sqlite":
        found = connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": RTREE}).scalar()
        return SpatialIndex("rtree") if found else SpatialIndex("none", note="no request_rtree table")
    if connection.dialect.name == "postgresql":
        if _has_column(connection, GRID_COLUMN):
            return SpatialIndex("grid")
        return SpatialIndex("none", note=f"no {GRID_COLUMN} column")
    return SpatialIndex("none", note=f"no spatial index for {connection.dialect.name}")


_known: weakref.WeakKeyDictionary[Engine, SpatialIndex] = weakref.WeakKeyDictionary()


def spatial_index(connection: Connection) -> SpatialIndex:
    """The engine's spatial index, looked up once per engine (a schema change needs a restart to be used)."""
    engine = connection.engine
    found = _known.get(engine)
    if found is None:
        found = _known[engine] = detect(connection)
    return found


def forget(engine: Engine) -> None:
    """Look again next time (after a migration in the same process)."""
    _known.pop(engine, None)
