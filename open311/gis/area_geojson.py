"""Publishing a service's area as GeoJSON: the places, districts or facility buffers where it is offered."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely

from open311.catalog.definitions import Service
from open311.gis.areas import PolygonIndex, ServiceAreas
from open311.gis.facilities import Facility
from open311.gis.layers import Place
from open311.gis.rules import cities_of

DECIMALS = 6   # about 0.1 m: finer digits only make the document larger


def _geometry_json(geometry: Any) -> str:
    """A geometry as GeoJSON text with coordinates rounded to DECIMALS."""
    rounded = shapely.transform(geometry, lambda xy: np.round(xy, DECIMALS))
    text: str = shapely.to_geojson(rounded)
    return text


def _features(index: PolygonIndex, keep: Iterable[int], describe: Any) -> list[str]:
    """Features (as JSON text) for the kept polygons of an index, with properties from `describe(info)`."""
    return [f'{{"type":"Feature","properties":{json.dumps(describe(index.info[i]), ensure_ascii=False)},'
            f'"geometry":{_geometry_json(index.geoms[i])}}}' for i in keep]


def _place(place: Place) -> dict[str, Any]:
    """Properties of a place feature."""
    return {"name": place.name, "city": place.city, "unincorporated": place.unincorporated}


def _facility(facility: Facility) -> dict[str, Any]:
    """Properties of a facility buffer."""
    return {"name": facility.name, "facility_id": facility.facility_id, "category": facility.category}


def area_features(areas: ServiceAreas, service: Service) -> list[str]:
    """The features making up the service's area."""
    rule = areas.rule_of(service)
    places, boundary = areas.places, areas.boundary
    if rule is not None and rule.kind in ("near_facility", "district"):
        index = areas.rule_indexes[rule.name]
        describe = _facility if rule.kind == "near_facility" else (lambda name: {"name": name})
        return _features(index, range(len(index.names)), describe)
    if rule is None or rule.kind == "countywide" or places is None:
        if boundary is not None:
            return _features(boundary, range(len(boundary.names)), lambda name: {"name": name})
        assert places is not None
        return _features(places, range(len(places.names)), _place)
    cities = cities_of(rule, service)
    infos: list[Place] = places.info
    if rule.kind == "unincorporated":
        keep = [i for i, p in enumerate(infos) if p.unincorporated]
    elif rule.kind == "unincorporated_plus_contract":
        keep = [i for i, p in enumerate(infos) if p.unincorporated or p.city in cities]
    else:  # countywide_except
        keep = [i for i, p in enumerate(infos) if p.city not in cities]
    return _features(places, keep, _place)


def area_collection(areas: ServiceAreas, service: Service) -> bytes:
    """GET areas/{service_code}.geojson: a FeatureCollection with the rule named in foreign members."""
    rule = areas.rule_of(service)
    head = {"type": "FeatureCollection", "service_code": service.service_code,
            "service_area": rule.name if rule else None,
            "description": rule.description if rule else f"Anywhere in {areas.jurisdiction.name}"}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    return (text + ',"features":[' + ",".join(area_features(areas, service)) + "]}").encode("utf-8")
