"""B3: the service-area decision per request on the real LA County layers, against a raw STRtree query.

A (ours): `areas.check(service, areas.locate(lat, long))`, what submit_request runs for a point: locate the
point among the 272 Mapping L.A. polygons, evaluate the service's rule, build the referral and raise (and
catch) the 400 when refused.
B (baseline): `STRtree.query(Point(long, lat), predicate="covered_by")` on the same polygons and points: the
plain shapely answer to "which polygons cover this point", with no rule, referral or error.
C (floor, for reference): `STRtree.query(Point(long, lat))`, the bounding-box candidates alone.
D (for reference): the services offered at a point (what `GET services.json?lat&long` computes).

Rounds alternate A B C D; each round times every point once; medians over the rounds. The goal ratio is
B's time / A's time (raw ÷ ours, per round, then the median): the issue's "cost <= 2x raw" is a ratio
>= 0.5; above 1 means ours is faster than the raw query. A runs once before the rounds (reported as the
cold pass): the grid cells its points hit are filled then, as they are over a worker's first requests.

Run: `python -m bench.b3_area [--rounds 7] [--points 5000]` (about 15 s). Needs ../shared/gis: without it
the section says "skipped" and the command exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, Goal, fmt, interleave, machine, median, ratios, write_section

ROOT = Path(__file__).resolve().parent.parent
SHARED_GIS = ROOT.parent / "shared" / "gis"
NEIGHBORHOODS = "la-county-neighborhoods-current.geojson"
DPR_PARKS = "lacounty-dpr-parks.geojson"
SERVICES = ("DRP-INOPERABLE", "DPH-POOL-WATER", "DPW-GRAFFITI", "DPR-RESTROOM", "DEO-VEND-SIDEWALK")
GOAL = 0.5

READING = """\
Reading it / what was tried:

- The goal ratio is **raw ÷ ours** (B's time per point divided by A's): 0.5 means the check costs twice
  the raw query, the most the issue allows; above 1 means ours costs *less* than the raw query.
- A is the whole per-request check of `submit_request` (locate the point among the 272 polygons,
  evaluate the rule, format the referral and raise/catch the 400 when refused), yet costs about half
  the bare `covered_by` STRtree query (B) and no more than the STRtree's bounding-box query alone (C):
  the places index (`open311/geo.py`, `PolygonIndex`) answers from a lazily filled 256 x 256 grid, and
  most cells lie wholly inside one polygon, so no geometry test runs at all (docs/gis.md, "Performance
  and memory"). Near a border a cell keeps the polygons that touch it and tests those exactly (prepared
  geometries, the `intersects_xy` ufunc called directly).
- The cold first pass is what a worker pays the first time a request lands in a grid cell (one
  STRtree query and one `contains_properly` per cell, then cached; at most 257 x 257 cells per layer).
- What was tried: before the grid (commit 16c1a9e) the index ran B's very query per request, plus
  one more for the outline or the rule's layer, so the check could only cost more than the raw query;
  with the grid it costs less. Kept as they are, since the goal is met with room.
- Resident memory of a worker holding these layers is B7's subject.
"""


def shapely_versions() -> str:
    """shapely, GEOS and geopandas versions."""
    import geopandas
    import shapely

    return f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), geopandas {geopandas.__version__}"


def sample_points(areas: Any, count: int) -> list[tuple[float, float]]:
    """(lat, long) points drawn uniformly inside the county's polygons (seeded: every run uses the same)."""
    import numpy as np
    import shapely

    geoms = areas.places.geoms
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(20261122)
    union = shapely.union_all(geoms)
    shapely.prepare(union)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        xs, ys = rng.uniform(minx, maxx, count), rng.uniform(miny, maxy, count)
        inside = shapely.contains_xy(union, xs, ys)
        points += [(float(y), float(x)) for x, y in zip(xs[inside], ys[inside], strict=True)]
    return points[:count]


def time_ours(areas: Any, services: list[Any], points: list[tuple[float, float]]) -> float:
    """Seconds per point for locate + check (refusals raise and are caught, as the HTTP layer does)."""
    from open311.errors import BadRequest

    check, locate = areas.check, areas.locate
    n = len(services)
    start = time.perf_counter()
    for i, (lat, long) in enumerate(points):
        try:  # noqa: SIM105 - the same try/except the HTTP layer runs; suppress() costs more
            check(services[i % n], locate(lat, long))
        except BadRequest:
            pass
    return (time.perf_counter() - start) / len(points)


def time_raw(tree: Any, points: list[tuple[float, float]]) -> float:
    """Seconds per point for a bare STRtree covered_by query."""
    from shapely import Point

    query = tree.query
    start = time.perf_counter()
    for lat, long in points:
        query(Point(long, lat), predicate="covered_by")
    return (time.perf_counter() - start) / len(points)


def time_bbox_only(tree: Any, points: list[tuple[float, float]]) -> float:
    """Seconds per point for the STRtree's bounding-box query alone."""
    from shapely import Point

    query = tree.query
    start = time.perf_counter()
    for lat, long in points:
        query(Point(long, lat))
    return (time.perf_counter() - start) / len(points)


def time_services_at(areas: Any, points: list[tuple[float, float]]) -> float:
    """Seconds per point for the list of services offered there."""
    locate, services_at = areas.locate, areas.services_at
    start = time.perf_counter()
    for lat, long in points:
        services_at(locate(lat, long))
    return (time.perf_counter() - start) / len(points)


def skip(reason: str) -> None:
    """Say why nothing was measured, in the section too, and drop a stale result."""
    print(f"B3 skipped: {reason}")
    (RESULTS / "B3.json").unlink(missing_ok=True)
    write_section("B3", f"## B3 area check (bench/b3_area.py)\n\nSkipped: {reason}.\n\n{READING}")


def us(values: list[float]) -> str:
    """Seconds as microseconds, all rounds."""
    return fmt([v * 1e6 for v in values], 1)


def main(argv: list[str] | None = None) -> int:
    """Measure, print and write the B3 section."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--points", type=int, default=5000)
    args = parser.parse_args(argv)
    if not (SHARED_GIS / NEIGHBORHOODS).exists() or not (SHARED_GIS / DPR_PARKS).exists():
        skip(f"{SHARED_GIS} is absent (the benchmark needs the real LA County layers)")
        return 0
    started = time.monotonic()
    import requests
    from shapely import STRtree

    from open311.config.jurisdictions import load_config
    from open311.gis.areas import build_service_areas
    from tests.gisconfigs import real_gis_config

    with tempfile.TemporaryDirectory() as tmp:
        config_path = real_gis_config(Path(tmp), SHARED_GIS.parent)
        jurisdiction = load_config(config_path).jurisdictions["lacounty.gov"]
        areas = build_service_areas(jurisdiction, requests.Session())
    services = [jurisdiction.catalog.services[c] for c in SERVICES]
    points = sample_points(areas, args.points)
    tree = STRtree(areas.places.geoms)  # type: ignore[union-attr]
    cold = time_ours(areas, services, points)      # first pass: fills the grid cells these points hit
    cells = len(areas.places._cells)  # type: ignore[union-attr]
    time_raw(tree, points[:500])
    time_bbox_only(tree, points[:500])
    values = interleave({"A": lambda: time_ours(areas, services, points), "B": lambda: time_raw(tree, points),
                         "C": lambda: time_bbox_only(tree, points), "D": lambda: time_services_at(areas, points)},
                        args.rounds)
    a, b, c, d = (median(values[k]) * 1e6 for k in "ABCD")
    goal = ratios(values["B"], values["A"])      # raw / ours: >= 0.5 means ours costs <= 2x raw
    floor = ratios(values["C"], values["A"])
    met = median(goal) >= GOAL
    lines = [
        "## B3 area check (bench/b3_area.py)", "",
        f"`python -m bench.b3_area`. Machine: {machine()}; {shapely_versions()}.", "",
        f"Real layers from ../shared/gis: {NEIGHBORHOODS} ({len(areas.places.names)} polygons), "  # type: ignore[union-attr]
        f"{DPR_PARKS} (parks for the near-a-park rules); {len(points)} points drawn uniformly inside the county "
        f"(seeded); services {', '.join(SERVICES)} in turn; {args.rounds} rounds interleaved A B C D; medians.", "",
        "| measure | median per point | all rounds (µs) |", "|---|---|---|",
        f"| A (ours): area check (locate + rule + referral) | {a:.1f} µs | {us(values['A'])} |",
        f"| B (raw): bare STRtree `covered_by` query | {b:.1f} µs | {us(values['B'])} |",
        f"| C (floor): STRtree bounding-box query alone | {c:.1f} µs | {us(values['C'])} |",
        f"| D: services offered at a point ({len(jurisdiction.catalog.services)} services) | {d:.1f} µs "
        f"| {us(values['D'])} |",
        f"| A, cold first pass (fills {cells} grid cells of the places layer) | {cold * 1e6:.1f} µs | |", "",
        "| ratio | median | per round | goal | met |", "|---|---|---|---|---|",
        f"| **B / A** (raw time ÷ ours; ≥ 0.5 is \"cost ≤ 2x raw\") | **{median(goal):.2f}** | {fmt(goal)} "
        f"| ≥ {GOAL} | {'yes' if met else '**no**'} |",
        f"| C / A (bounding-box floor ÷ ours) | {median(floor):.2f} | {fmt(floor)} | | |", "",
        f"Run time: {time.monotonic() - started:.0f} s.", "", READING]
    goals = [Goal("B3", "area check: raw STRtree time ÷ ours", median(goal), f">= {GOAL}", met,
                  f"ours {a:.1f} µs, raw {b:.1f} µs per point")]
    write_section("B3", "\n".join(lines), goals)
    print("\n".join(lines[:20]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
