"""The feed's spatial index (SQLite R*Tree, a grid of cells in a B-tree on PostgreSQL): bbox and radius results
identical with and without it over 100,000 random points in the county and the last 90 days (edges, touching
boxes, zero-area boxes included), pages read slab by slab identical to the B-tree's, in order, through cursors
and offsets, the index kept in step with the rows in the same transaction, the plans that use it, and the path
without it."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, delete, event, insert, select, text, update

from open311.feeds.request_query import BBox, Near, RequestQuery, filtered, find_requests
from open311.feeds.request_statements import Filtered, choose_spatial, where_statement
from open311.feeds.spatial_pages import FIRST_SLAB, STEP, window_slab
from open311.services import Services
from open311.storage import spatial
from open311.storage.models import ServiceRequest
from tests.conftest import FIXED_NOW
from tests.integration.test_feed_scale import captured_sql, plan_lines

pytestmark = pytest.mark.slow
POINTS = 100_000
WEST, EAST, SOUTH, NORTH = -118.9, -117.7, 33.7, 34.8


DAYS = 90


def seed(gateway: Services, count: int, rng: random.Random) -> list[tuple[float, float]]:
    """`count` requests at random points (a few on a 0.01° grid, so box edges fall exactly on points) requested
    at random moments of the last DAYS days (some sharing a second, so the order's id tie-break matters)."""
    points, moments = [], []
    for i in range(count):
        if i % 10 == 0:
            points.append((round(rng.uniform(SOUTH, NORTH), 2), round(rng.uniform(WEST, EAST), 2)))
        else:
            points.append((rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)))
        seconds = rng.randrange(DAYS * 86400) if i % 7 else rng.randrange(DAYS) * 86400
        moments.append(FIXED_NOW - timedelta(seconds=seconds))
    with gateway.session() as s, s.begin():
        for start in range(0, count, 20_000):
            s.execute(insert(ServiceRequest), [
                {"jurisdiction_id": "lacounty.gov", "service_code": "DPW-GRAFFITI", "service_name": "x",
                 "department": "DPW", "status": "open", "requested_datetime": moments[i],
                 "updated_datetime": FIXED_NOW, "token": f"p{i}", "attributes": {}, "lat": lat, "long": lon}
                for i, (lat, lon) in enumerate(points[start:start + 20_000], start)])
    with gateway.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return points


def matching(connection: Connection, where: Filtered, spatial_plan: str) -> set[int]:
    """The ids a shape's filters select with the given spatial plan (the grid's as the feed chooses it: a box of
    more than MAX_CELLS cells reads the date order)."""
    if spatial_plan == "grid":
        where = choose_spatial(connection, where)
    stmt = where_statement(where.shape._replace(spatial=spatial_plan if spatial_plan != "grid" else
                                                where.shape.spatial)).with_only_columns(ServiceRequest.id)
    return set(connection.execute(stmt, {**where.params, **window_slab(where.shape, where.params)}).scalars())


def plans(connection: Connection) -> list[str]:
    """Every plan this database can run (the B-tree one first)."""
    found = spatial.detect(connection)
    return [""] if found.kind == "none" else ["", found.kind]


def boxes(rng: random.Random) -> list[BBox]:
    """Random boxes of every size, boxes touching on an edge, boxes whose edges lie on grid points, and
    zero-area ones (a line, a point)."""
    found = []
    for _ in range(40):
        w, s = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
        size = rng.choice((0.001, 0.01, 0.1, 0.5))
        found.append(BBox(west=w, south=s, east=w + size * rng.random(), north=s + size * rng.random()))
    found += [BBox(west=-118.3, south=34.0, east=-118.2, north=34.1), BBox(west=-118.2, south=34.0, east=-118.1,
                                                                           north=34.1),
              BBox(west=-118.25, south=34.05, east=-118.25, north=34.15), BBox(west=-118.5, south=34.2,
                                                                              east=-118.5, north=34.2),
              BBox(west=WEST - 1, south=SOUTH - 1, east=EAST + 1, north=NORTH + 1)]
    return found


def test_bbox_and_radius_are_identical_with_and_without_the_index(gateway: Services) -> None:
    rng = random.Random(311)
    points = seed(gateway, POINTS, rng)
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    queries = [RequestQuery(bbox=b, start=FIXED_NOW - timedelta(days=DAYS), end=FIXED_NOW) for b in boxes(rng)]
    on_grid = points[0]
    queries += [RequestQuery(near=Near(lat, lon, radius), start=FIXED_NOW - timedelta(days=DAYS), end=FIXED_NOW)
                for lat, lon in [*rng.sample(points, 15), on_grid] for radius in (50.0, 1_000.0, 20_000.0)]
    with gateway.engine.connect() as connection:
        variants = plans(connection)
        assert len(variants) >= 2 or connection.dialect.name == "postgresql", variants
        sizes = []
        for query in queries:
            where = filtered(jurisdiction, query, FIXED_NOW)
            assert where is not None
            plain = matching(connection, where, "")
            for plan in variants[1:]:
                assert matching(connection, where, plan) == plain, (query, plan)
            sizes.append(len(plain))
    assert min(sizes) == 0 and max(sizes) == POINTS and sum(1 for n in sizes if 0 < n < POINTS) > 40
    # the two touching boxes share the edge long = -118.2 (lat 34.0 .. 34.1): its grid points are in both
    shared = {i for i, (lat, lon) in enumerate(points, 1) if lon == -118.2 and 34.0 <= lat <= 34.1}
    assert shared
    with gateway.engine.connect() as connection:
        left, right = (filtered(jurisdiction, queries[n], FIXED_NOW) for n in (40, 41))
        assert left is not None and right is not None
        assert matching(connection, left, variants[-1]) & matching(connection, right, variants[-1]) == shared


def index_rows(connection: Connection, index: spatial.SpatialIndex) -> dict[int, tuple[float, float]]:
    """What the spatial index holds: id -> (lat, long) as its storage gives them back (R*Tree: 32-bit floats;
    the grid: the cell's south-west corner)."""
    if index.kind == "rtree":
        rows = connection.execute(text("SELECT id, min_lat, min_long FROM request_rtree"))
        return {int(i): (float(a), float(b)) for i, a, b in rows}
    rows = connection.execute(text(f"SELECT id, {spatial.GRID_COLUMN} FROM service_requests "
                                   f"WHERE {spatial.GRID_COLUMN} IS NOT NULL"))
    return {int(i): corner(int(cell)) for i, cell in rows}


def corner(cell: int) -> tuple[float, float]:
    """The south-west corner of a grid cell."""
    row, column = divmod(cell, spatial.CELLS_PER_ROW)
    return row / spatial.CELLS_PER_DEGREE - 90, column / spatial.CELLS_PER_DEGREE - 180


def as_index_holds(index: spatial.SpatialIndex, points: dict[int, tuple[float, float]]) -> dict[int, tuple[float,
                                                                                                           float]]:
    """Points as the index holds them: themselves (R*Tree), or their cell's corner, computed in Python (grid)."""
    return points if index.kind == "rtree" else {i: corner(spatial.cell_of(*p)) for i, p in points.items()}


def assert_same_points(held: dict[int, tuple[float, float]], want: dict[int, tuple[float, float]]) -> None:
    """The same ids at the same places, within what the R*Tree's outward-rounded 32-bit floats keep (~10 m)."""
    assert set(held) == set(want)
    far = {i: (held[i], want[i]) for i in want
           if abs(held[i][0] - want[i][0]) >= 1e-4 or abs(held[i][1] - want[i][1]) >= 1e-4}
    assert not far, far


def test_the_index_follows_inserts_moves_clearing_and_deletes(gateway: Services) -> None:
    with gateway.engine.connect() as connection:
        index = spatial.detect(connection)
    if index.kind == "none":
        pytest.skip(f"no spatial index on this database: {index.note}")
    seed(gateway, 50, random.Random(5))
    with gateway.session() as s, s.begin():
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 3).values(lat=34.5, long=-118.5))
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 4).values(lat=None, long=None))
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 5).values(status="closed"))
        s.execute(delete(ServiceRequest).where(ServiceRequest.id == 6))
    with gateway.engine.connect() as connection:
        want = {int(i): (float(a), float(b)) for i, a, b in connection.execute(
            select(ServiceRequest.id, ServiceRequest.lat, ServiceRequest.long).where(ServiceRequest.lat.is_not(None)))}
        assert_same_points(index_rows(connection, index), as_index_holds(index, want))
    assert want[3] == (34.5, -118.5) and len(want) == 48 and 4 not in want and 6 not in want
    with gateway.session() as s, s.begin():   # an insert rolled back leaves nothing in the index either
        s.execute(insert(ServiceRequest).values(
            jurisdiction_id="lacounty.gov", service_code="DPW-GRAFFITI", service_name="x", department="DPW",
            status="open", requested_datetime=FIXED_NOW, updated_datetime=FIXED_NOW, token="rolled", attributes={},
            lat=34.1, long=-118.1))
        s.rollback()
    with gateway.engine.connect() as connection:
        assert_same_points(index_rows(connection, index), as_index_holds(index, want))


def test_box_queries_use_the_spatial_index(client: FlaskClient, gateway: Services) -> None:
    seed(gateway, 20_000, random.Random(9))
    with gateway.engine.connect() as connection:
        index = spatial.detect(connection)
    if index.kind == "none":
        pytest.skip(f"no spatial index on this database: {index.note}")
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    url = ("/open311/v2/requests.json?bbox=-118.3,34.0,-118.2,34.1&start_date=2026-03-01T17:30:00Z"
           "&end_date=2026-03-11T17:30:00Z")
    with captured_sql(gateway) as statements:
        answer = client.get(url + "&page_size=1000")
    assert answer.status_code == 200
    feed = [(sql, p) for sql, p in statements if "FROM service_requests" in sql]
    used = "request_rtree VIRTUAL TABLE INDEX" if index.kind == "rtree" else spatial.GRID_INDEX
    found = [plan_lines(gateway, sql, p) for sql, p in feed]
    if index.kind == "rtree":
        assert feed and all(any(used in line for line in plan) for plan in found), found
    else:   # PostgreSQL may read a thin first slab (an hour: a few rows here) by date; the wider ones by cell
        assert feed and any(used in line for line in found[-1]), found
        assert all(any(used in line or "ix_requests_jur_requested" in line for line in plan) for plan in found), found
    with gateway.session() as session:
        direct = find_requests(session, jurisdiction, RequestQuery(
            bbox=BBox(west=-118.3, south=34.0, east=-118.2, north=34.1), start=FIXED_NOW.replace(day=1),
            end=FIXED_NOW.replace(day=11), page_size=1000), FIXED_NOW)
    assert sorted(r["service_request_id"] for r in answer.get_json()) == sorted(str(r.id) for r in direct.rows)
    assert direct.rows
    # A box over the whole county holds every point (about 9 an hour here, and 1 in 7 on the hour of a day);
    # its first page is read from a slab of an hour, then from the slabs below it, each as wide as the density
    # seen so far says the rest of the page needs: a few slabs, well under a day together, not the 20,000
    # points of the window. (The grid reads the date order for a box that large: there the first page's rows
    # are the first rows of the window.)
    if index.kind == "grid":
        assert spatial.cells_of_box(SOUTH, NORTH, WEST, EAST) is None
        return
    slabs: list[dict[str, Any]] = []

    def record(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        given = [*(multiparams if isinstance(multiparams, list | tuple) else [multiparams]), params]
        slabs.extend(p for p in given if isinstance(p, dict) and "s_day_low" in p)

    event.listen(gateway.engine, "before_execute", record)
    try:
        with gateway.session() as session:
            whole = find_requests(session, jurisdiction, RequestQuery(
                bbox=BBox(west=WEST, south=SOUTH, east=EAST, north=NORTH), page=1, page_size=50), FIXED_NOW)
    finally:
        event.remove(gateway.engine, "before_execute", record)
    assert len(whole.rows) == 50
    widths = [p["s_day_high"] - p["s_day_low"] for p in slabs]   # days
    assert 2 <= len(slabs) <= 6 and 0.04 < widths[0] < 0.05 and sum(widths) < 1.0, widths
    assert all(a["s_from"] == b["s_to"] for a, b in pairwise(slabs)), slabs   # each right below the last


def ordered_matches(connection: Connection, where: Filtered) -> list[int]:
    """Every match of a query by the B-tree path, in the feed's order (newest first, then by id)."""
    stmt = where_statement(where.shape._replace(spatial="")).with_only_columns(ServiceRequest.id).order_by(
        ServiceRequest.requested_datetime.desc(), ServiceRequest.id.desc())
    return list(connection.execute(stmt, where.params).scalars())


def test_pages_read_slab_by_slab_are_the_b_tree_pages(gateway: Services) -> None:
    rng = random.Random(21)
    points = seed(gateway, 30_000, rng)
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    with gateway.engine.connect() as connection:
        if spatial.detect(connection).kind == "none":
            pytest.skip("no spatial index on this database")
    windows = [(None, None), (FIXED_NOW - timedelta(days=20), FIXED_NOW - timedelta(days=6))]
    places = [{"bbox": BBox(west=-118.30, south=33.98, east=-118.16, north=34.08)},
              {"bbox": BBox(west=WEST, south=SOUTH, east=EAST, north=NORTH)},
              {"bbox": BBox(west=-118.5, south=34.2, east=-118.5, north=34.2)},
              {"near": Near(*points[0], 3_000.0)}, {"near": Near(34.05, -118.25, 15_000.0)}]
    checked = 0
    for place in places:
        for start, end in windows:
            base = RequestQuery(start=start, end=end, page_size=40, **place)  # type: ignore[arg-type]
            where = filtered(jurisdiction, base, FIXED_NOW)
            assert where is not None
            with gateway.engine.connect() as connection:
                want = ordered_matches(connection, where)
            got: list[int] = []
            after = None
            with gateway.session() as session:
                for _ in range(4):   # the first pages through cursors
                    page = find_requests(session, jurisdiction, RequestQuery(
                        start=start, end=end, page_size=40, after=after, **place), FIXED_NOW)  # type: ignore[arg-type]
                    got += [r.id for r in page.rows]
                    after = page.next
                    if after is None:
                        break
                assert got == want[:len(got)] and len(got) == min(len(want), 160), (place, start)
                for number in (3, 9, len(want) // 40 + 1):   # and by offset, the last page included
                    page = find_requests(session, jurisdiction, RequestQuery(
                        start=start, end=end, page=number, page_size=40, **place), FIXED_NOW)  # type: ignore[arg-type]
                    assert [r.id for r in page.rows] == want[(number - 1) * 40:number * 40], (place, number)
                counted = find_requests(session, jurisdiction, base, FIXED_NOW, count_cap=100_000)
                assert counted.total == len(want)
            checked += len(want)
    assert checked > 30_000


@pytest.mark.parametrize("size", [5, 25])
def test_moments_on_a_slab_edge_are_read_once(gateway: Services, size: int) -> None:
    """Requests at the window's end, exactly on the first slab's lower edge (end - FIRST_SLAB) and a microsecond
    either side of it, each moment shared by several requests: the slabs read below one another give every match
    once, in the B-tree's order, through cursors and offsets (25 a page: the first slab holds 21, so the next one
    starts right below the edge)."""
    end = FIXED_NOW - timedelta(days=2)
    edge = end - FIRST_SLAB
    moments = [end, edge + STEP, edge, edge - STEP, edge - timedelta(hours=3), end - timedelta(days=5)]
    with gateway.session() as s, s.begin():
        s.execute(insert(ServiceRequest), [
            {"jurisdiction_id": "lacounty.gov", "service_code": "DPW-GRAFFITI", "service_name": "x",
             "department": "DPW", "status": "open", "requested_datetime": moment, "updated_datetime": FIXED_NOW,
             "token": f"e{i}-{n}", "attributes": {}, "lat": 34.05 + n * 1e-4, "long": -118.25}
            for i, moment in enumerate(moments) for n in range(7)])
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    box = BBox(west=-118.3, south=34.0, east=-118.2, north=34.1)
    base = RequestQuery(start=end - timedelta(days=10), end=end, page_size=size, bbox=box)
    where = filtered(jurisdiction, base, FIXED_NOW)
    assert where is not None
    with gateway.engine.connect() as connection:
        want = ordered_matches(connection, where)
    assert len(want) == len(moments) * 7
    with gateway.session() as session:
        got: list[int] = []
        after = None
        while True:
            page = find_requests(session, jurisdiction, RequestQuery(
                start=base.start, end=end, page_size=size, bbox=box, after=after), FIXED_NOW)
            got += [r.id for r in page.rows]
            after = page.next
            if after is None:
                break
        assert got == want
        for number in range(1, len(want) // size + 2):
            page = find_requests(session, jurisdiction, RequestQuery(
                start=base.start, end=end, page=number, page_size=size, bbox=box), FIXED_NOW)
            assert [r.id for r in page.rows] == want[(number - 1) * size:number * size], number


def test_without_the_index_the_feed_answers_the_same(gateway: Services, client: FlaskClient) -> None:
    seed(gateway, 2_000, random.Random(2))
    url = "/open311/v2/requests.json?bbox=-118.5,34.0,-118.0,34.3&start_date=2026-03-01&end_date=2026-03-11"
    with_index = client.get(url + "&page_size=1000").get_json()
    with gateway.engine.begin() as connection:
        spatial.uninstall(connection)
    spatial.forget(gateway.engine)
    with gateway.engine.connect() as connection:
        assert spatial.spatial_index(connection).kind == "none"
    assert client.get(url + "&page_size=1000").get_json() == with_index
    ready = client.get("/readyz").get_json()
    assert ready["checks"]["spatial_index"].startswith("none (")
    with gateway.engine.begin() as connection:
        spatial.install(connection)
    spatial.forget(gateway.engine)



def test_the_grid_serves_postgresql(gateway: Services) -> None:
    with gateway.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        found = spatial.detect(connection)
    assert found.kind == "grid", found.note   # plain PostgreSQL: no extension needed


def test_cells_are_computed_alike_in_python_and_in_the_database(gateway: Services) -> None:
    with gateway.engine.connect() as connection:
        if spatial.detect(connection).kind != "grid":
            pytest.skip("PostgreSQL's grid only")
    # on cell edges (multiples of 0.05, where a floor could differ by one), near them, and anywhere
    rng = random.Random(8)
    edges = [(round(34 + k * 0.05, 2), round(-118.5 + k * 0.05, 2)) for k in range(-20, 21)]
    near = [(lat + d, lon - d) for lat, lon in edges for d in (1e-9, -1e-9, 1e-12)]
    anywhere = [(rng.uniform(-89.9, 89.9), rng.uniform(-179.9, 179.9)) for _ in range(500)]
    points = [*edges, *near, *anywhere, (0.0, 0.0), (-90.0, -180.0), (90.0, 180.0)]
    with gateway.session() as s, s.begin():
        s.execute(insert(ServiceRequest), [
            {"jurisdiction_id": "lacounty.gov", "service_code": "DPW-GRAFFITI", "service_name": "x",
             "department": "DPW", "status": "open", "requested_datetime": FIXED_NOW, "updated_datetime": FIXED_NOW,
             "token": f"c{i}", "attributes": {}, "lat": lat, "long": lon} for i, (lat, lon) in enumerate(points)])
    with gateway.engine.connect() as connection:
        stored = connection.execute(text(f"SELECT lat, long, {spatial.GRID_COLUMN} FROM service_requests")).all()
    assert len(stored) == len(points)
    assert all(cell == spatial.cell_of(lat, lon) for lat, lon, cell in stored)
    assert spatial.cells_of_box(34.0, 34.0, -118.5, -118.5) == [spatial.cell_of(34.0, -118.5)]
    assert spatial.cells_of_box(33.98, 34.08, -118.30, -118.16) is not None
    assert spatial.cells_of_box(33.7, 34.8, -118.9, -117.7) is None   # the whole county: the date order


def test_a_moved_request_date_moves_it_in_the_index_and_windowless_boxes_reach_any_age(gateway: Services) -> None:
    with gateway.engine.connect() as connection:
        if spatial.detect(connection).kind == "none":
            pytest.skip("no spatial index on this database")
    seed(gateway, 300, random.Random(4))
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    box = BBox(west=-118.26, south=34.04, east=-118.25, north=34.05)   # no seeded point is in it
    old = FIXED_NOW.replace(year=1850)
    with gateway.session() as s, s.begin():
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 7).values(lat=34.045, long=-118.255))
    with gateway.session() as session:   # the last 90 days: there it is
        found = find_requests(session, jurisdiction, RequestQuery(bbox=box, page_size=5), FIXED_NOW)
    assert [r.id for r in found.rows] == [7]
    with gateway.session() as s, s.begin():   # dated back: the index follows (trigger / generated column)
        s.execute(update(ServiceRequest).where(ServiceRequest.id == 7).values(requested_datetime=old))
    with gateway.session() as session:
        recent = find_requests(session, jurisdiction, RequestQuery(bbox=box, page_size=5), FIXED_NOW)
        # without a date window (updated_after alone) the slabs widen until they reach any age
        anyage = find_requests(session, jurisdiction, RequestQuery(
            bbox=box, updated_after=FIXED_NOW - timedelta(days=1), page_size=1), FIXED_NOW)
    assert recent.rows == [] and [r.id for r in anyage.rows] == [7]
    assert anyage.rows[0].requested_datetime == old
    with gateway.engine.connect() as connection:
        if spatial.detect(connection).kind == "rtree":
            day = connection.execute(text("SELECT min_day FROM request_rtree WHERE id = 7")).scalar()
            assert abs(float(day) - spatial.day_number(old)) < 0.01   # 32-bit floats: within a quarter of an hour


def test_postgresql_plans_a_box_for_its_values(gateway: Services) -> None:
    with gateway.engine.connect() as connection:
        if spatial.detect(connection).kind != "grid":
            pytest.skip("PostgreSQL only")
    seed(gateway, 200, random.Random(6))
    jurisdiction = gateway.config.jurisdictions["lacounty.gov"]
    with captured_sql(gateway) as statements, gateway.session() as session:
        find_requests(session, jurisdiction, RequestQuery(bbox=BBox(west=-118.5, south=34.0, east=-118.0, north=34.3),
                                                          page_size=10), FIXED_NOW)
    sent = [sql.strip() for sql, _ in statements]
    first_page = next(i for i, sql in enumerate(sent) if "FROM service_requests" in sql)
    assert "SET LOCAL plan_cache_mode = force_custom_plan" in sent[:first_page], sent
