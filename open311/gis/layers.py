"""Reading boundary and facility layers into WGS84 shapely arrays: GeoJSON directly, any other format and CRS
through geopandas.

A serving worker reads its layers once, at start-up, and the shipped and synced ones are GeoJSON (gis.live
writes every synced layer as GeoJSON in WGS84): those are read with json and shapely, so the worker never
imports geopandas, pandas, pyarrow and GDAL (about 150 MB of resident memory it would hold and never use
again; docs/benchmarks.md, B7). Shapefiles, GeoPackages, GeoJSON in another CRS, and the commands that
import, sync and write layers, go through geopandas as before; both paths give the same geometries and
properties (tests/unit/test_layer_reading.py), except that a date-time text stays the text the file holds
where GDAL would make it a timestamp.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from open311.config.gis import DistrictLayer, FacilityLayer, PlaceLayer

if TYPE_CHECKING:  # geopandas is imported only when a layer is read (it costs ~70 MB and ~2 s)
    from geopandas import GeoDataFrame

WGS84 = "EPSG:4326"
POLYGONAL = ("Polygon", "MultiPolygon")
GEOJSON_SUFFIXES = (".geojson", ".json")
# How a GeoJSON file may name WGS84 (RFC 7946 has no crs member; the 2008 format's names for the same CRS).
WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326",
               "EPSG:4326")


class LayerError(Exception):
    """A layer file is missing, unreadable, or lacks what the configuration expects of it."""


@dataclass(frozen=True)
class Place:
    """A polygon of the places layer: a city (or a segment of one) or an unincorporated area."""

    name: str
    city: str | None            # None for unincorporated areas

    @property
    def unincorporated(self) -> bool:
        """True outside every incorporated city."""
        return self.city is None


def read_frame(path: Path, geometry_types: Sequence[str] | None = None, layer: str | None = None,
               where: str | None = None) -> GeoDataFrame:
    """Read any vector file geopandas can (GeoJSON, Shapefile, GeoPackage ...) and reproject it to WGS84;
    `layer` picks a layer of a multi-layer file, `where` is an OGR SQL filter on properties."""
    import geopandas

    if not path.exists():
        raise LayerError(f"{path}: layer file not found.")
    options = {k: v for k, v in (("layer", layer), ("where", where)) if v}
    try:
        frame = geopandas.read_file(path, **options)
    except Exception as exc:  # pyogrio/GDAL raise many types; all mean "cannot read this file"
        raise LayerError(f"{path}: cannot read as a vector layer: {exc}") from None
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise LayerError(f"{path}: the layer has no features with a geometry.")
    if frame.crs is None:
        raise LayerError(f"{path}: the layer has no coordinate reference system (a Shapefile needs its .prj).")
    if not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    if geometry_types is not None:
        wrong = sorted(set(frame.geom_type) - set(geometry_types))
        if wrong:
            raise LayerError(f"{path}: expected {' or '.join(geometry_types)} features, found {', '.join(wrong)}.")
    invalid = ~frame.geometry.is_valid
    if invalid.any():  # self-intersections in official files are common; repair rather than refuse
        frame.loc[invalid, "geometry"] = shapely.make_valid(np.asarray(frame.geometry[invalid].values))
    return frame


@dataclass(frozen=True)
class Features:
    """A layer's features as the indexes take them: WGS84 geometries and each property's values, in order."""

    geoms: np.ndarray[Any, Any]
    columns: dict[str, list[Any]]


def read_features(path: Path, geometry_types: Sequence[str] | None = None) -> Features:
    """A layer's features: GeoJSON in WGS84 read directly, anything else through read_frame (geopandas)."""
    if path.suffix.lower() in GEOJSON_SUFFIXES:
        found = _read_geojson(path, geometry_types)
        if found is not None:
            return found
    frame = read_frame(path, geometry_types)
    return Features(geometries(frame), {c: frame[c].tolist() for c in frame.columns if c != "geometry"})


def _read_geojson(path: Path, geometry_types: Sequence[str] | None) -> Features | None:
    """A GeoJSON FeatureCollection in WGS84 through json and shapely, checked as read_frame checks; None
    when the file names another CRS (read_frame reprojects it)."""
    from shapely.geometry import shape

    if not path.exists():
        raise LayerError(f"{path}: layer file not found.")
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise LayerError(f"{path}: cannot read as a vector layer: {exc}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise LayerError(f"{path}: cannot read as a vector layer: not a GeoJSON FeatureCollection.")
    crs = document.get("crs")
    if crs is not None and not (isinstance(crs, dict) and isinstance(crs.get("properties"), dict)
                                and crs["properties"].get("name") in WGS84_NAMES):
        return None   # another (or an unreadable) CRS: GDAL decides
    geoms: list[Any] = []
    rows: list[dict[str, Any]] = []
    for feature in document["features"]:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not geometry:
            continue
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise LayerError(f"{path}: cannot read as a vector layer: {exc}") from None
        if geom.is_empty:
            continue
        geoms.append(geom)
        properties = feature.get("properties")
        rows.append(properties if isinstance(properties, dict) else {})
    if not geoms:
        raise LayerError(f"{path}: the layer has no features with a geometry.")
    if geometry_types is not None:
        wrong = sorted({g.geom_type for g in geoms} - set(geometry_types))
        if wrong:
            raise LayerError(f"{path}: expected {' or '.join(geometry_types)} features, found {', '.join(wrong)}.")
    array = np.asarray(geoms, dtype=object)
    invalid = ~shapely.is_valid(array)
    if invalid.any():  # as read_frame: repaired, not refused
        array[invalid] = shapely.make_valid(array[invalid])
    names = list(dict.fromkeys(name for row in rows for name in row))
    return Features(array, {name: [row.get(name) for row in rows] for name in names})


def property_values(frame: Features, name: str, path: Path) -> list[Any]:
    """Values of a property per feature; `a.b` reads key b of a nested (JSON) property a."""
    column, *keys = name.split(".")
    if column not in frame.columns:
        known = ", ".join(frame.columns)
        raise LayerError(f"{path}: no property {column!r}; the layer has: {known}.")
    values = []
    for value in frame.columns[column]:
        for key in keys:
            if isinstance(value, str) and value.startswith("{"):
                value = json.loads(value)
            value = value.get(key) if isinstance(value, dict) else None
        values.append(None if _missing(value) else value)
    return values


def _missing(value: Any) -> bool:
    """True for None, NaN and empty strings (how each format spells "no value")."""
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _names(frame: Features, prop: str, path: Path) -> list[str]:
    """A required text property: every feature must have one."""
    values = property_values(frame, prop, path)
    if any(v is None for v in values):
        raise LayerError(f"{path}: {values.count(None)} feature(s) have no {prop!r}.")
    return [str(v).strip() for v in values]


def geometries(frame: GeoDataFrame) -> np.ndarray[Any, Any]:
    """The frame's geometries as a shapely array."""
    return np.asarray(frame.geometry.values, dtype=object)


def file_of(layer: PlaceLayer | DistrictLayer | FacilityLayer) -> Path:
    """The file a layer is read from (for a synced layer: its live version, written out by gis.live)."""
    if layer.path is None:
        url = layer.sync.url if layer.sync else "?"
        raise LayerError(f"the layer synced from {url} has no live version yet: run `open311 areas sync`, "
                         "then `open311 areas approve` (docs/gis.md).")
    return layer.path


def read_places(layer: PlaceLayer) -> tuple[list[Place], np.ndarray[Any, Any]]:
    """The places layer: each polygon with its name and the city it belongs to (None if unincorporated)."""
    path = file_of(layer)
    frame = read_features(path, POLYGONAL)
    names = _names(frame, layer.name, path)
    types = [None if t is None else str(t) for t in property_values(frame, layer.type, path)]
    places = []
    for name, kind in zip(names, types, strict=True):
        if kind in layer.unincorporated:
            places.append(Place(name, None))
        else:
            places.append(Place(name, layer.city_segments.get(kind or "", name)))
    return places, frame.geoms


def read_polygons(path: Path, name_property: str | None) -> tuple[list[str], np.ndarray[Any, Any]]:
    """A polygon layer (boundary, districts) with a name per feature."""
    frame = read_features(path, POLYGONAL)
    names = _names(frame, name_property, path) if name_property else [path.stem] * len(frame.geoms)
    return names, frame.geoms


def read_facilities(layer: FacilityLayer) -> tuple[list[dict[str, Any]], np.ndarray[Any, Any]]:
    """Facilities with the configured fields (absent values are None) and their geometries."""
    path = file_of(layer)
    frame = read_features(path)
    columns = {name: property_values(frame, prop, path) for name, prop in layer.properties.items()}
    if any(v is None for v in columns["name"]):
        missing = columns["name"].count(None)
        raise LayerError(f"{path}: {missing} facility(ies) have no {layer.properties['name']!r}.")
    rows = [{name: (None if values[i] is None else str(values[i]).strip()) for name, values in columns.items()}
            for i in range(len(frame.geoms))]
    for row in rows:
        category = row.get("category")
        if category is not None and category in layer.category_values:
            row["category"] = layer.category_values[category]
    return rows, frame.geoms


def project(geoms: Iterable[Any], crs: str, *, to: str | None = None) -> np.ndarray[Any, Any]:
    """Reproject shapely geometries from WGS84 to `crs` (or from `crs` back to `to`): pyproj's transformer in
    x, y order over every coordinate, which is what geopandas' to_crs does."""
    transform = _transformer(*((crs, to) if to else (WGS84, crs))).transform
    array = np.asarray(list(geoms), dtype=object)
    if not len(array):
        return array
    return np.asarray(shapely.transform(array, lambda xy: np.column_stack(transform(xy[:, 0], xy[:, 1]))),
                      dtype=object)


@cache
def _transformer(source: str, target: str) -> Any:
    """A pyproj Transformer between two CRSs, longitude/easting first."""
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)


def write_geojson(frame: GeoDataFrame, path: Path, name: str | None = None) -> None:
    """Write a layer as GeoJSON in WGS84, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=name or path.stem, COORDINATE_PRECISION=7,
                  WRITE_BBOX="NO")
    os.replace(tmp, path)
