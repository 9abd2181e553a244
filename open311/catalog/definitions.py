"""The service catalog: service_definitions/<jurisdiction>/<CODE>.yaml loaded into frozen dataclasses."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from open311.catalog.checks import Located, duplicates, semantic_problems
from open311.core.dates import parse_duration
from open311.core.validation import StrictBoolean, StrictString, error_paths
from open311.core.yamlfile import YamlDocument, parse_yaml

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
SERVICE_TYPES = ("realtime", "batch", "blackbox")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE_ERROR = "Must be 1-64 letters, digits, '_', '-' or '.'."


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
class DuplicateRule:
    """Which earlier requests GET duplicates offers for a new report: within `radius` metres, made or closed
    within `window`."""

    radius: float
    window: timedelta


# GET duplicates' defaults per group (docs/catalog.md); a service's own `duplicates:` overrides them.
DEFAULT_DUPLICATES = DuplicateRule(50.0, timedelta(days=7))
GROUP_DUPLICATES: Mapping[str, DuplicateRule] = {
    "Roads & Sidewalks": DuplicateRule(50.0, timedelta(days=30)),
    "Traffic & Street Lights": DuplicateRule(30.0, timedelta(days=14)),
    "Graffiti & Illegal Dumping": DuplicateRule(50.0, timedelta(days=7)),
    "Trash & Recycling": DuplicateRule(25.0, timedelta(days=3)),
    "Trees & Vegetation": DuplicateRule(30.0, timedelta(days=14)),
    "Sewer & Water": DuplicateRule(100.0, timedelta(days=2)),
    "Storm Drains & Flood Control": DuplicateRule(100.0, timedelta(days=7)),
    "Park Facilities": DuplicateRule(200.0, timedelta(days=7)),
    "Trails": DuplicateRule(200.0, timedelta(days=7)),
    "Swimming Pools": DuplicateRule(25.0, timedelta(days=14)),
    "Sidewalk Vending": DuplicateRule(50.0, timedelta(days=1)),
    "Homelessness": DuplicateRule(100.0, timedelta(days=3)),
    "Health Nuisances": DuplicateRule(50.0, timedelta(days=14)),
    "Food Safety": DuplicateRule(25.0, timedelta(days=14)),
    "Housing & Lodging": DuplicateRule(25.0, timedelta(days=30)),
    "Property Maintenance": DuplicateRule(25.0, timedelta(days=30)),
    "Building & Construction": DuplicateRule(25.0, timedelta(days=30)),
    "Zoning Enforcement": DuplicateRule(25.0, timedelta(days=30)),
    "Business & Workforce": DuplicateRule(25.0, timedelta(days=30)),
}


# How long after closure a resident may reopen a request ("not fixed"): a service's own `reopen_days:`,
# else its group's, else DEFAULT_REOPEN_DAYS (docs/catalog.md).
DEFAULT_REOPEN_DAYS = 14
GROUP_REOPEN_DAYS: Mapping[str, int] = {
    "Roads & Sidewalks": 30,
    "Traffic & Street Lights": 14,
    "Sewer & Water": 7,
    "Trash & Recycling": 7,
    "Sidewalk Vending": 3,
}
MAX_REOPEN_DAYS = 365


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
    expected_text: str | None = field(default=None, compare=False)   # as written: P2D is 2 business days
    service_notice: str | None = None
    attributes: tuple[Attribute, ...] = ()
    source: str = field(default="", compare=False)
    duplicates: DuplicateRule | None = None           # the file's own `duplicates:`, else its group's default
    reopen: int | None = None                          # the file's own `reopen_days:`, else its group's default

    @property
    def reopen_days(self) -> int:
        """Days after closure within which a resident may reopen: the service's own, its group's, or 14."""
        if self.reopen is not None:
            return self.reopen
        return GROUP_REOPEN_DAYS.get(self.group or "", DEFAULT_REOPEN_DAYS)

    @property
    def duplicate_rule(self) -> DuplicateRule:
        """The radius and window GET duplicates uses: the service's own, its group's, or the default."""
        return self.duplicates or GROUP_DUPLICATES.get(self.group or "", DEFAULT_DUPLICATES)

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
    # locale -> every service with its residents' texts in that language (open311/catalog/translations.py)
    translations: Mapping[str, Mapping[str, Service]] = field(default_factory=dict)
    untranslated: tuple[str, ...] = ()   # texts served in English for want of a translation
    # locale -> the jurisdiction's own texts (its name, departments, area rules, referrals): English -> translated
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # locale -> key path of every text -> reviewed | machine | missing (open311/catalog/translations.py)
    statuses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def get(self, service_code: str) -> Service | None:
        """Return the service with this code, or None."""
        return self.services.get(service_code)

    @property
    def locales(self) -> tuple[str, ...]:
        """The languages the catalog is served in, its own (English) first."""
        return ("en", *sorted(self.translations))

    def services_in(self, locale: str | None) -> Mapping[str, Service]:
        """Every service in a language (English for None or a language it does not have), catalog order."""
        return self.translations.get(locale or "", self.services)

    def text(self, english: str, locale: str | None) -> str:
        """One of the jurisdiction's own texts in a language (the English where it has no translation)."""
        return self.texts.get(locale or "", {}).get(english, english)

    def status_of(self, locale: str | None, prefix: str) -> dict[str, str]:
        """The translation status of every text whose key path starts with `prefix` (empty for English)."""
        found = self.statuses.get(locale or "", {})
        return {k.removeprefix(prefix): v for k, v in found.items() if k.startswith(prefix)}


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


class DuplicatesSchema(Schema):
    """A service's own duplicate search: radius in metres (1-5000) and an ISO 8601 window (P7D)."""

    class Meta:
        unknown = RAISE

    radius = fields.Float(required=True, validate=validate.Range(min=1, max=5000))
    window = StrictString(required=True)

    @validates("window")
    def _window(self, value: str, **_: Any) -> None:
        """An ISO 8601 duration longer than zero and at most a year."""
        try:
            window = parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if not timedelta(0) < window <= timedelta(days=366):
            raise ValidationError("Must be longer than zero and at most P366D.")


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
    duplicates = fields.Nested(DuplicatesSchema, load_default=None)
    # no load_default: a file without it keeps the catalog fingerprint it had
    reopen_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_REOPEN_DAYS))


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
        expected_text=data["expected_response"] or None,
        service_notice=data["service_notice"], attributes=attrs, source=source,
        duplicates=DuplicateRule(float(data["duplicates"]["radius"]), parse_duration(data["duplicates"]["window"]))
        if data["duplicates"] else None,
        reopen=data.get("reopen_days"),
    )


@dataclass(frozen=True)
class _Loaded:
    """One file after both passes: the service when valid, its problems, its YAML for cross-file checks
    and its validated content as canonical JSON (for the catalog fingerprint)."""

    service: Service | None
    problems: tuple[str, ...]
    doc: YamlDocument | None = None
    canonical: str = ""


@functools.cache
def _schema() -> ServiceSchema:
    """One schema instance for every file (building nested schemas is most of marshmallow's cost)."""
    return ServiceSchema()


def _load_file(path: Path, departments: Collection[str], area_rules: Collection[str] | None,
               city_rules: Collection[str] = ()) -> _Loaded:
    """Read one file and check it; identical content is checked once per process."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _Loaded(None, (f"{path}: cannot read: {exc}",))
    rules = frozenset(area_rules) if area_rules is not None else None
    return _check_text(str(path), text, frozenset(departments), rules, frozenset(city_rules))


@functools.lru_cache(maxsize=2048)
def _check_text(source: str, text: str, departments: frozenset[str], area_rules: frozenset[str] | None,
                city_rules: frozenset[str] = frozenset()) -> _Loaded:
    """Structural pass (marshmallow) and semantic pass (on the raw YAML, so it runs even when the
    structure is wrong); problems sorted by line. Pure, so cached: tests build many apps."""
    path = Path(source)
    try:
        doc = parse_yaml(path, text)
    except yaml.YAMLError as exc:
        return _Loaded(None, (str(exc),))  # `path:line: invalid YAML: ...`
    if not isinstance(doc.data, Mapping):
        return _Loaded(None, (f"{path}:1: (document) Must be a mapping of service fields.",), doc)
    found: list[tuple[tuple[str | int, ...], str]] = []
    data: dict[str, Any] | None = None
    try:
        data = _schema().load(doc.data)
    except ValidationError as exc:
        found.extend(error_paths(exc.messages))
    found.extend(semantic_problems(doc.data, path.stem, departments, area_rules, city_rules))
    found.sort(key=lambda problem: doc.line_of(problem[0]) or 0)
    problems = tuple(f"{doc.where(p)}: {m}" for p, m in found)
    if data is None or problems:
        return _Loaded(None, problems, doc)
    return _Loaded(_build_service(data, source), (), doc, json.dumps(data, sort_keys=True, default=str))


def fingerprint_of(canonicals: Iterable[str]) -> str:
    """A stable content hash of a catalog's definitions (changes whenever any definition does)."""
    digest = hashlib.sha256()
    for canonical in canonicals:
        digest.update(canonical.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def definition_files(directory: Path) -> list[Path]:
    """The service files of a directory: *.yaml and *.yml in any letter case, hidden files skipped."""
    return sorted(p for p in directory.iterdir()
                  if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file())


def _cross_file_problems(loaded: list[tuple[Path, _Loaded]]) -> list[str]:
    """One catalog, many files: codes (also across letter case, which collide in URLs and on some
    file systems), names residents pick from, and group spellings must not clash."""
    codes: list[Located] = []
    names: list[Located] = []
    groups: list[Located] = []
    for path, item in loaded:
        data = item.doc.data if item.doc is not None and isinstance(item.doc.data, Mapping) else {}
        code = data.get("service_code")
        codes.append(Located(code if isinstance(code, str) else path.stem,
                             item.doc.where(("service_code",)) if item.doc else str(path)))
        for key, bucket in (("service_name", names), ("group", groups)):
            value = data.get(key)
            if isinstance(value, str) and value.strip() and item.doc is not None:
                bucket.append(Located(value, item.doc.where((key,))))
    return [*duplicates(codes, "service_code"), *duplicates(names, "service_name"),
            *duplicates(groups, "group", same_allowed=True)]


def load_catalog(directory: Path, jurisdiction_id: str, departments: Collection[str],
                 area_rules: Collection[str] | None = None,
                 city_rules: Collection[str] = ()) -> tuple[Catalog, list[str]]:
    """Load every service file of a directory; return the catalog and all problems found."""
    if not directory.is_dir():
        return Catalog(jurisdiction_id, {}, ""), [f"{directory}: service definitions directory not found."]
    files = definition_files(directory)
    problems: list[str] = [] if files else [f"{directory}: no service definitions (*.yaml) found."]
    loaded = [(path, _load_file(path, departments, area_rules, city_rules)) for path in files]
    for _, item in loaded:
        problems.extend(item.problems)
    problems.extend(_cross_file_problems(loaded))
    valid = sorted((item for _, item in loaded if item.service is not None),
                   key=lambda item: _display_order(item.service))
    services = {item.service.service_code: item.service for item in valid if item.service is not None}
    return Catalog(jurisdiction_id, services, fingerprint_of(item.canonical for item in valid)), problems


def _display_order(service: Service | None) -> tuple[str, str, str]:
    """Services are listed by group, then name (then code, so the order is total)."""
    assert service is not None
    return (service.group or "").lower(), service.service_name.lower(), service.service_code
