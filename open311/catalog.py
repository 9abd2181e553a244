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

from .catalog_checks import Located, duplicates, semantic_problems
from .dates import parse_duration
from .validation import StrictBoolean, StrictString, error_paths
from .yamlfile import YamlDocument, load_yaml

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
    backoffice_code = StrictString(load_default=None, allow_none=True)
    expected_response = StrictString(load_default=None, allow_none=True)
    service_notice = StrictString(load_default=None, allow_none=True)
    attributes = fields.List(fields.Nested(AttributeSchema), load_default=list)


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
        type=data["type"], service_area=data["service_area"], backoffice_code=data["backoffice_code"],
        expected_response=parse_duration(data["expected_response"]) if data["expected_response"] else None,
        service_notice=data["service_notice"], attributes=attrs, source=source,
    )


def load_service(path: Path, departments: Collection[str],
                 area_rules: Collection[str] | None = None) -> tuple[Service | None, list[str]]:
    """Load and validate one service file; return the service (or None) and its problems."""
    loaded = _load_file(path, departments, area_rules)
    return loaded.service, loaded.problems


@dataclass(frozen=True)
class _Loaded:
    """One file after both passes: the service when valid, its problems, and its YAML for cross-file checks."""

    service: Service | None
    problems: list[str]
    doc: YamlDocument | None = None


def _load_file(path: Path, departments: Collection[str], area_rules: Collection[str] | None) -> _Loaded:
    """Structural pass (marshmallow) and semantic pass (on the raw YAML, so it runs even when the
    structure is wrong); problems sorted by line."""
    try:
        doc: YamlDocument = load_yaml(path)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        return _Loaded(None, [f"{path}: cannot read: {exc}"])
    if not isinstance(doc.data, Mapping):
        return _Loaded(None, [f"{path}:1: (document) Must be a mapping of service fields."], doc)
    found: list[tuple[tuple[str | int, ...], str]] = []
    data: dict[str, Any] | None = None
    try:
        data = ServiceSchema().load(doc.data)
    except ValidationError as exc:
        found.extend(error_paths(exc.messages))
    found.extend(semantic_problems(doc.data, path.stem, departments, area_rules))
    found.sort(key=lambda problem: doc.line_of(problem[0]) or 0)
    problems = [f"{doc.where(p)}: {m}" for p, m in found]
    service = _build_service(data, str(path)) if data is not None and not problems else None
    return _Loaded(service, problems, doc)


def fingerprint_of(services: Mapping[str, Service]) -> str:
    """A stable content hash of a set of services (changes whenever any definition does)."""
    canon = json.dumps([asdict(s) | {"source": ""} for s in services.values()], sort_keys=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


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
                 area_rules: Collection[str] | None = None) -> tuple[Catalog, list[str]]:
    """Load every service file of a directory; return the catalog and all problems found."""
    if not directory.is_dir():
        return Catalog(jurisdiction_id, {}, ""), [f"{directory}: service definitions directory not found."]
    files = definition_files(directory)
    problems: list[str] = [] if files else [f"{directory}: no service definitions (*.yaml) found."]
    loaded = [(path, _load_file(path, departments, area_rules)) for path in files]
    for _, item in loaded:
        problems.extend(item.problems)
    problems.extend(_cross_file_problems(loaded))
    services = {item.service.service_code: item.service for _, item in loaded if item.service is not None}
    ordered = dict(sorted(services.items(), key=lambda kv: ((kv[1].group or "").lower(), kv[1].service_name.lower())))
    return Catalog(jurisdiction_id, ordered, fingerprint_of(ordered)), problems
