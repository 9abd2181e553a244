"""The GIS parts of jurisdictions.yaml: layers (`gis:`), area rules (`service_areas:`) and `referrals:`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
class PlaceLayer:
    """The polygons that partition the jurisdiction into cities and unincorporated areas."""

    path: Path
    name: str
    type: str
    unincorporated: tuple[str, ...]
    city_segments: Mapping[str, str]


@dataclass(frozen=True)
class DistrictLayer:
    """Polygons of service districts (e.g. Waterworks), named by a property."""

    path: Path
    name: str


@dataclass(frozen=True)
class FacilityLayer:
    """County parks and facilities: points (or shapes), with property names for each field."""

    path: Path
    properties: Mapping[str, str]       # facility field -> property of the layer holding it
    category_values: Mapping[str, str] = field(default_factory=dict)   # the layer's category -> ours


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


class PlaceLayerSchema(Schema):
    """gis.places."""

    class Meta:
        unknown = RAISE

    path = StrictString(required=True)
    name = StrictString(load_default="name")
    type = StrictString(load_default="type")
    unincorporated = fields.List(StrictString(), required=True, validate=validate.Length(min=1))
    city_segments = KeyedMapping(keys=StrictString(), values=StrictString(), load_default=dict)


class DistrictLayerSchema(Schema):
    """One entry of gis.districts."""

    class Meta:
        unknown = RAISE

    path = StrictString(required=True)
    name = StrictString(load_default="name")


class FacilityLayerSchema(Schema):
    """gis.facilities."""

    class Meta:
        unknown = RAISE

    path = StrictString(required=True)
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
        places=PlaceLayer(path=root / places["path"], name=places["name"], type=places["type"],
                          unincorporated=tuple(places["unincorporated"]),
                          city_segments=dict(places["city_segments"])) if places else None,
        districts={n: DistrictLayer(path=root / d["path"], name=d["name"]) for n, d in raw["districts"].items()},
        facilities=FacilityLayer(path=root / facilities["path"],
                                 properties={"name": "name", **facilities["properties"]},
                                 category_values=dict(facilities["category_values"])) if facilities else None,
        geocoder=GeocoderSettings(kind=geocoder["kind"], options=dict(geocoder["options"]), base=root)
        if geocoder else None,
        unplaced_addresses=raw["unplaced_addresses"], where=where,
    )


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
