"""Layers read without geopandas (GeoJSON in WGS84, what a serving worker reads) give what geopandas gives:
the same geometries, the same properties, the same refusals; other CRSs still go through geopandas; a serving
worker built on the demo configuration never imports pandas, pyarrow, geopandas or pyogrio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from open311.gis.layers import (
    POLYGONAL,
    LayerError,
    _read_geojson,
    geometries,
    project,
    property_values,
    read_features,
    read_frame,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_GIS = ROOT.parent / "shared" / "gis"
DEMO = sorted((ROOT / "service_areas").rglob("*.geojson"))
REAL = sorted(SHARED_GIS.glob("*.geojson")) if SHARED_GIS.is_dir() else []


def _same_value(direct: Any, through_gdal: Any) -> bool:
    """A property as both readers give it: GDAL may spell a nested object as JSON text, no value as None/NaN, and
    reads a date-time text as a timestamp (the direct reader keeps the text the file holds)."""
    if isinstance(direct, dict | list):
        return through_gdal == direct or (isinstance(through_gdal, str) and json.loads(through_gdal) == direct)
    if hasattr(through_gdal, "isoformat") and isinstance(direct, str):
        import pandas

        return bool(pandas.Timestamp(direct) == through_gdal)
    if direct is None or direct == "":
        return through_gdal is None or through_gdal == "" or through_gdal != through_gdal
    return bool(direct == through_gdal) or str(direct) == str(through_gdal)


@pytest.mark.parametrize("path", DEMO + REAL, ids=lambda p: p.name)
def test_geojson_read_directly_equals_geopandas(path: Path) -> None:
    direct = _read_geojson(path, None)
    assert direct is not None
    frame = read_frame(path)
    assert len(direct.geoms) == len(frame)
    assert all(shapely.equals_exact(a, b, 0.0) for a, b in zip(direct.geoms, geometries(frame), strict=True))
    gdal_columns = [c for c in frame.columns if c != "geometry"]
    assert set(direct.columns) == set(gdal_columns)
    for name in gdal_columns:   # property_values, which the indexes read them through, is a function of these
        pairs = zip(direct.columns[name], frame[name].tolist(), strict=True)
        assert all(_same_value(a, b) for a, b in pairs), name


def _write(tmp_path: Path, document: Any, name: str = "layer.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document, encoding="utf-8")
    return path


SQUARE = {"type": "Polygon", "coordinates": [[[-118.3, 34.0], [-118.2, 34.0], [-118.2, 34.1], [-118.3, 34.0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def test_refusals_match_geopandas_and_repairs_too(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="layer file not found"):
        read_features(tmp_path / "missing.geojson")
    with pytest.raises(LayerError, match="cannot read as a vector layer"):
        read_features(_write(tmp_path, "{not json"))
    with pytest.raises(LayerError, match="cannot read as a vector layer"):
        read_features(_write(tmp_path, {"type": "Feature", "geometry": SQUARE}))
    empty = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None, "properties": {}}]}
    with pytest.raises(LayerError, match="no features with a geometry"):
        read_features(_write(tmp_path, empty))
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-118.2, 34.0]}, "properties": {"n": 1}}]}
    with pytest.raises(LayerError, match="expected Polygon or MultiPolygon features, found Point"):
        read_features(_write(tmp_path, points), POLYGONAL)
    bowtie = _write(tmp_path, {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": BOWTIE, "properties": {"name": "b"}},
        {"type": "Feature", "geometry": SQUARE, "properties": {"name": "s", "extra": {"k": 1}}}]})
    direct = read_features(bowtie, POLYGONAL)
    assert shapely.is_valid(direct.geoms).all()
    assert all(shapely.equals_exact(a, b, 0.0) for a, b in zip(direct.geoms, geometries(read_frame(bowtie)),
                                                                strict=True))
    assert direct.columns == {"name": ["b", "s"], "extra": [None, {"k": 1}]}
    assert property_values(direct, "extra.k", bowtie) == [None, 1]


def test_another_crs_is_reprojected_through_geopandas(tmp_path: Path) -> None:
    x, y = project([shapely.Point(-118.25, 34.05)], "EPSG:3857")[0].coords[0]
    document = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
                "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                              "properties": {"name": "City Hall"}}]}
    path = _write(tmp_path, document)
    assert _read_geojson(path, None) is None
    found = read_features(path)
    point = found.geoms[0]
    assert abs(point.x + 118.25) < 1e-9 and abs(point.y - 34.05) < 1e-9
    assert found.columns["name"] == ["City Hall"]
    wgs84 = {**document, "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    assert _read_geojson(_write(tmp_path, wgs84, "named.geojson"), None) is not None


def test_project_equals_geopandas_to_crs() -> None:
    from geopandas import GeoSeries

    rng = np.random.default_rng(4)
    shapes = [shapely.Point(-118 - rng.random(), 34 + rng.random()).buffer(0.01) for _ in range(20)]
    ours = project(shapes, "EPSG:2229")
    theirs = GeoSeries(shapes, crs="EPSG:4326").to_crs("EPSG:2229").values
    assert all(shapely.equals_exact(a, b, 0.0) for a, b in zip(ours, theirs, strict=True))
    back = project(ours, "EPSG:2229", to="EPSG:4326")
    assert all(shapely.equals_exact(a, b, 1e-9) for a, b in zip(back, shapes, strict=True))
    assert len(project([], "EPSG:2229")) == 0


def test_a_serving_worker_loads_no_dataframe_library(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from open311 import create_app\n"
        f"app = create_app({{'OPEN311_DATABASE_URL': 'sqlite:///{tmp_path}/w.db', 'OPEN311_CREATE_SCHEMA': True,"
        f" 'OPEN311_MEDIA_DIR': '{tmp_path}/media'}})\n"
        "client = app.test_client()\n"
        "assert client.get('/open311/v2/services.json?lat=34.0239&long=-118.1720').status_code == 200\n"
        "assert client.get('/open311/v2/facilities.json?lat=34.0239&long=-118.1720').status_code == 200\n"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'geopandas', 'pyogrio') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_odd_crs_members_and_properties_do_not_break_the_reader(tmp_path: Path) -> None:
    feature = {"type": "Feature", "geometry": SQUARE, "properties": ["not", "an", "object"]}
    odd = _write(tmp_path, {"type": "FeatureCollection", "crs": "EPSG:4326", "features": [feature]})
    assert _read_geojson(odd, None) is None   # a crs member we cannot read: GDAL decides
    plain = _write(tmp_path, {"type": "FeatureCollection", "features": [feature]}, "plain.geojson")
    found = read_features(plain, POLYGONAL)
    assert found.columns == {} and len(found.geoms) == 1
