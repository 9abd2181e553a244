"""The GIS parts of jurisdictions.yaml: layers (`gis:`), area rules (`service_areas:`) and `referrals:`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from open311.core.validation import KeyedMapping, StrictString

RULE_KINDS = ("unincorporated", "unincorporated_plus_contract", "countywide", "countywide_except",
              "near_facility", "district")
# The keys each rule kind takes besides kind, description, referral and referrals.
KIND_KEYS = {
    "unincorporated": set(),
    "unincorporated_plus_contract": {"contract_cities"},
    "countywide": set(),
    "countywide_except": {"except_cities"},
    "near_facility": {"distance_m", "categories"},
    "district": {"layer", "districts"},
}
UNPLACED_POLICIES = ("accept", "reject")
FACILITY_FIELDS = ("id", "name", "category", "address", "city", "phone", "url", "hours")


@dataclass(frozen=True)
class Referral:
    """Who serves a place the rule does not, and how to reach them."""

    agency: str
    phone: str | None = None
    url: str | None = None
    note: str | None = None

    def text(self) -> str:
        """One sentence naming the agency and its contacts."""
        contacts = ", ".join(c for c in (self.phone and f"phone {self.phone}", self.url) if c)
        sentence = f"{self.agency}: {contacts}." if contacts else f"{self.agency}."
        return f"{sentence} {self.note}" if self.note else sentence


@dataclass(frozen=True)
class AreaRule:
    """A named service-area rule that service definitions reference as `service_area`."""

    name: str
    kind: str
    description: str
    cities: tuple[str, ...] = ()          # contract cities (default list) or excepted cities
    distance_m: float = 0.0
    categories: tuple[str, ...] = ()
    layer: str | None = None
    districts: tuple[str, ...] = ()
    referral: Referral | None = None      # for places outside the area that no city referral covers
    referrals: Mapping[str, Referral] = field(default_factory=dict)   # by city, before the jurisdiction's
    where: str = field(default="", compare=False)   # file:line of the rule, for later problems


@dataclass(frozen=True)
class AutoApprove:
    """When a synced version may go live without a person approving it (every given bound must hold)."""

    max_changed_km2: float | None = None      # total area that changes hands (symmetric difference)
    max_changed_features: int | None = None   # features added, removed or changed


@dataclass(frozen=True)
class LayerSync:
    """A layer read from an ArcGIS REST FeatureServer or MapServer layer instead of a file (docs/gis.md)."""

    url: str                                  # .../FeatureServer/0 or .../MapServer/19
    where: str = "1=1"                        # the query's where clause
    auto_approve: AutoApprove | None = None   # None: every new version waits for `open311 areas approve`
    max_age: float | None = None              # seconds since the last good sync before /readyz fails


@dataclass(frozen=True)
class PlaceLayer:
    """The polygons that partition the jurisdiction into cities and unincorporated areas."""

    path: Path | None                   # None for a synced layer until its live version is read from the database
    name: str
    type: str
    unincorporated: tuple[str, ...]
    city_segments: Mapping[str, str]
    sync: LayerSync | None = None


@dataclass(frozen=True)
class DistrictLayer:
    """Polygons of service districts (e.g. Waterworks), named by a property."""

    path: Path | None
    name: str
    sync: LayerSync | None = None


@dataclass(frozen=True)
class FacilityLayer:
    """County parks and facilities: points (or shapes), with property names for each field."""

    path: Path | None
    properties: Mapping[str, str]       # facility field -> property of the layer holding it
    category_values: Mapping[str, str] = field(default_factory=dict)   # the layer's category -> ours
    sync: LayerSync | None = None


@dataclass(frozen=True)
class GeocoderSettings:
    """Which geocoder places address-only requests, and its options."""

    kind: str
    options: Mapping[str, Any]
    base: Path          # relative paths in options are resolved against this folder


@dataclass(frozen=True)
class GisSettings:
    """Layers and geocoding of one jurisdiction; paths are absolute."""

    boundary: Path | None
    projected_crs: str
    places: PlaceLayer | None
    districts: Mapping[str, DistrictLayer]
    facilities: FacilityLayer | None
    geocoder: GeocoderSettings | None
    unplaced_addresses: str
    where: str = field(default="", compare=False)

    def layers(self) -> dict[str, PlaceLayer | DistrictLayer | FacilityLayer]:
        """The configured layers with a `path:` or `arcgis:` by key: places, facilities, district:NAME."""
        found: dict[str, PlaceLayer | DistrictLayer | FacilityLayer] = {}
        if self.places is not None:
            found["places"] = self.places
        found.update({f"district:{name}": layer for name, layer in self.districts.items()})
        if self.facilities is not None:
            found["facilities"] = self.facilities
        return found

    def synced(self) -> dict[str, LayerSync]:
        """The layers read from ArcGIS REST, by key."""
        return {key: layer.sync for key, layer in self.layers().items() if layer.sync is not None}


class ReferralSchema(Schema):
    """agency, phone, url, note."""

    class Meta:
        unknown = RAISE

    agency = StrictString(required=True, validate=validate.Length(min=1, max=200))
    phone = StrictString(load_default=None, validate=validate.Length(min=1, max=50))
    url = StrictString(load_default=None, validate=validate.URL(schemes={"http", "https"}))
    note = StrictString(load_default=None, validate=validate.Length(min=1, max=500))


class AreaRuleSchema(Schema):
    """One named rule; which keys are allowed depends on `kind`."""

    class Meta:
        unknown = RAISE

    kind = StrictString(required=True, validate=validate.OneOf(RULE_KINDS))
    description = StrictString(required=True, validate=validate.Length(min=1, max=500))
    contract_cities = fields.List(StrictString(validate=validate.Length(min=1)))
    except_cities = fields.List(StrictString(validate=validate.Length(min=1)), validate=validate.Length(min=1))
    distance_m = fields.Float(validate=validate.Range(min=0, max=50_000, min_inclusive=False))
    categories = fields.List(StrictString(validate=validate.Length(min=1)))
    layer = StrictString(validate=validate.Length(min=1))
    districts = fields.List(StrictString(validate=validate.Length(min=1)))
    referral = fields.Nested(ReferralSchema, load_default=None)
    referrals = KeyedMapping(keys=StrictString(), values=fields.Nested(ReferralSchema), load_default=dict)

    @validates_schema
    def check_kind_keys(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        """Refuse keys that belong to another kind; demand the ones this kind needs."""
        kind = data.get("kind")
        if kind not in KIND_KEYS:
            return
        specific = set().union(*KIND_KEYS.values())
        errors = {k: [f"Not used by kind {kind}."] for k in sorted(specific & set(data) - KIND_KEYS[kind])}
        needed = {"countywide_except": "except_cities", "near_facility": "distance_m", "district": "layer"}
        if kind in needed and needed[kind] not in data:
            errors[needed[kind]] = [f"Required by kind {kind}."]
        if errors:
            raise ValidationError(errors)


DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in '90s', '15m', '12h' or '1d'; ValueError otherwise."""
    found = DURATION.match(text)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 12h or 1d.")
    return float(found.group(1)) * DURATION_UNITS[found.group(2)]


class Duration(fields.Field):  # type: ignore[type-arg]
    """A positive duration written 90s, 15m, 12h or 1d; loads as seconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if not isinstance(value, str):
            raise ValidationError("Not a duration such as 90s, 15m, 12h or 1d.")
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class AutoApproveSchema(Schema):
    """A layer's auto_approve: the largest change that may go live without a person."""

    class Meta:
        unknown = RAISE

    max_changed_km2 = fields.Float(load_default=None, validate=validate.Range(min=0))
    max_changed_features = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0))

    @validates_schema
    def check_some_bound(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        """An empty auto_approve would let any change through: refuse it."""
        if data.get("max_changed_km2") is None and data.get("max_changed_features") is None:
            raise ValidationError("Give max_changed_km2, max_changed_features or both.")


class LayerSourceSchema(Schema):
    """What every layer takes: a file (`path`) or an ArcGIS REST layer (`arcgis` and its sync options)."""

    class Meta:
        unknown = RAISE

    path = StrictString(load_default=None, validate=validate.Length(min=1))
    arcgis = StrictString(load_default=None, validate=validate.URL(schemes={"http", "https"}, require_tld=False))
    where = StrictString(load_default="1=1", validate=validate.Length(min=1, max=2000))
    auto_approve = fields.Nested(AutoApproveSchema, load_default=None)
    max_age = Duration(load_default=None)

    @validates_schema
    def check_source(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        """Exactly one of path and arcgis; the sync options only with arcgis."""
        if (data.get("path") is None) == (data.get("arcgis") is None):
            raise ValidationError("Give either path (a file) or arcgis (an ArcGIS REST layer URL), not both.",
                                  "path")
        if data.get("arcgis") is None:
            extra = [k for k in ("auto_approve", "max_age") if data.get(k) is not None]
            if data.get("where", "1=1") != "1=1":
                extra.append("where")
            if extra:
                raise ValidationError({k: ["Only used with arcgis."] for k in extra})


class PlaceLayerSchema(LayerSourceSchema):
    """gis.places."""

    class Meta:
        unknown = RAISE

    name = StrictString(load_default="name")
    type = StrictString(load_default="type")
    unincorporated = fields.List(StrictString(), required=True, validate=validate.Length(min=1))
    city_segments = KeyedMapping(keys=StrictString(), values=StrictString(), load_default=dict)


class DistrictLayerSchema(LayerSourceSchema):
    """One entry of gis.districts."""

    class Meta:
        unknown = RAISE

    name = StrictString(load_default="name")


class FacilityLayerSchema(LayerSourceSchema):
    """gis.facilities."""

    class Meta:
        unknown = RAISE

    properties = KeyedMapping(keys=StrictString(validate=validate.OneOf(FACILITY_FIELDS)), values=StrictString(),
                              load_default=dict)
    category_values = KeyedMapping(keys=StrictString(), values=StrictString(), load_default=dict)


class GeocoderSchema(Schema):
    """gis.geocoder: kind plus the kind's own options (checked when the geocoder is built)."""

    class Meta:
        unknown = RAISE

    kind = StrictString(required=True)
    options = KeyedMapping(keys=StrictString(), load_default=dict)


class GisSchema(Schema):
    """A jurisdiction's gis: section."""

    class Meta:
        unknown = RAISE

    projected_crs = StrictString(load_default="EPSG:3310")
    places = fields.Nested(PlaceLayerSchema, load_default=None)
    districts = KeyedMapping(keys=StrictString(), values=fields.Nested(DistrictLayerSchema), load_default=dict)
    facilities = fields.Nested(FacilityLayerSchema, load_default=None)
    geocoder = fields.Nested(GeocoderSchema, load_default=None)
    unplaced_addresses = StrictString(load_default="accept", validate=validate.OneOf(UNPLACED_POLICIES))


def build_referral(raw: Mapping[str, Any] | None) -> Referral | None:
    """A Referral from validated data."""
    if raw is None:
        return None
    return Referral(agency=raw["agency"], phone=raw["phone"], url=raw["url"], note=raw["note"])


def build_referrals(raw: Mapping[str, Any]) -> dict[str, Referral]:
    """City -> Referral from validated data."""
    return {city: r for city, data in raw.items() if (r := build_referral(data)) is not None}


def build_rule(name: str, raw: Mapping[str, Any], where: str) -> AreaRule:
    """An AreaRule from validated data."""
    cities = raw.get("contract_cities") or raw.get("except_cities") or ()
    return AreaRule(name=name, kind=raw["kind"], description=raw["description"], cities=tuple(cities),
                    distance_m=raw.get("distance_m", 0.0), categories=tuple(raw.get("categories", ())),
                    layer=raw.get("layer"), districts=tuple(raw.get("districts", ())),
                    referral=build_referral(raw["referral"]), referrals=build_referrals(raw["referrals"]),
                    where=where)


def build_gis(root: Path, boundary: str | None, raw: Mapping[str, Any] | None, where: str) -> GisSettings | None:
    """GisSettings from validated data, paths resolved against the configuration's folder."""
    if raw is None and boundary is None:
        return None
    raw = raw or GisSchema().load({})
    places = raw["places"]
    facilities = raw["facilities"]
    geocoder = raw["geocoder"]
    return GisSettings(
        boundary=root / boundary if boundary else None,
        projected_crs=raw["projected_crs"],
        places=PlaceLayer(path=_path(root, places), name=places["name"], type=places["type"],
                          unincorporated=tuple(places["unincorporated"]),
                          city_segments=dict(places["city_segments"]), sync=_sync(places)) if places else None,
        districts={n: DistrictLayer(path=_path(root, d), name=d["name"], sync=_sync(d))
                   for n, d in raw["districts"].items()},
        facilities=FacilityLayer(path=_path(root, facilities),
                                 properties={"name": "name", **facilities["properties"]},
                                 category_values=dict(facilities["category_values"]),
                                 sync=_sync(facilities)) if facilities else None,
        geocoder=GeocoderSettings(kind=geocoder["kind"], options=dict(geocoder["options"]), base=root)
        if geocoder else None,
        unplaced_addresses=raw["unplaced_addresses"], where=where,
    )


def with_layer_path(gis: GisSettings, layer: str, path: Path) -> GisSettings:
    """The same settings with one layer (boundary, places, facilities, district:NAME) read from `path`."""
    if layer == "boundary":
        return replace(gis, boundary=path)
    if layer == "places" and gis.places is not None:
        return replace(gis, places=replace(gis.places, path=path))
    if layer == "facilities" and gis.facilities is not None:
        return replace(gis, facilities=replace(gis.facilities, path=path))
    name = layer.removeprefix("district:")
    if layer.startswith("district:") and name in gis.districts:
        return replace(gis, districts={**gis.districts, name: replace(gis.districts[name], path=path)})
    raise KeyError(layer)


def _path(root: Path, raw: Mapping[str, Any]) -> Path | None:
    """A layer's file, resolved against the configuration's folder (None for an ArcGIS layer)."""
    return root / raw["path"] if raw.get("path") else None


def _sync(raw: Mapping[str, Any]) -> LayerSync | None:
    """A layer's ArcGIS source and sync options, when it names one."""
    if not raw.get("arcgis"):
        return None
    bounds = raw.get("auto_approve")
    auto = AutoApprove(bounds["max_changed_km2"], bounds["max_changed_features"]) if bounds else None
    return LayerSync(url=raw["arcgis"], where=raw["where"], auto_approve=auto, max_age=raw["max_age"])


def rule_problems(rules: Mapping[str, AreaRule], gis: GisSettings | None) -> list[tuple[tuple[str, ...], str]]:
    """Rules that need a layer the jurisdiction does not configure; returns (key path, message) pairs."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for name, rule in rules.items():
        if gis is None:
            problems.append(((name,), "Service-area rules need a gis: section (or a boundary) in the jurisdiction."))
        elif rule.kind in ("unincorporated", "unincorporated_plus_contract", "countywide_except") and not gis.places:
            problems.append(((name, "kind"), f"Kind {rule.kind} needs gis.places (cities and unincorporated areas)."))
        elif rule.kind == "near_facility" and not gis.facilities:
            problems.append(((name, "kind"), "Kind near_facility needs gis.facilities."))
        elif rule.kind == "district" and rule.layer not in gis.districts:
            known = ", ".join(sorted(gis.districts)) or "none"
            problems.append(((name, "layer"), f"Unknown district layer {rule.layer!r}; gis.districts has: {known}."))
        elif rule.kind == "countywide" and not (gis.places or gis.boundary):
            problems.append(((name, "kind"), "Kind countywide needs a boundary or gis.places."))
    return problems
