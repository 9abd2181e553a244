"""The spatial index of requests' points, for the feed's `bbox` and `lat`/`long`/`radius`.

Each request is indexed as a point in three dimensions: latitude, longitude and the day it was requested
(`requested_datetime` as days since J2000, 2000-01-01 12:00 UTC), so that a box can be read one slab of time at
a time, newest first (open311.feeds.spatial_pages): a page then reads about as many index entries as it shows,
whatever the table holds.

SQLite: the built-in R*Tree module, a virtual table `request_rtree` (id and a zero-size box in the three
dimensions) kept by triggers on service_requests, so it changes in the same transaction as the row. PostgreSQL:
PostGIS, a stored generated column `geom` (a PointZ in EPSG:4326 from long, lat and the day number, computed by
the database itself) with an n-dimensional GiST index. Where PostGIS cannot be created the gateway says so at
start-up and keeps the B-tree path (docs/feeds.md). The index only narrows candidates: the exact lat/long and
date tests still decide, so results are identical either way (both store 32-bit floats rounded outwards; a
box query on them returns a superset).
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

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
GEOM_INDEX = "ix_requests_geom"


def day_number(moment: datetime) -> float:
    """A moment as the index's time coordinate: days since J2000 (what both databases compute from the row)."""
    return (moment - J2000).total_seconds() / 86400


def plan_for_values(connection: Connection) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their own values.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then switch to one generic
    plan for every value. For a box or circle that plan cannot know how small the slab is and reads far more of
    the GiST index (at 1M rows: 4 to 7 ms for the last slab of a 2 km circle, against 1 to 2 ms planned for its
    values; B6's radius row went from 5.17 to 2.47). SET LOCAL ends with the transaction; SQLite plans every
    statement for its values anyway.
    """
    if connection.dialect.name == "postgresql" and connection.in_transaction():
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


@dataclass(frozen=True)
class SpatialIndex:
    """Which index serves places on this database: rtree, postgis (with the extension's schema) or none."""

    kind: str                  # rtree | postgis | none
    schema: str = ""           # postgis: the schema holding the extension's functions and operators
    note: str = ""             # none: why

    def describe(self) -> str:
        """For start-up logs and /readyz."""
        return {"rtree": "SQLite R*Tree", "postgis": f"PostGIS (n-D GiST) in schema {self.schema}"}.get(
            self.kind, f"none ({self.note})")


def postgis_schema(connection: Connection) -> str | None:
    """The schema PostGIS is installed in, or None when it is not."""
    found = connection.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'postgis'")).scalar()
    return str(found) if found is not None else None


def _create_postgis(connection: Connection) -> str | None:
    """Create the extension in public when the server offers it and we may; its schema, or None."""
    schema = postgis_schema(connection)
    if schema is not None:
        return schema
    if connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar() is None:
        log.warning("PostGIS is not installed on the database server: bbox and radius feeds use the B-tree path")
        return None
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))
    except DBAPIError as exc:
        log.warning("PostGIS could not be created (%s): bbox and radius feeds use the B-tree path",
                    str(exc.orig).strip().splitlines()[0])
        return None
    return postgis_schema(connection)


def install(connection: Connection) -> SpatialIndex:
    """Create the dialect's spatial index of service_requests (idempotent) and fill it from the rows."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            connection.exec_driver_sql(statement)
        return SpatialIndex("rtree")
    if connection.dialect.name != "postgresql":
        return SpatialIndex("none", note=f"no spatial index for {connection.dialect.name}")
    schema = _create_postgis(connection)
    if schema is None:
        return SpatialIndex("none", note="PostGIS is not available")
    if not _has_geom(connection):
        connection.exec_driver_sql(
            f'ALTER TABLE service_requests ADD COLUMN geom "{schema}".geometry(PointZ, 4326) GENERATED ALWAYS AS '
            f'(CASE WHEN lat IS NULL OR long IS NULL THEN NULL ELSE "{schema}".st_setsrid("{schema}".st_makepoint('
            "long, lat, extract(epoch FROM requested_datetime - TIMESTAMPTZ '2000-01-01 12:00:00+00') / 86400), "
            "4326) END) STORED")
    connection.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS {GEOM_INDEX} ON service_requests USING gist '
                               f'(geom "{schema}".gist_geometry_ops_nd)')
    return SpatialIndex("postgis", schema)


def uninstall(connection: Connection) -> None:
    """Drop the spatial index (the extension stays: other databases' schemas may use it)."""
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GEOM_INDEX}")
        connection.exec_driver_sql("ALTER TABLE service_requests DROP COLUMN IF EXISTS geom")


def _has_geom(connection: Connection) -> bool:
    """Whether service_requests (in the current schema) has the geom column."""
    return connection.execute(text(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'service_requests' AND column_name = 'geom'")).scalar() is not None


def detect(connection: Connection) -> SpatialIndex:
    """Which spatial index the database has (none until the migration or create_schema made it)."""
    if connection.dialect.name == "sqlite":
        found = connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": RTREE}).scalar()
        return SpatialIndex("rtree") if found else SpatialIndex("none", note="no request_rtree table")
    if connection.dialect.name == "postgresql":
        schema = postgis_schema(connection)
        if schema is not None and _has_geom(connection):
            return SpatialIndex("postgis", schema)
        return SpatialIndex("none", note="PostGIS is not available" if schema is None else "no geom column")
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
