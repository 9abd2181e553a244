"""`open311 areas import`: official boundary or facility files (any format and CRS) into a configured layer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests

from open311.config.gis import GisSettings, with_layer_path
from open311.config.jurisdictions import GatewayConfig, Jurisdiction
from open311.errors import ConfigError
from open311.gis.areas import build_service_areas
from open311.gis.layers import POLYGONAL, LayerError, file_of, read_frame, write_geojson

LAYER_KINDS = ("boundary", "places", "facilities", "district:NAME")


@dataclass(frozen=True)
class ImportOptions:
    """How to transform the source before writing it."""

    source_layer: str | None = None     # a layer inside a GeoPackage (or other multi-layer source)
    where: str | None = None            # OGR SQL filter, e.g. "TYPE = 'LA County'"
    dissolve: str | None = None         # merge features sharing this property (e.g. city_name)
    simplify_m: float | None = None     # Douglas-Peucker tolerance in metres (projected CRS)
    keep: Sequence[str] = ()            # properties to keep; default: those the configuration reads
    check: bool = True                  # build the jurisdiction's areas with the new file before replacing


@dataclass(frozen=True)
class ImportReport:
    """What was written."""

    target: Path
    features: int
    source_crs: str
    bounds: tuple[float, float, float, float]
    size: int


def layer_needs(gis: GisSettings, layer: str) -> tuple[list[str], bool]:
    """The properties the configuration reads in a layer, and whether it must be polygonal."""
    if layer == "boundary":
        return [], True
    if layer == "places" and gis.places is not None:
        return [gis.places.name, gis.places.type], True
    if layer == "facilities" and gis.facilities is not None:
        return list(gis.facilities.properties.values()), False
    if layer.startswith("district:") and layer[9:] in gis.districts:
        return [gis.districts[layer[9:]].name], True
    raise LayerError(f"layer {layer!r} is not configured; configured: "
                     f"{', '.join(_configured(gis)) or 'none'} (kinds: {', '.join(LAYER_KINDS)}).")


def _target(gis: GisSettings, layer: str) -> tuple[Path, list[str], bool]:
    """The configured path of a layer, the properties the configuration reads there, and if it is polygonal."""
    synced = gis.synced().get(layer)
    if synced is not None:
        raise LayerError(f"layer {layer!r} is read from ArcGIS ({synced.url}): use `open311 areas sync {layer}`.")
    if layer == "boundary" and gis.boundary is None:
        raise LayerError("the jurisdiction has no boundary: set `boundary:` first.")
    needed, polygonal = layer_needs(gis, layer)
    if layer == "boundary":
        assert gis.boundary is not None
        return gis.boundary, needed, polygonal
    return file_of(gis.layers()[layer]), needed, polygonal


def _configured(gis: GisSettings) -> list[str]:
    """Names of the layers a jurisdiction configures."""
    names = ["boundary"] if gis.boundary else []
    names += ["places"] if gis.places else []
    names += ["facilities"] if gis.facilities else []
    return names + [f"district:{n}" for n in gis.districts]


def transform(frame: Any, needed: list[str], options: ImportOptions, gis: GisSettings) -> Any:
    """Dissolve, keep the needed properties and simplify, in that order."""
    columns = [c.split(".")[0] for c in (list(options.keep) or needed)]
    if options.dissolve:
        if options.dissolve not in frame.columns:
            raise LayerError(f"no property {options.dissolve!r} to dissolve on.")
        frame = frame.dissolve(by=options.dissolve, as_index=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        known = ", ".join(c for c in frame.columns if c != "geometry")
        raise LayerError(f"the source has no {', '.join(map(repr, missing))}; it has: {known}. "
                         "Point the layer's property names in jurisdictions.yaml at the source's "
                         "(areas import: or use --keep).")
    frame = frame[[*dict.fromkeys(columns), "geometry"]] if columns else frame[["geometry"]]
    if options.simplify_m:
        projected = frame.to_crs(gis.projected_crs)
        projected["geometry"] = projected.geometry.simplify(options.simplify_m, preserve_topology=True)
        frame = projected.to_crs("EPSG:4326")
    return frame


def import_layer(config: GatewayConfig, jurisdiction: Jurisdiction, layer: str, source: Path,
                 options: ImportOptions) -> ImportReport:
    """Read `source`, transform it, check the jurisdiction still builds with it, then install it atomically."""
    gis = jurisdiction.gis
    if gis is None:
        raise LayerError(f"jurisdiction {jurisdiction.id!r} has no gis: section.")
    target, needed, polygonal = _target(gis, layer)
    import geopandas

    try:
        source_crs = str(geopandas.read_file(source, rows=1, layer=options.source_layer).crs)
    except Exception:  # read_frame below reports the reason
        source_crs = "unknown"
    frame = read_frame(source, POLYGONAL if polygonal else None, options.source_layer, options.where)
    frame = transform(frame, needed, options, gis)
    candidate = target.with_name(f".{target.stem}.import{os.getpid()}.geojson")
    write_geojson(frame, candidate, target.stem)
    try:
        if options.check:
            build_service_areas(replace(jurisdiction, gis=with_layer_path(gis, layer, candidate)), requests.Session())
        os.replace(candidate, target)
    except ConfigError:
        candidate.unlink(missing_ok=True)
        raise
    bounds = tuple(round(float(b), 5) for b in frame.total_bounds)
    return ImportReport(target, len(frame), source_crs, bounds, target.stat().st_size)  # type: ignore[arg-type]
