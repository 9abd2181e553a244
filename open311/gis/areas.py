"""Service areas of a jurisdiction, built once per process (Services.geo): where a point is, what is offered."""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import requests
import shapely
from shapely import STRtree

try:  # the ufunc itself: the public wrapper's argument handling costs more than the test
    from shapely.lib import intersects_xy
except ImportError:  # pragma: no cover - a shapely without the private module
    from shapely import intersects_xy

from open311.catalog.definitions import Service
from open311.config.gis import AreaRule, GisSettings
from open311.config.jurisdictions import GatewayConfig, Jurisdiction
from open311.core import i18n
from open311.errors import BadRequest, ConfigError
from open311.gis.facilities import FacilityIndex
from open311.gis.geocoders import Geocoder, build_geocoder
from open311.gis.layers import LayerError, Place, file_of, read_facilities, read_places, read_polygons
from open311.gis.routing import Routing, place_fields, where_text
from open311.gis.rules import PLACE_RULES, Location, cities_of, outside, place_rule_covers, refusal, swapped

GRID = 256          # cells per side of a PolygonIndex's grid (filled lazily; at most (GRID+1)^2 entries)
EPSILON = 1e-9      # degrees (~0.1 mm)
_NOTHING: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())


class PolygonIndex:
    """Named polygons answering which of them cover a point (its boundary included).

    Candidates come from a lazily filled grid over the polygons' extent: each cell, on first use, records
    the polygons that contain it entirely (a sure answer, no geometry test) and those that merely touch
    it (tested exactly with prepared geometries). A request then costs a dict lookup and, near a boundary,
    a test or two, instead of an STRtree query and a predicate on a whole polygon.
    GEOS builds a prepared geometry's internal index lazily and not thread-safely (libgeos issue 825), and
    shapely releases the GIL during predicates, so every geometry test runs under the index's lock.
    """

    def __init__(self, names: list[str], geoms: np.ndarray[Any, Any], info: list[Any] | None = None) -> None:
        self.names = names
        self.geoms = geoms
        self.info: list[Any] = info if info is not None else names
        shapely.prepare(geoms)
        self.tree = STRtree(geoms)
        minx, miny, maxx, maxy = (float(b) for b in shapely.total_bounds(geoms)) if len(geoms) else (0, 0, 0, 0)
        self._x0, self._y0 = minx, miny
        self._w, self._h = (maxx - minx) / GRID or 1.0, (maxy - miny) / GRID or 1.0
        self._cells: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        # most cells hold nothing or lie inside one polygon: those share one entry each (memory)
        self._inside_one = [((i,), ()) for i in range(len(geoms))]
        self._lock = threading.Lock()

    def _cell(self, cx: int, cy: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(polygons containing the whole cell, polygons touching it), computed once per cell."""
        # widened by a hair so float rounding in the cell arithmetic can never put a point outside its box
        box = shapely.box(self._x0 + cx * self._w - EPSILON, self._y0 + cy * self._h - EPSILON,
                          self._x0 + (cx + 1) * self._w + EPSILON, self._y0 + (cy + 1) * self._h + EPSILON)
        with self._lock:
            touching = self.tree.query(box, predicate="intersects")
            inside = shapely.contains_properly(self.geoms[touching], box) if len(touching) else np.array([], bool)
        sure, maybe = tuple(touching[inside].tolist()), tuple(touching[~inside].tolist())
        entry = (sure, maybe) if maybe or len(sure) > 1 else self._inside_one[sure[0]] if sure else _NOTHING
        self._cells[cy * (GRID + 1) + cx] = entry
        return entry

    def covering(self, x: float, y: float) -> list[int]:
        """Indices of the polygons covering the point (x = long, y = lat), in name order."""
        cx, cy = int((x - self._x0) // self._w), int((y - self._y0) // self._h)
        if not (0 <= cx <= GRID and 0 <= cy <= GRID):
            return []
        sure, maybe = self._cells.get(cy * (GRID + 1) + cx) or self._cell(cx, cy)
        if not maybe:
            return list(sure)
        with self._lock:
            found = [*sure, *(i for i in maybe if intersects_xy(self.geoms[i], x, y))]
        return sorted(found, key=self.names.__getitem__) if len(found) > 1 else found

    def covers(self, x: float, y: float) -> bool:
        """True when any polygon covers the point."""
        cx, cy = int((x - self._x0) // self._w), int((y - self._y0) // self._h)
        if not (0 <= cx <= GRID and 0 <= cy <= GRID):
            return False
        sure, maybe = self._cells.get(cy * (GRID + 1) + cx) or self._cell(cx, cy)
        if sure or not maybe:
            return bool(sure)
        with self._lock:
            return any(intersects_xy(self.geoms[i], x, y) for i in maybe)


@dataclass
class ServiceAreas:
    """The GIS view of one jurisdiction: places, outline, rule indexes, facilities and geocoder."""

    jurisdiction: Jurisdiction
    gis: GisSettings
    places: PolygonIndex | None
    boundary: PolygonIndex | None
    rule_indexes: Mapping[str, PolygonIndex]
    facilities: FacilityIndex | None
    geocoder: Geocoder | None
    layer_versions: Mapping[str, str] = field(default_factory=dict)

    def locate(self, lat: float, long: float) -> Location:
        """Which places cover the point and whether it is inside the jurisdiction at all."""
        found: tuple[Place, ...] = ()
        if self.places is not None:
            found = tuple(self.places.info[i] for i in self.places.covering(long, lat))
        inside = self.boundary.covers(long, lat) if self.boundary is not None else bool(found)
        return Location(lat, long, inside, found)

    def rule_of(self, service: Service) -> AreaRule | None:
        """The area rule a service names (None: offered wherever the jurisdiction is)."""
        return self.jurisdiction.service_areas.get(service.service_area or "")

    def offers(self, service: Service, location: Location, rule: AreaRule | None = None) -> bool:
        """True when the service is taken at the located point."""
        rule = rule or self.rule_of(service)
        if not location.in_county:
            return False
        if rule is None:
            return True
        if rule.kind in PLACE_RULES:
            return place_rule_covers(rule, cities_of(rule, service), location)
        return self.rule_indexes[rule.name].covers(location.long, location.lat)

    def swapped_inside(self, lat: float, long: float) -> bool:
        """True when exchanging lat and long gives a point inside the jurisdiction."""
        return -90 <= long <= 90 and -180 <= lat <= 180 and self.locate(long, lat).in_county

    def require_inside(self, location: Location, what: str | None = None) -> None:
        """Raise a 400 for a point outside the jurisdiction, hinting at swapped coordinates."""
        if not location.in_county:
            name = self.local(self.jurisdiction.name)
            texts = [outside(name, location.lat, location.long, what)]
            if self.swapped_inside(location.lat, location.long):
                texts.append(swapped(name))
            raise BadRequest(*texts)

    def check(self, service: Service, location: Location, what: str | None = None) -> Routing:
        """The routing of a service taken at the point; a 400 naming the place, the rule and who serves the
        place instead when it is not taken there."""
        self.require_inside(location, what)
        routing = self.decide(service, location)
        rule = self.rule_of(service)
        if rule is not None and not routing.served:
            locale = i18n.current()
            shown = self.jurisdiction.catalog.services_in(locale).get(service.service_code, service)
            raise BadRequest(refusal(self.jurisdiction.name, shown, rule, self.jurisdiction.referrals, location,
                                     self.local))
        return routing

    def local(self, english: str) -> str:
        """One of the jurisdiction's own texts (its name, a rule's description, a referral's agency or note) in
        the language of the current message."""
        return self.jurisdiction.catalog.text(english, i18n.current())

    def decide(self, service: Service, location: Location) -> Routing:
        """Whether the service is taken at the point, why, and by which layers' versions (never raises)."""
        rule = self.rule_of(service)
        served = self.offers(service, location, rule)
        district, reason = None, ""
        if not location.in_county:
            deciding = "boundary" if self.boundary is not None else "places"
            reason = f"Outside {self.jurisdiction.name}."
        elif rule is not None and rule.kind in ("district", "near_facility"):
            deciding = f"district:{rule.layer}" if rule.kind == "district" else "facilities"
            index = self.rule_indexes[rule.name]
            found = index.covering(location.long, location.lat)
            district = (index.names[found[0]] if rule.kind == "district" else index.info[found[0]].name) \
                if found else None
            if rule.kind == "district":
                reason = (f"Inside {district}, a district of rule {rule.name}." if district else
                          f"In no district that rule {rule.name} lists ({rule.description}).")
            else:
                reason = (f"Within {rule.distance_m:g} m of {district}, as rule {rule.name} asks." if district else
                          f"Farther than {rule.distance_m:g} m from every facility of rule {rule.name}.")
        else:
            deciding = "places" if self.places is not None else "boundary"
            where = where_text(location)
            if rule is None:
                reason = f"{where[0].upper()}{where[1:]}; the service is offered anywhere in {self.jurisdiction.name}."
            else:
                verdict = "inside" if served else "outside"
                reason = f"{where[0].upper()}{where[1:]} is {verdict} the area of rule {rule.name}: {rule.description}."
        used = {k: v for k, v in self.layer_versions.items()
                if k in ("boundary", "places") or k == deciding}
        return Routing(served=served, **place_fields(location), district=district,
                       rule=rule.name if rule else None, reason=reason,
                       layer_version=self.layer_versions.get(deciding), layers=used)

    def summary(self) -> str:
        """What was loaded, for check-config and logs."""
        parts = [f"{len(self.places.names)} places" if self.places else "no places layer",
                 "a boundary" if self.boundary else "no boundary",
                 f"{len(self.gis.districts)} district layer(s)",
                 f"{len(self.facilities.facilities)} facilities" if self.facilities else "no facilities",
                 f"geocoder {self.gis.geocoder.kind}" if self.gis.geocoder else "no geocoder"]
        return ", ".join(parts)

    def services_at(self, location: Location) -> list[Service]:
        """The services offered at the point, in catalog order."""
        return [s for s in self.jurisdiction.catalog.services.values() if self.offers(s, location)]


def swap_hint(areas: ServiceAreas | None, raw_lat: str | None, raw_long: str | None) -> str | None:
    """A hint for coordinates that are unusable as sent but inside the jurisdiction when exchanged."""
    if areas is None:
        return None
    try:
        lat, long = float(raw_lat or ""), float(raw_long or "")
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(long)) or not areas.swapped_inside(lat, long):
        return None
    if -90 <= lat <= 90 and areas.locate(lat, long).in_county:
        return None
    return swapped(areas.jurisdiction.name)


def _rule_index(rule: AreaRule, gis: GisSettings, facilities: FacilityIndex | None,
                problems: list[str]) -> PolygonIndex | None:
    """The polygons of a facility or district rule, in WGS84."""
    if rule.kind == "near_facility":
        assert facilities is not None
        unknown = sorted(set(rule.categories) - facilities.categories)
        if unknown:
            problems.append(f"{rule.where}.categories: unknown facility categories {unknown}; the layer has "
                            f"{sorted(facilities.categories)}.")
        chosen, rings = facilities.buffers(rule.distance_m, rule.categories)
        return PolygonIndex([f.name for f in chosen], rings, list(chosen))
    assert rule.layer is not None
    layer = gis.districts[rule.layer]
    names, geoms = read_polygons(file_of(layer), layer.name)
    unknown = sorted(set(rule.districts) - set(names))
    if unknown:
        problems.append(f"{rule.where}.districts: not in {file_of(layer).name}: {', '.join(unknown)}.")
    keep = [i for i, n in enumerate(names) if not rule.districts or n in rule.districts]
    return PolygonIndex([names[i] for i in keep], geoms[keep])


def _city_problems(jurisdiction: Jurisdiction, places: list[Place], path: str) -> list[str]:
    """City names in rules and service definitions that the places layer does not have."""
    known = {p.city for p in places if p.city}
    problems = []
    for rule in jurisdiction.service_areas.values():
        key = "contract_cities" if rule.kind == "unincorporated_plus_contract" else "except_cities"
        for city in rule.cities:
            if city not in known:
                problems.append(f"{rule.where}.{key}: unknown city {city!r} (not in {path}).")
    for service in jurisdiction.catalog.services.values():
        for city in service.contract_cities or ():
            if city not in known:
                problems.append(f"{service.source}: contract_cities: unknown city {city!r} (not in {path}).")
    return problems


def build_service_areas(jurisdiction: Jurisdiction, http: requests.Session,
                        layer_versions: Mapping[str, str] | None = None) -> ServiceAreas:
    """Read the jurisdiction's layers and index them; raise ConfigError listing every problem."""
    gis = jurisdiction.gis
    assert gis is not None
    problems: list[str] = []
    try:
        places = boundary = None
        if gis.places is not None:
            infos, geoms = read_places(gis.places)
            problems.extend(_city_problems(jurisdiction, infos, file_of(gis.places).name))
            places = PolygonIndex([p.name for p in infos], geoms, list(infos))
        if gis.boundary is not None:
            boundary = PolygonIndex(*read_polygons(gis.boundary, None))
        facilities = FacilityIndex(*read_facilities(gis.facilities), gis.projected_crs) if gis.facilities else None
        indexes = {name: index for name, rule in jurisdiction.service_areas.items()
                   if rule.kind not in PLACE_RULES and (index := _rule_index(rule, gis, facilities, problems))}
        geocoder = None
        if gis.geocoder is not None:
            geocoder = build_geocoder(gis.geocoder.kind, gis.geocoder.options, http, gis.geocoder.base)
    except (LayerError, OSError, ValueError) as exc:
        raise ConfigError([*problems, f"{gis.where}: {exc}"]) from None
    if problems:
        raise ConfigError(problems)
    versions = {**file_versions(gis), **(layer_versions or {})}
    return ServiceAreas(jurisdiction, gis, places, boundary, indexes, facilities, geocoder, versions)


def file_versions(gis: GisSettings) -> dict[str, str]:
    """"file:" + the first 12 hex digits of the SHA-256 of each layer file (boundary, places, facilities,
    district:NAME): the version label of a layer read from a file."""
    paths = {"boundary": gis.boundary, **{key: layer.path for key, layer in gis.layers().items()}}
    found = {}
    for key, path in paths.items():
        if path is not None and path.is_file():
            found[key] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return found


def build_geo(config: GatewayConfig, http: requests.Session) -> dict[str, ServiceAreas]:
    """Service areas of every jurisdiction that configures GIS layers."""
    built: dict[str, ServiceAreas] = {}
    problems: list[str] = []
    for jurisdiction in config.jurisdictions.values():
        if jurisdiction.gis is None or jurisdiction.sandbox_of is not None:   # a sandbox routes by its production's
            continue
        try:
            built[jurisdiction.id] = build_service_areas(jurisdiction, http)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return built
