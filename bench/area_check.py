"""Benchmark: the service-area check per request on the real LA County layers, against a bare STRtree query.

A (ours): `areas.check(service, areas.locate(lat, long))`, what submit_request runs for a point: locate the
point among the 272 Mapping L.A. polygons, evaluate the service's rule, build the referral when refused.
B (baseline): `STRtree.query(Point(long, lat), predicate="covered_by")` on the same polygons and points:
the plain shapely answer to "which polygons cover this point".
C (floor): `STRtree.query(Point(long, lat))`, the bounding-box candidates alone, no predicate.
Rounds alternate A B C A B C; each round times every point once; the report gives medians over the rounds
and the ratios. A runs once before the rounds (reported as the cold pass): the grid cells its points hit
are filled then, as they are over a worker's first requests. Also measured: the services offered at a
point (GET services?lat&long), and, in a fresh process, create_app's time and resident memory with the
demo layers and with the real ones.

Run: `make bench` or `.venv/bin/python bench/area_check.py [--rounds 7] [--points 5000]`.
Needs ../shared/gis (skips with a message when it is absent).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICES = ("DRP-INOPERABLE", "DPH-POOL-WATER", "DPW-GRAFFITI", "DPR-RESTROOM", "DEO-VEND-SIDEWALK")


def machine() -> str:
    """CPU model, cores, Python and library versions."""
    import geopandas
    import shapely

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
            f"geopandas {geopandas.__version__}")


def sample_points(areas: object, count: int) -> list[tuple[float, float]]:
    """Points drawn uniformly inside the county's polygons (seeded, so every run uses the same points)."""
    import numpy as np
    import shapely

    geoms = areas.places.geoms  # type: ignore[attr-defined]
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


def time_ours(areas: object, services: list[object], points: list[tuple[float, float]]) -> float:
    """Seconds per point for locate + check (refusals raise and are caught, as the HTTP layer does)."""
    from open311.errors import BadRequest

    check, locate = areas.check, areas.locate  # type: ignore[attr-defined]
    n = len(services)
    start = time.perf_counter()
    for i, (lat, long) in enumerate(points):
        try:  # noqa: SIM105 - the same try/except the HTTP layer runs; suppress() costs more
            check(services[i % n], locate(lat, long))
        except BadRequest:
            pass
    return (time.perf_counter() - start) / len(points)


def time_baseline(tree: object, points: list[tuple[float, float]]) -> float:
    """Seconds per point for a bare STRtree covered_by query."""
    from shapely import Point

    query = tree.query  # type: ignore[attr-defined]
    start = time.perf_counter()
    for lat, long in points:
        query(Point(long, lat), predicate="covered_by")
    return (time.perf_counter() - start) / len(points)


def time_bbox_only(tree: object, points: list[tuple[float, float]]) -> float:
    """Seconds per point for the STRtree's bounding-box query alone."""
    from shapely import Point

    query = tree.query  # type: ignore[attr-defined]
    start = time.perf_counter()
    for lat, long in points:
        query(Point(long, lat))
    return (time.perf_counter() - start) / len(points)


def time_services_at(areas: object, points: list[tuple[float, float]]) -> float:
    """Seconds per point for the list of services offered there."""
    locate, services_at = areas.locate, areas.services_at  # type: ignore[attr-defined]
    start = time.perf_counter()
    for lat, long in points:
        services_at(locate(lat, long))
    return (time.perf_counter() - start) / len(points)


STARTUP = """
import json, os, sys, time
t = time.perf_counter()
from open311 import create_app
app = create_app({"OPEN311_CONFIG": sys.argv[1], "OPEN311_DATABASE_URL": "sqlite://"})
seconds = time.perf_counter() - t
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "rss_mb": rss / 1024, "peak_mb": peak / 1024}))
"""


def startup(config: Path, folder: Path) -> dict[str, float]:
    """create_app in a fresh interpreter: wall time (imports included), RSS and peak RSS after it."""
    import json

    env = {**os.environ, "OPEN311_INTAKE_DIR": str(folder / "intake"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", STARTUP, str(config)], capture_output=True, text=True, env=env,
                         check=True, cwd=folder)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the rounds and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--points", type=int, default=5000)
    args = parser.parse_args()
    from tests.gisconfigs import DPR_PARKS, NEIGHBORHOODS, real_gis_config

    shared = ROOT.parent / "shared" / "gis"
    if not (shared / NEIGHBORHOODS).exists() or not (shared / DPR_PARKS).exists():
        print(f"skipped: {shared} is absent (the benchmark needs the real LA County layers)")
        return
    import requests
    from shapely import STRtree

    from open311.config import load_config
    from open311.geo import build_service_areas

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config_path = real_gis_config(folder)
        jurisdiction = load_config(config_path).jurisdictions["lacounty.gov"]
        areas = build_service_areas(jurisdiction, requests.Session())
        services = [jurisdiction.catalog.services[c] for c in SERVICES]
        points = sample_points(areas, args.points)
        tree = STRtree(areas.places.geoms)  # type: ignore[union-attr]
        cold = time_ours(areas, services, points)      # first pass: fills the grid cells these points hit
        cells = len(areas.places._cells)  # type: ignore[union-attr]
        time_baseline(tree, points[:500])
        ours, base, floor, listing = [], [], [], []
        for _ in range(args.rounds):
            ours.append(time_ours(areas, services, points))
            base.append(time_baseline(tree, points))
            floor.append(time_bbox_only(tree, points))
            listing.append(time_services_at(areas, points))
        demo = startup(ROOT / "jurisdictions.yaml", folder)
        real = startup(config_path, folder)
    a, b, c, s = (statistics.median(x) * 1e6 for x in (ours, base, floor, listing))
    print("## Service-area check (bench/area_check.py)\n")
    print(f"Machine: {machine()}.\n")
    print(f"Real layers: {NEIGHBORHOODS} (272 polygons), {DPR_PARKS} (131 points); {len(points)} points drawn "
          f"uniformly inside the county (seeded); services {', '.join(SERVICES)} in turn; {args.rounds} rounds, "
          "interleaved A B C A B C; medians.\n")
    print("| measure | median per request | all rounds (us) |")
    print("|---|---|---|")
    print(f"| A: area check (locate + rule + referral) | {a:.1f} us | {', '.join(f'{x * 1e6:.1f}' for x in ours)} |")
    print(f"| B: bare STRtree covered_by query | {b:.1f} us | {', '.join(f'{x * 1e6:.1f}' for x in base)} |")
    print(f"| C: STRtree bounding-box query alone | {c:.1f} us | {', '.join(f'{x * 1e6:.1f}' for x in floor)} |")
    ab = [x / y for x, y in zip(ours, base, strict=True)]
    ac = [x / y for x, y in zip(ours, floor, strict=True)]
    print(f"| ratio A / B (per round) | {statistics.median(ab):.2f} | {', '.join(f'{x:.2f}' for x in ab)} |")
    print(f"| ratio A / C (per round) | {statistics.median(ac):.2f} | {', '.join(f'{x:.2f}' for x in ac)} |")
    print(f"| A, first pass (cold: fills {cells} grid cells of the places layer) | {cold * 1e6:.1f} us | |")
    print(f"| services at a point ({len(jurisdiction.catalog.services)} services) | {s:.1f} us | "
          f"{', '.join(f'{x * 1e6:.1f}' for x in listing)} |")
    print(f"\nGoal: area check under 50 us per request: {'met' if a < 50 else 'NOT met'}.\n")
    print("| create_app in a fresh process | seconds (imports included) | RSS after | peak RSS |")
    print("|---|---|---|---|")
    for name, run in (("demo layers (shipped)", demo), ("real layers (../shared/gis)", real)):
        print(f"| {name} | {run['seconds']:.2f} | {run['rss_mb']:.0f} MB | {run['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
