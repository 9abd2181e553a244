"""The service catalog: service_definitions/<jurisdiction>/<CODE>.yaml loaded into frozen dataclasses."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .validation import StrictBoolean, StrictString, error_paths
from .yamlfile import YamlDocument, load_yaml

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
SERVICE_TYPES = ("realtime", "batch", "blackbox")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE_ERROR = "Must be 1-64 letters, digits, '_', '-' or '.'."
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


@dataclass(frozen=True)
class Value:
    """One option of a list attribute."""

    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """One question of a service definition, in the spec's own shape."""

    code: str
    datatype: str
    required: bool
    variable: bool
    order: int
    description: str
    datatype_description: str | None = None
    values: tuple[Value, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        """The allowed keys of a list attribute."""
        return frozenset(v.key for v in self.values)


@dataclass(frozen=True)
class Service:
    """One Open311 service (request type) of a jurisdiction."""

    service_code: str
    service_name: str
    description: str
    department: str
    group: str | None = None
    keywords: tuple[str, ...] = ()
    type: str = "realtime"
    service_area: str | None = None
    contract_cities: tuple[str, ...] | None = None   # overrides the rule's list (unincorporated_plus_contract)
    backoffice_code: str | None = None
    expected_response: timedelta | None = None
    service_notice: str | None = None
    attributes: tuple[Attribute, ...] = ()
    source: str = field(default="", compare=False)

    @property
    def metadata(self) -> bool:
        """True when the service has a definition with attributes to fetch."""
        return bool(self.attributes)


@dataclass(frozen=True)
class Catalog:
    """All services of one jurisdiction, in display order, with a content fingerprint."""

    jurisdiction_id: str
    services: Mapping[str, Service]
    fingerprint: str

    def get(self, service_code: str) -> Service | None:
        """Return the service with this code, or None."""
        return self.services.get(service_code)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration limited to weeks, days, hours and minutes (P2D, PT48H)."""
    m = _DURATION.match(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration like P2D or PT48H: {text!r}")
    weeks, days, hours, minutes = (int(g) if g else 0 for g in m.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


class ValueSchema(Schema):
    """A list option: key and name, both strings."""

    class Meta:
        unknown = RAISE

    key = StrictString(required=True, validate=validate.Length(min=1, max=100))
    name = StrictString(required=True, validate=validate.Length(min=1, max=200))


class AttributeSchema(Schema):
    """An attribute in the spec's shape."""

    class Meta:
        unknown = RAISE

    code = StrictString(required=True, validate=validate.Regexp(_CODE, error=_CODE_ERROR))
    datatype = StrictString(required=True, validate=validate.OneOf(DATATYPES))
    required = StrictBoolean(required=True)
    variable = StrictBoolean(load_default=True)
    order = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    description = StrictString(required=True, validate=validate.Length(min=1, max=1000))
    datatype_description = StrictString(load_default=None, allow_none=True)
    values = fields.List(fields.Nested(ValueSchema), load_default=list)


class ServiceSchema(Schema):
    """A service definition file."""

    class Meta:
        unknown = RAISE

    service_code = StrictString(required=True, validate=validate.Regexp(_CODE, error=_CODE_ERROR))
    service_name = StrictString(required=True, validate=validate.Length(min=1, max=200))
    description = StrictString(required=True, validate=validate.Length(min=1, max=4000))
    department = StrictString(required=True)
    group = StrictString(load_default=None, allow_none=True)
    keywords = fields.List(StrictString(), load_default=list)
    type = StrictString(load_default="realtime", validate=validate.OneOf(SERVICE_TYPES))
    service_area = StrictString(load_default=None, allow_none=True)
    contract_cities = fields.List(StrictString(validate=validate.Length(min=1)), load_default=None, allow_none=True)
    backoffice_code = StrictString(load_default=None, allow_none=True)
    expected_response = StrictString(load_default=None, allow_none=True)
    service_notice = StrictString(load_default=None, allow_none=True)
    attributes = fields.List(fields.Nested(AttributeSchema), load_default=list)


def _semantic_problems(data: Mapping[str, Any], stem: str, departments: Collection[str],
                       area_rules: Collection[str] | None,
                       city_rules: Collection[str] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field checks marshmallow cannot express; returns (path, message) pairs."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if data["service_code"] != stem:
        problems.append((("service_code",), f"Must equal the file name {stem!r}."))
    if data["department"] not in departments:
        problems.append((("department",), f"Unknown department {data['department']!r}; "
                         f"configured: {', '.join(sorted(departments)) or 'none'}."))
    area = data.get("service_area")
    if area is not None and area_rules is not None and area not in area_rules:
        problems.append((("service_area",), f"Unknown service-area rule {area!r}."))
    if data.get("contract_cities") is not None and area not in city_rules:
        problems.append((("contract_cities",), "Only for a service_area of kind unincorporated_plus_contract."))
    if data.get("expected_response"):
        try:
            parse_duration(data["expected_response"])
        except ValueError as exc:
            problems.append((("expected_response",), str(exc)))
    seen_codes: dict[str, int] = {}
    seen_orders: dict[int, int] = {}
    for i, attr in enumerate(data["attributes"]):
        path: tuple[str | int, ...] = ("attributes", i)
        if attr["code"] in seen_codes:
            first = seen_codes[attr["code"]]
            problems.append(((*path, "code"), f"Duplicate code {attr['code']!r} (also attribute {first})."))
        seen_codes.setdefault(attr["code"], i)
        if attr["order"] in seen_orders:
            first = seen_orders[attr["order"]]
            problems.append(((*path, "order"), f"Duplicate order {attr['order']} (also attribute {first})."))
        seen_orders.setdefault(attr["order"], i)
        if attr["required"] and not attr["variable"]:
            problems.append(((*path, "required"),
                             "An attribute with variable: false is informational and cannot be required."))
        is_list = attr["datatype"] in LIST_DATATYPES
        if is_list and not attr["values"]:
            problems.append(((*path, "values"), f"A {attr['datatype']} needs at least one value."))
        if not is_list and attr["values"]:
            problems.append(((*path, "values"), f"A {attr['datatype']} attribute takes no values."))
        keys = [v["key"] for v in attr["values"]]
        for dup in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(((*path, "values"), f"Duplicate value key {dup!r}."))
    return problems


def _build_service(data: Mapping[str, Any], source: str) -> Service:
    """Turn validated data into a frozen Service."""
    attrs = tuple(sorted((
        Attribute(
            code=a["code"], datatype=a["datatype"], required=a["required"], variable=a["variable"],
            order=a["order"], description=a["description"], datatype_description=a["datatype_description"],
            values=tuple(Value(v["key"], v["name"]) for v in a["values"]),
        ) for a in data["attributes"]), key=lambda a: a.order))
    return Service(
        service_code=data["service_code"], service_name=data["service_name"], description=data["description"],
        department=data["department"], group=data["group"], keywords=tuple(data["keywords"]),
        type=data["type"], service_area=data["service_area"],
        contract_cities=tuple(data["contract_cities"]) if data["contract_cities"] is not None else None,
        backoffice_code=data["backoffice_code"],
        expected_response=parse_duration(data["expected_response"]) if data["expected_response"] else None,
        service_notice=data["service_notice"], attributes=attrs, source=source,
    )


def load_service(path: Path, departments: Collection[str], area_rules: Collection[str] | None = None,
                 city_rules: Collection[str] = ()) -> tuple[Service | None, list[str]]:
    """Load and validate one service file; return the service (or None) and its problems."""
    try:
        doc: YamlDocument = load_yaml(path)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot read: {exc}"]
    if not isinstance(doc.data, Mapping):
        return None, [f"{path}:1: (document) Must be a mapping of service fields."]
    try:
        data = ServiceSchema().load(doc.data)
    except ValidationError as exc:
        return None, [f"{doc.where(p)}: {m}" for p, m in error_paths(exc.messages)]
    problems = [f"{doc.where(p)}: {m}" for p, m in _semantic_problems(data, path.stem, departments, area_rules,
                                                                         city_rules)]
    return (None if problems else _build_service(data, str(path))), problems


def fingerprint_of(services: Mapping[str, Service]) -> str:
    """A stable content hash of a set of services (changes whenever any definition does)."""
    canon = json.dumps([asdict(s) | {"source": ""} for s in services.values()], sort_keys=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def load_catalog(directory: Path, jurisdiction_id: str, departments: Collection[str],
                 area_rules: Collection[str] | None = None,
                 city_rules: Collection[str] = ()) -> tuple[Catalog, list[str]]:
    """Load every `*.yaml` in a directory; return the catalog and all problems found."""
    problems: list[str] = []
    services: dict[str, Service] = {}
    if not directory.is_dir():
        return Catalog(jurisdiction_id, {}, ""), [f"{directory}: service definitions directory not found."]
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        problems.append(f"{directory}: no service definitions (*.yaml) found.")
    for path in files:
        service, found = load_service(path, departments, area_rules, city_rules)
        problems.extend(found)
        if service is not None:
            services[service.service_code] = service
    ordered = dict(sorted(services.items(), key=lambda kv: ((kv[1].group or "").lower(), kv[1].service_name.lower())))
    return Catalog(jurisdiction_id, ordered, fingerprint_of(ordered)), problems
