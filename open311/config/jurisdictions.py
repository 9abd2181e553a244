"""jurisdictions.yaml and service_definitions/ loaded into frozen dataclasses; every problem reported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import marshmallow
import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from open311.adapter import load_adapter_class, validate_options
from open311.catalog.definitions import Catalog, fingerprint_of, load_catalog
from open311.catalog.translations import iter_gaps, load_translations
from open311.config.calendar import CalendarSchema, build_calendar, paused_statuses, plain_status_map
from open311.config.gis import (
    AreaRule,
    AreaRuleSchema,
    GisSchema,
    GisSettings,
    Referral,
    ReferralSchema,
    build_gis,
    build_referrals,
    build_rule,
    rule_problems,
)
from open311.core.business_time import Calendar
from open311.core.closure import CLOSURE_CODES
from open311.core.validation import KeyedMapping, StrictBoolean, StrictString, error_paths
from open311.core.yamlfile import YamlDocument, expand_env, load_yaml
from open311.errors import ConfigError

DEFAULT_CONFIG = "jurisdictions.yaml"
CONTACT_POLICIES = ("full", "none")


@dataclass(frozen=True)
class Department:
    """A department of a jurisdiction and how its back office is reached."""

    code: str
    name: str
    adapter: str
    options: Mapping[str, Any]
    status_map: Mapping[str, str]
    contact_policy: str = "full"
    # back-office status -> closure code, for status_map entries written {status: closed, closure_code: ...}
    closure_codes: Mapping[str, str] = field(default_factory=dict)
    # Back-office statuses that pause the SLA clock (`{status: open, paused: true}` in status_map).
    paused: frozenset[str] = frozenset()

    def is_paused(self, external: str | None) -> bool:
        """True when a back-office status pauses the SLA clock (compared case-insensitively)."""
        return bool(external) and (external or "").casefold() in self.paused


@dataclass(frozen=True)
class Jurisdiction:
    """One jurisdiction served by the gateway, with its departments and catalog."""

    id: str
    name: str
    timezone: ZoneInfo
    departments: Mapping[str, Department]
    catalog: Catalog
    api_key_required: bool = True
    boundary: Path | None = None
    service_areas: Mapping[str, AreaRule] = field(default_factory=dict)
    referrals: Mapping[str, Referral] = field(default_factory=dict)
    gis: GisSettings | None = None
    calendar: Calendar | None = None   # the business calendar of the SLA clock (None: calendar time in UTC)
    # A sandbox's production jurisdiction (docs/api.md#sandbox): the same catalog and areas, simulated departments,
    # its data in no production feed, export or statistic.
    sandbox_of: str | None = None


@dataclass(frozen=True)
class GatewayConfig:
    """Everything loaded from the configuration files."""

    path: Path
    jurisdictions: Mapping[str, Jurisdiction]
    contact: str
    key_service: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def single(self) -> Jurisdiction | None:
        """The only production jurisdiction when exactly one is configured (sandboxes do not count: a request
        without jurisdiction_id is the production one's)."""
        production = [j for j in self.jurisdictions.values() if j.sandbox_of is None]
        return production[0] if len(production) == 1 else None

    def sandbox_for(self, jurisdiction_id: str) -> Jurisdiction | None:
        """The sandbox of a production jurisdiction, if it has one."""
        return next((j for j in self.jurisdictions.values() if j.sandbox_of == jurisdiction_id), None)


class ApiKeysSchema(Schema):
    """api_keys: {required: bool}."""

    class Meta:
        unknown = RAISE

    required = StrictBoolean(load_default=True)


class StatusEntrySchema(Schema):
    """A status_map entry in its long form: {status: closed, closure_code: fixed} or {status: open, paused: true}
    (a status that pauses the SLA clock)."""

    class Meta:
        unknown = RAISE

    status = StrictString(required=True, validate=validate.OneOf(("open", "closed")))
    closure_code = StrictString(load_default=None, validate=validate.OneOf(
        CLOSURE_CODES, error="Unknown closure code {input!r}; one of: {choices}."))
    paused = StrictBoolean(load_default=False)

    @marshmallow.validates_schema
    def _closed_only(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        """A closure code belongs to a closed status only; only an open status pauses the clock."""
        if data.get("closure_code") and data.get("status") != "closed":
            raise ValidationError("A closure_code is given only with status: closed.", "closure_code")
        if data.get("paused") and data.get("status") != "open":
            raise ValidationError("Only an open status can pause the SLA clock.", "paused")


class StatusEntry(fields.Field):  # type: ignore[type-arg]
    """A status_map value: `open` / `closed`, {status: closed, closure_code: <code>} or {status: open, paused: true}."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, Mapping):
            return StatusEntrySchema().load(dict(value))
        if not isinstance(value, str):
            raise ValidationError(f"Must be a string or a mapping; quote the value {value!r}.")
        if value not in ("open", "closed"):
            raise ValidationError("Must be one of: open, closed.")
        return {"status": value, "closure_code": None, "paused": False}


class DepartmentSchema(Schema):
    """One department entry."""

    class Meta:
        unknown = RAISE

    name = StrictString(required=True, validate=validate.Length(min=1))
    adapter = StrictString(required=True)
    options = KeyedMapping(keys=fields.String(), load_default=dict)
    status_map = KeyedMapping(keys=StrictString(), values=StatusEntry(), load_default=dict)
    contact_policy = StrictString(load_default="full", validate=validate.OneOf(CONTACT_POLICIES))


class JurisdictionSchema(Schema):
    """One jurisdiction entry."""

    class Meta:
        unknown = RAISE

    name = StrictString(required=True, validate=validate.Length(min=1))
    timezone = StrictString(load_default="UTC")
    boundary = StrictString(load_default=None, allow_none=True)
    service_definitions = StrictString(load_default=None, allow_none=True)
    api_keys = fields.Nested(ApiKeysSchema, load_default=lambda: {"required": True})
    # Layers, named service-area rules referenced by each service's `service_area`, and who serves
    # the places a rule leaves out (docs/gis.md).
    gis = fields.Nested(GisSchema, load_default=None)
    service_areas = KeyedMapping(keys=StrictString(), values=fields.Nested(AreaRuleSchema), load_default=dict)
    referrals = KeyedMapping(keys=StrictString(), values=fields.Nested(ReferralSchema), load_default=dict)
    departments = KeyedMapping(keys=StrictString(), values=fields.Nested(DepartmentSchema), required=True,
                              validate=validate.Length(min=1))
    calendar = fields.Nested(CalendarSchema, load_default=None)
    sandbox_of = StrictString(load_default=None, allow_none=True)



class DiscoverySchema(Schema):
    """The discovery document's human-readable fields."""

    class Meta:
        unknown = RAISE

    contact = StrictString(load_default="See the operator of this gateway.")
    key_service = StrictString(load_default="Ask the operator of this gateway for an API key.")


class ConfigSchema(Schema):
    """The whole jurisdictions.yaml."""

    class Meta:
        unknown = RAISE

    # A missing section still gets its fields' defaults (a plain dict default would skip them).
    discovery = fields.Nested(DiscoverySchema, load_default=lambda: DiscoverySchema().load({}))
    jurisdictions = KeyedMapping(keys=StrictString(), values=fields.Nested(JurisdictionSchema), required=True,
                                validate=validate.Length(min=1))
    # Sections owned by other parts of the gateway (service areas, media, limits ...).
    extensions = KeyedMapping(keys=fields.String(), load_default=dict)


def _department_problems(doc: YamlDocument, jid: str, code: str, raw: Mapping[str, Any],
                         registry: Mapping[str, Any] | None) -> list[str]:
    """Check that a department's adapter is installed and its options validate."""
    base = ("jurisdictions", jid, "departments", code)
    try:
        cls = load_adapter_class(raw["adapter"], registry)
    except LookupError as exc:
        return [f"{doc.where((*base, 'adapter'))}: {exc}."]
    try:
        validate_options(cls, expand_env(raw.get("options", {})))
    except KeyError as exc:
        return [f"{doc.where((*base, 'options'))}: environment variable {exc.args[0]} is not set."]
    except marshmallow.ValidationError as exc:
        return [f"{doc.where((*base, 'options', *p))}: {m}" for p, m in error_paths(exc.messages)]
    return []


def _geocoder_problems(doc: YamlDocument, jid: str, raw: Mapping[str, Any]) -> list[str]:
    """Check that the configured geocoder exists and its options validate."""
    from open311.gis.geocoders import validate_geocoder_options

    base = ("jurisdictions", jid, "gis", "geocoder")
    try:
        validate_geocoder_options(raw["kind"], expand_env(raw["options"]))
    except LookupError as exc:
        return [f"{doc.where((*base, 'kind'))}: {exc}."]
    except KeyError as exc:
        return [f"{doc.where((*base, 'options'))}: environment variable {exc.args[0]} is not set."]
    except marshmallow.ValidationError as exc:
        return [f"{doc.where((*base, 'options', *p))}: {m}" for p, m in error_paths(exc.messages)]
    return []


def _departments(doc: YamlDocument, jid: str, raw: Mapping[str, Any], problems: list[str],
                 registry: Mapping[str, Any] | None) -> dict[str, Department]:
    """A jurisdiction's departments, each adapter's options checked."""
    departments: dict[str, Department] = {}
    for code, dept in raw["departments"].items():
        problems.extend(_department_problems(doc, jid, code, dept, registry))
        departments[code] = Department(code=code, name=dept["name"], adapter=dept["adapter"],
                                       options=dept["options"], status_map=plain_status_map(dept["status_map"]),
                                       contact_policy=dept["contact_policy"],
                                       closure_codes={k: v["closure_code"] for k, v in dept["status_map"].items()
                                                      if v["closure_code"]},
                                       paused=paused_statuses(dept["status_map"]))
    return departments


def _build_sandbox(doc: YamlDocument, jid: str, raw: Mapping[str, Any], production: Jurisdiction,
                   problems: list[str], registry: Mapping[str, Any] | None) -> Jurisdiction:
    """A sandbox: its production jurisdiction's catalog, areas, calendar and languages (the objects themselves,
    loaded once), with its own name, key setting and departments (every department the catalog names)."""
    given = (doc.data.get("jurisdictions") or {}).get(jid) or {} if isinstance(doc.data, Mapping) else {}
    extra = sorted(set(given) - {"name", "sandbox_of", "api_keys", "departments"})
    if extra:
        problems.append(f"{doc.where(('jurisdictions', jid, extra[0]))}: a sandbox takes {', '.join(extra)} from "
                        f"{production.id}; it sets only name, api_keys and departments.")
    departments = _departments(doc, jid, raw, problems, registry)
    wanted = sorted({s.department for s in production.catalog.services.values()} - set(departments))
    if wanted:
        problems.append(f"{doc.where(('jurisdictions', jid, 'departments'))}: the sandbox needs every department "
                        f"its catalog names; missing: {', '.join(wanted)}.")
    return replace(production, id=jid, name=raw["name"], departments=departments,
                   catalog=replace(production.catalog, jurisdiction_id=jid),
                   api_key_required=raw["api_keys"]["required"], sandbox_of=production.id)


def _build_jurisdiction(doc: YamlDocument, root: Path, jid: str, raw: Mapping[str, Any],
                        problems: list[str], registry: Mapping[str, Any] | None) -> Jurisdiction | None:
    """Validate the parts of one jurisdiction that need the file system; load its catalog."""
    try:
        tz = ZoneInfo(raw["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{doc.where(('jurisdictions', jid, 'timezone'))}: Unknown time zone {raw['timezone']!r}.")
        tz = ZoneInfo("UTC")
    departments = _departments(doc, jid, raw, problems, registry)
    base = ("jurisdictions", jid)
    rules = {name: build_rule(name, r, doc.where((*base, "service_areas", name)))
             for name, r in raw["service_areas"].items()}
    if raw["gis"] and raw["gis"]["geocoder"]:
        found_geocoder = _geocoder_problems(doc, jid, raw["gis"]["geocoder"])
        problems.extend(found_geocoder)
        if not found_geocoder:
            raw["gis"]["geocoder"]["options"] = expand_env(raw["gis"]["geocoder"]["options"])
    gis = build_gis(root, raw["boundary"], raw["gis"], doc.where((*base, "gis")))
    problems.extend(f"{doc.where((*base, 'service_areas', *p))}: {m}" for p, m in rule_problems(rules, gis))
    services_dir = root / (raw["service_definitions"] or f"service_definitions/{jid}")
    city_rules = {n for n, r in rules.items() if r.kind == "unincorporated_plus_contract"}
    catalog, found = load_catalog(services_dir, jid, departments.keys(), set(rules) or None, city_rules)
    problems.extend(found)
    referrals = build_referrals(raw["referrals"])
    if not found:  # translations are checked against a valid catalog (else every failed file echoes)
        texts = own_texts(raw["name"], departments.values(), rules.values(), referrals.values())
        catalog = _translated(catalog, services_dir, texts, problems)
    boundary = root / raw["boundary"] if raw["boundary"] else None
    return Jurisdiction(id=jid, name=raw["name"], timezone=tz, departments=departments, catalog=catalog,
                        api_key_required=raw["api_keys"]["required"], boundary=boundary,
                        service_areas=rules, referrals=referrals, gis=gis, sandbox_of=raw["sandbox_of"],
                        calendar=build_calendar(raw["calendar"], tz) if raw["calendar"] else None)


def own_texts(name: str, departments: Iterable[Department], rules: Iterable[AreaRule],
              referrals: Iterable[Referral]) -> tuple[str, ...]:
    """The jurisdiction's own texts residents read (translated under `texts:` of i18n/<locale>.yaml): its name,
    its departments' names, its area rules' descriptions, and each referral's agency and note."""
    found = [name, *(d.name for d in departments)]
    every = list(referrals)
    for rule in rules:
        found.append(rule.description)
        every += [r for r in (rule.referral, *rule.referrals.values()) if r is not None]
    for referral in every:
        found += [referral.agency, *([referral.note] if referral.note else [])]
    return tuple(dict.fromkeys(t for t in found if t))


def _translated(catalog: Catalog, services_dir: Path, texts: Sequence[str], problems: list[str]) -> Catalog:
    """The catalog with its translations (i18n/<locale>.yaml beside the service files), checked."""
    translations, found = load_translations(services_dir, catalog.services, texts)
    problems.extend(found)
    if not translations:
        return catalog
    fingerprint = fingerprint_of([catalog.fingerprint, *(t.canonical for t in translations.values())])
    return replace(catalog, fingerprint=fingerprint,
                   translations={locale: t.services for locale, t in translations.items()},
                   texts={locale: t.texts for locale, t in translations.items()},
                   statuses={locale: t.statuses for locale, t in translations.items()},
                   untranslated=tuple(iter_gaps(translations)))


def load_config(path: Path | str, registry: Mapping[str, Any] | None = None) -> GatewayConfig:
    """Load and validate the configuration; raise ConfigError listing every problem found.

    `registry` maps adapter names to classes or entry points (default: the installed entry points).
    """
    path = Path(path)
    try:
        doc = load_yaml(path)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read configuration: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([str(exc)]) from exc  # `path:line: invalid YAML: ...`, or not UTF-8
    try:
        data = ConfigSchema().load(doc.data if isinstance(doc.data, Mapping) else {})
    except ValidationError as exc:
        raise ConfigError([f"{doc.where(p)}: {m}" for p, m in error_paths(exc.messages)]) from exc
    problems: list[str] = []
    jurisdictions: dict[str, Jurisdiction] = {}
    raws = data["jurisdictions"]
    for jid, raw in raws.items():
        if raw["sandbox_of"] is None:
            built = _build_jurisdiction(doc, path.parent, jid, raw, problems, registry)
            if built is not None:
                jurisdictions[jid] = built
    for jid, raw in raws.items():
        target = raw["sandbox_of"]
        if target is None:
            continue
        if target not in raws or raws[target]["sandbox_of"] is not None:
            problems.append(f"{doc.where(('jurisdictions', jid, 'sandbox_of'))}: sandbox_of must name a production "
                            f"jurisdiction of this file, got {target!r}.")
        elif target in jurisdictions:
            jurisdictions[jid] = _build_sandbox(doc, jid, raw, jurisdictions[target], problems, registry)
    if problems:
        raise ConfigError(problems)
    return GatewayConfig(path=path, jurisdictions=jurisdictions, contact=data["discovery"]["contact"],
                         key_service=data["discovery"]["key_service"], extra=data["extensions"])
