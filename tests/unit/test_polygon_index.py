"""PolygonIndex (lazy grid + prepared tests) answers exactly what plain shapely answers, boundaries included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import shapely

from open311.gis.areas import PolygonIndex
from open311.gis.layers import read_polygons
from tests.conftest import ROOT, shared_path
from tests.gisconfigs import NEIGHBORHOODS


def expected(geoms: np.ndarray, x: float, y: float) -> set[int]:
    """Indices of the polygons covering the point, the slow obvious way."""
    return set(np.flatnonzero(shapely.covers(geoms, shapely.Point(x, y))).tolist())


def compare(path: Path, samples: int) -> None:
    names, geoms = read_polygons(path, "name")
    plain = shapely.from_wkb(shapely.to_wkb(geoms))   # unprepared copies
    index = PolygonIndex(names, geoms.copy())
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(7)
    # random points over (and a little beyond) the extent
    xs = rng.uniform(minx - 0.05, maxx + 0.05, samples)
    ys = rng.uniform(miny - 0.05, maxy + 0.05, samples)
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        assert set(index.covering(x, y)) == expected(plain, x, y), (x, y)
        assert index.covers(x, y) == bool(expected(plain, x, y)), (x, y)
    # every vertex lies on its polygon's boundary, which counts as inside
    coords = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(geoms)))
    for x, y in coords[rng.choice(len(coords), min(samples, len(coords)), replace=False)].tolist():
        found = set(index.covering(x, y))
        assert found and found == expected(plain, x, y), (x, y)
    # and the exact corners of the extent
    for x, y in ((minx, miny), (maxx, maxy), (minx, maxy), (maxx, miny)):
        assert set(index.covering(x, y)) == expected(plain, x, y)


def test_matches_shapely_on_the_demo_places() -> None:
    compare(ROOT / "service_areas" / "lacounty.gov" / "places.geojson", 3000)


def test_matches_shapely_on_the_real_neighbourhoods() -> None:
    compare(shared_path("gis", NEIGHBORHOODS), 3000)


def test_results_are_in_name_order_on_shared_borders() -> None:
    a = shapely.box(0, 0, 1, 1)
    b = shapely.box(1, 0, 2, 1)
    index = PolygonIndex(["West", "East"], np.array([a, b], dtype=object))
    assert index.covering(1.0, 0.5) == [1, 0]      # on the shared edge: both, East before West
    assert index.covering(0.5, 0.5) == [0]
    assert index.covering(2.5, 0.5) == [] and not index.covers(-1e-12, 0.5)


@pytest.mark.parametrize("geoms", [[], [shapely.box(0, 0, 0, 1)]])
def test_degenerate_layers(geoms: list[shapely.Geometry]) -> None:
    index = PolygonIndex([str(i) for i in range(len(geoms))], np.array(geoms, dtype=object))
    assert index.covering(5.0, 5.0) == []


def test_threads_filling_cells_together_agree_with_shapely() -> None:
    names, geoms = read_polygons(ROOT / "service_areas" / "lacounty.gov" / "places.geojson", "name")
    plain = shapely.from_wkb(shapely.to_wkb(geoms))
    index = PolygonIndex(names, geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(11)
    points = list(zip(rng.uniform(minx, maxx, 4000).tolist(), rng.uniform(miny, maxy, 4000).tolist(), strict=True))
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda p: set(index.covering(*p)), points))
    assert answers == [expected(plain, x, y) for x, y in points]
