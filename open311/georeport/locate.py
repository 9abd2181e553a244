"""Locate: services offered at a point, each service's published area, and County facilities nearby."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask.views import MethodView

from open311.core.numbers import number_in
from open311.errors import BadRequest, NotFound
from open311.georeport import openapi
from open311.georeport.app import current_services
from open311.georeport.blueprint import blp
from open311.georeport.documents import service_entry
from open311.georeport.feed_params import int_param
from open311.georeport.parsing import param, param_list
from open311.georeport.render import Many
from open311.georeport.respond import respond
from open311.gis.area_geojson import area_collection
from open311.gis.areas import ServiceAreas, swap_hint
from open311.gis.facilities import Facility, FacilityIndex
from open311.services import Services

GEOJSON_TYPE = "application/geo+json"
DEFAULT_RADIUS_M = 5000.0
MAX_RADIUS_M = 50_000.0
MAX_LIMIT = 1000
FACILITY_FIELDS = ("facility_id", "name", "category", "address", "city", "phone", "url", "hours")


def parse_point(areas: ServiceAreas | None, problems: list[str]) -> tuple[float, float] | None:
    """lat and long from the query string (both or neither), in WGS84 decimal degrees."""
    args = request.args
    lat = number_in(param(args, "lat"), "lat", -90, 90, problems)
    long = number_in(param(args, "long"), "long", -180, 180, problems)
    if (param(args, "lat") is None) != (param(args, "long") is None):
        problems.append("lat and long must be sent together.")
    elif problems and (hint := swap_hint(areas, param(args, "lat"), param(args, "long"))):
        problems.append(hint)
    return (lat, long) if lat is not None and long is not None else None


def services_here(gateway: Services, jurisdiction: Any, fmt: str, locale: str | None = None) -> Response | None:
    """GET services?lat=&long=: only the services offered at the point (None when no point was given)."""
    if param(request.args, "lat") is None and param(request.args, "long") is None:
        return None
    areas = gateway.areas(jurisdiction)
    problems: list[str] = []
    point = parse_point(areas, problems)
    if problems or point is None:
        raise BadRequest(*problems)
    services = list(jurisdiction.catalog.services.values())
    if areas is not None:
        location = areas.locate(*point)
        areas.require_inside(location)
        services = areas.services_at(location)
    localized = jurisdiction.catalog.services_in(locale)
    return respond(fmt, "services", Many("service", [service_entry(localized[s.service_code]) for s in services]))


def _areas_of(gateway: Services) -> tuple[Any, ServiceAreas]:
    """The requested jurisdiction and its GIS layers (404 when it has none)."""
    jurisdiction = gateway.jurisdiction(param(request.args, "jurisdiction_id"))
    areas = gateway.areas(jurisdiction)
    if areas is None:
        raise NotFound(f"No service areas are configured for jurisdiction {jurisdiction.id!r}.")
    return jurisdiction, areas


def geojson_response(body: bytes) -> Response:
    """A GeoJSON response (RFC 7946 media type)."""
    return Response(body, status=200, content_type=GEOJSON_TYPE)


@blp.route("/areas/<service_code>.<fmt>", parameters=[
    openapi.path_parameter("service_code", "A service_code of GET services."), openapi.GEOJSON_FMT])
class ServiceArea(MethodView):
    """Locate: the area where a service is offered."""

    @openapi.documented(openapi.AREA)
    def get(self, service_code: str, fmt: str) -> Response:
        """The service's area as a GeoJSON FeatureCollection (WGS84), one feature per place or facility."""
        if fmt != "geojson":
            raise NotFound(f"Unknown format {fmt[:20]!r}: service areas are published as .geojson.")
        gateway = current_services()
        jurisdiction, areas = _areas_of(gateway)
        service = jurisdiction.catalog.get(service_code)
        if service is None:
            raise NotFound(f"service_code {service_code[:64]!r} not found.")
        key = (jurisdiction.id, service.service_code)
        body = gateway.caches.area_geojson.get(key)
        if body is None:
            body = gateway.caches.area_geojson[key] = area_collection(areas, service)
        return geojson_response(body)


def _facility_query(index: FacilityIndex, areas: ServiceAreas) -> dict[str, Any]:
    """Parse and check facilities' parameters, reporting every bad one at once."""
    problems: list[str] = []
    point = parse_point(areas, problems)
    radius = number_in(param(request.args, "radius"), "radius", 0, MAX_RADIUS_M, problems)
    limit = int_param(request.args, "limit", 1, MAX_LIMIT, problems)
    if radius == 0:
        problems.append("radius must be more than 0 metres.")
    if radius is not None and point is None and not problems:
        problems.append("radius needs lat and long.")
    categories = param_list(request.args, "category")
    unknown = [c for c in categories if c not in index.categories]
    if unknown:
        problems.append(f"category {', '.join(repr(c[:40]) for c in unknown)} unknown; "
                        f"available: {', '.join(sorted(index.categories))}.")
    if problems:
        raise BadRequest(*problems)
    return {"point": point, "radius": radius or DEFAULT_RADIUS_M, "limit": limit or 100,
            "categories": categories}


def facility_entry(facility: Facility, distance_m: float | None) -> dict[str, Any]:
    """One facility in the document's field order."""
    entry: dict[str, Any] = {name: getattr(facility, name) for name in FACILITY_FIELDS}
    return entry | {"lat": facility.lat, "long": facility.long, "distance_m": distance_m}


def facilities_geojson(entries: list[dict[str, Any]]) -> bytes:
    """Facilities as GeoJSON Point features."""
    features = [{"type": "Feature", "properties": {k: v for k, v in e.items() if k not in ("lat", "long")},
                 "geometry": {"type": "Point", "coordinates": [e["long"], e["lat"]]}} for e in entries]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


@blp.route("/facilities.<fmt>", parameters=[openapi.LOCATE_FMT])
class Facilities(MethodView):
    """Locate: County parks and facilities."""

    @openapi.documented(openapi.FACILITIES)
    def get(self, fmt: str) -> Response:
        """County parks and facilities, nearest first, with distances in metres.

        Within `radius` metres (default 5000) of lat/long, optionally of some `category`; without
        lat/long, all facilities by name.
        """
        if fmt not in ("xml", "json", "geojson"):
            raise NotFound(f"Unknown format {fmt[:20]!r}: use .xml, .json or .geojson.")
        _, areas = _areas_of(current_services())
        index = areas.facilities
        if index is None:
            raise NotFound("No facilities are configured for this jurisdiction.")
        query = _facility_query(index, areas)
        if query["point"] is not None:
            lat, long = query["point"]
            found = index.nearest(lat, long, query["radius"], categories=query["categories"], limit=query["limit"])
            entries = [facility_entry(n.facility, n.distance_m) for n in found]
        else:
            entries = [facility_entry(f, None) for f in index.all(query["categories"], query["limit"])]
        if fmt == "geojson":
            return geojson_response(facilities_geojson(entries))
        return respond(fmt, "facilities", Many("facility", entries))
