"""Catalog translations: service_definitions/<jurisdiction>/i18n/<locale>.yaml, checked against the catalog.

A translation file holds the residents' texts of every service in one language (names, descriptions,
groups, keywords, notices, questions and answer names), keyed by the English catalog's codes, and the
jurisdiction's own texts (`texts`: its name, its departments', its area rules and referrals), keyed by the
English text. Wrong keys and malformed texts are problems (the gateway refuses to start, like any catalog
error); a text that is simply not translated yet is a gap: reported by `open311 check-config`, served in
English. Every text has a status: `missing`, `machine` (a draft awaiting review: the file's `status`,
which is `machine` unless it says `reviewed`) or `reviewed` (the file says so, or lists the text's key
path, e.g. `services.DPW-CARTS.service_name`, under `reviewed:`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from open311.catalog.checks import keyword_problems, text_problems
from open311.catalog.definitions import Attribute, Service, Value
from open311.core.yamlfile import YamlDocument, parse_yaml

SOURCE_LOCALE = "en"
# A language code, with a script where one language is written in two (zh-Hans, zh-Hant).
LOCALE_NAME = re.compile(r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?$")
STATUSES = ("reviewed", "machine", "missing")
SERVICE_TEXTS = ("service_name", "description", "service_notice")
ONE_LINE = ("service_name",)
Path_ = tuple[str | int, ...]
Finding = tuple[Path_, str]


@dataclass(frozen=True)
class Translation:
    """One language of a catalog: every service with its texts translated where the file has them."""

    locale: str
    services: Mapping[str, Service]
    gaps: tuple[str, ...]          # untranslated texts, as `file:line: key.path: message`
    canonical: str                 # the file's content, for the catalog fingerprint
    texts: Mapping[str, str]       # the jurisdiction's own texts: English -> this language
    statuses: Mapping[str, str]    # key path (services.DPW-CARTS.service_name) -> reviewed | machine | missing


def key_path(path: Path_) -> str:
    """A text's key path as translators write it: services.DPW-CARTS.attributes.issue.description."""
    return ".".join(str(p) for p in path)


def english_paths(services: Mapping[str, Service], texts: Sequence[str] = ()) -> Iterator[str]:
    """The key path of every text a translation has: the catalog's (groups, services) and the jurisdiction's."""
    yield from sorted({key_path(("groups", s.group)) for s in services.values() if s.group})
    for code, service in services.items():
        base: Path_ = ("services", code)
        yield from (key_path((*base, key)) for key in SERVICE_TEXTS if getattr(service, key))
        if service.keywords:
            yield key_path((*base, "keywords"))
        for attr in service.attributes:
            where: Path_ = (*base, "attributes", attr.code)
            yield key_path((*where, "description"))
            if attr.datatype_description:
                yield key_path((*where, "datatype_description"))
            yield from (key_path((*where, "values", v.key)) for v in attr.values)
    yield from (key_path(("texts", t)) for t in texts)


def translation_files(directory: Path) -> list[Path]:
    """The translation files of a catalog directory (`i18n/<locale>.yaml`), sorted."""
    folder = directory / "i18n"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file())


def load_translations(directory: Path, services: Mapping[str, Service],
                      texts: Sequence[str] = ()) -> tuple[dict[str, Translation], list[str]]:
    """Read and check every translation file of a catalog (and of the jurisdiction's own `texts`);
    return the translations and the problems."""
    found: dict[str, Translation] = {}
    problems: list[str] = []
    for path in translation_files(directory):
        locale = path.stem
        if not LOCALE_NAME.match(locale) or locale == SOURCE_LOCALE:
            problems.append(f"{path}: the file name must be a two- or three-letter language code other than "
                            f"{SOURCE_LOCALE!r} (the catalog's own language), e.g. es.yaml, with a script where "
                            "the language has two (zh-Hans.yaml, zh-Hant.yaml).")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        translation, file_problems = _check(str(path), text, tuple(services.values()), tuple(texts))
        problems.extend(file_problems)
        if translation is not None:
            found[locale] = translation
    return found, problems


@functools.lru_cache(maxsize=64)
def _check(source: str, text: str, services: tuple[Service, ...],
           texts: tuple[str, ...]) -> tuple[Translation | None, tuple[str, ...]]:
    """Check one file against the catalog (pure, so cached: tests build many apps)."""
    path = Path(source)
    try:
        doc = parse_yaml(path, text)
    except yaml.YAMLError as exc:
        return None, (str(exc),)  # `path:line: invalid YAML: ...`
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, Mapping):
        return None, (f"{path}:1: (document) Must be a mapping with `groups` and `services`.",)
    checker = _Checker({s.service_code: s for s in services}, texts)
    translated = checker.run(data)
    problems = tuple(f"{doc.where(p)}: {m}" for p, m in _by_line(doc, checker.problems))
    gaps = tuple(f"{doc.where(p)}: {m}" for p, m in _by_line(doc, checker.gaps))
    if problems:
        return None, problems
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return Translation(path.stem, translated, gaps, canonical, checker.texts, checker.statuses), ()


def _by_line(doc: YamlDocument, findings: list[Finding]) -> list[Finding]:
    """Findings in file order (stable for the same line)."""
    return sorted(findings, key=lambda f: doc.line_of(f[0]) or 0)


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


class _Checker:
    """Walks one translation file: collects problems and gaps, and builds the translated services."""

    def __init__(self, services: Mapping[str, Service], texts: Sequence[str] = ()) -> None:
        self.services = services
        self.known_texts = texts
        self.problems: list[Finding] = []
        self.gaps: list[Finding] = []
        self.texts: dict[str, str] = {}
        self.statuses: dict[str, str] = {}

    def run(self, data: Mapping[str, Any]) -> dict[str, Service]:
        """Check the whole document; return every service, translated where possible."""
        self._keys((), data, ("status", "reviewed", "groups", "services", "texts"))
        groups = self._groups(data.get("groups"))
        entries = data.get("services")
        if entries is not None and not isinstance(entries, Mapping):
            self.problems.append((("services",), "Must be a mapping of service_code to its texts."))
        entries = _mapping(entries)
        for code in entries:
            if code not in self.services:
                self.problems.append((("services", code), f"Unknown service_code {code!r}: not in the catalog."))
        translated = {code: self._service(service, entries.get(code), groups)
                      for code, service in self.services.items()}
        self._unique_names(translated)
        self._own_texts(data.get("texts"))
        self._review(data.get("status"), data.get("reviewed"))
        return translated

    def _own_texts(self, raw: Any) -> None:
        """The jurisdiction's own texts (its name, departments, area rules, referrals), keyed by the English."""
        if raw is not None and not isinstance(raw, Mapping):
            self.problems.append((("texts",), "Must be a mapping of English text to its translation."))
        raw = _mapping(raw)
        for english in raw:
            if english not in self.known_texts:
                self.problems.append((("texts", english), "Not a text of the jurisdiction (its name, a department's "
                                      "name, an area rule's description, a referral's agency or note)."))
        for english in self.known_texts:
            text = self._text(("texts", english), raw.get(english), english)
            if text is not None:
                self.texts[english] = text

    def _review(self, status: Any, reviewed: Any) -> None:
        """Mark texts reviewed: all of them (`status: reviewed`) or those `reviewed:` lists by key path."""
        if status is not None and status not in ("machine", "reviewed"):
            self.problems.append((("status",), "Must be machine (drafts awaiting review) or reviewed."))
        if reviewed is not None and (not isinstance(reviewed, list) or not all(isinstance(k, str) for k in reviewed)):
            self.problems.append((("reviewed",), "Must be a list of key paths, e.g. services.DPW-CARTS.service_name."))
            reviewed = []
        for key in english_paths(self.services, self.known_texts):
            self.statuses.setdefault(key, "missing")
        marked = set(reviewed or ())
        for key in marked - self.statuses.keys():
            self.problems.append((("reviewed",), f"{key[:120]!r} is not the key path of a text of this file."))
        for key, found in self.statuses.items():
            if found == "machine" and (status == "reviewed" or key in marked):
                self.statuses[key] = "reviewed"

    def _keys(self, path: Path_, data: Mapping[Any, Any], allowed: Sequence[str]) -> None:
        """Report keys that are not allowed at this level."""
        for key in data:
            if key not in allowed:
                self.problems.append(((*path, key), f"Unknown key (typo?); allowed here: {', '.join(allowed)}."))

    def _text(self, path: Path_, value: Any, english: str | None, *, one_line: bool = False) -> str | None:
        """A translated text, or None (a gap) when absent; problems for a wrong type or a stray key."""
        if value is None:
            if english is not None:
                self.gaps.append((path, f"not translated (English: {english[:60]!r})."))
                self.statuses[key_path(path)] = "missing"
            return None
        if english is None:
            self.problems.append((path, "The English catalog has no such text; remove this key."))
            return None
        if not isinstance(value, str):
            self.problems.append((path, f"Must be a string; quote the value {value!r}."))
            return None
        found = list(text_problems(path, value, one_line=one_line))
        self.problems.extend(found)
        if not found:
            self.statuses[key_path(path)] = "machine"
        return None if found else value

    def _groups(self, raw: Any) -> dict[str, str]:
        """The group names (shared by several services, so translated once)."""
        if raw is not None and not isinstance(raw, Mapping):
            self.problems.append((("groups",), "Must be a mapping of English group name to its translation."))
        raw = _mapping(raw)
        used = {s.group for s in self.services.values() if s.group}
        for name in raw:
            if name not in used:
                self.problems.append((("groups", name), f"Unknown group {name!r}: no service of the catalog has it."))
        groups: dict[str, str] = {}
        for name in sorted(used):
            text = self._text(("groups", name), raw.get(name), name, one_line=True)
            if text is not None:
                groups[name] = text
        return groups

    def _service(self, service: Service, raw: Any, groups: Mapping[str, str]) -> Service:
        """One service with its texts replaced by the translation's."""
        path: Path_ = ("services", service.service_code)
        if raw is None:
            self.gaps.append((path, f"service not translated ({service.service_name!r} is served in English)."))
            return replace(service, group=groups.get(service.group or "", service.group))
        if not isinstance(raw, Mapping):
            self.problems.append((path, "Must be a mapping of texts."))
            return service
        self._keys(path, raw, (*SERVICE_TEXTS, "keywords", "attributes"))
        texts = {key: self._text((*path, key), raw.get(key), getattr(service, key), one_line=key in ONE_LINE)
                 for key in SERVICE_TEXTS}
        keywords = self._keywords(path, raw.get("keywords"), service.keywords)
        attributes = self._attributes(path, raw.get("attributes"), service.attributes)
        return replace(service, service_name=texts["service_name"] or service.service_name,
                       description=texts["description"] or service.description,
                       service_notice=texts["service_notice"] or service.service_notice,
                       group=groups.get(service.group or "", service.group),
                       keywords=keywords if keywords is not None else service.keywords, attributes=attributes)

    def _keywords(self, path: Path_, raw: Any, english: tuple[str, ...]) -> tuple[str, ...] | None:
        """Keywords are the translation's own search words (not one per English word)."""
        where: Path_ = (*path, "keywords")
        if raw is None:
            if english:
                self.gaps.append((where, "not translated (English keywords are served)."))
                self.statuses[key_path(where)] = "missing"
            return None
        if not english:
            self.problems.append((where, "The English catalog has no keywords for this service; remove this key."))
            return None
        if not isinstance(raw, list) or not all(isinstance(w, str) for w in raw) or not raw:
            self.problems.append((where, "Must be a non-empty list of strings."))
            return None
        found = [((*path, *p), m) for p, m in keyword_problems(raw)]
        self.problems.extend(found)
        if not found:
            self.statuses[key_path(where)] = "machine"
        return None if found else tuple(raw)

    def _attributes(self, path: Path_, raw: Any, english: tuple[Attribute, ...]) -> tuple[Attribute, ...]:
        """The questions, translated one by one."""
        where: Path_ = (*path, "attributes")
        if raw is not None and not isinstance(raw, Mapping):
            self.problems.append((where, "Must be a mapping of attribute code to its texts."))
        raw = _mapping(raw)
        codes = {a.code for a in english}
        for code in raw:
            if code not in codes:
                self.problems.append(((*where, code), f"Unknown attribute code {code!r} for this service."))
        return tuple(self._attribute((*where, a.code), raw.get(a.code), a) for a in english)

    def _attribute(self, path: Path_, raw: Any, attr: Attribute) -> Attribute:
        """One question: its text, its answer hint and its values' names."""
        if raw is None:
            self.gaps.append((path, f"question not translated ({attr.description[:60]!r})."))
            return attr
        if not isinstance(raw, Mapping):
            self.problems.append((path, "Must be a mapping with description (and datatype_description, values)."))
            return attr
        self._keys(path, raw, ("description", "datatype_description", "values"))
        description = self._text((*path, "description"), raw.get("description"), attr.description)
        hint = self._text((*path, "datatype_description"), raw.get("datatype_description"),
                          attr.datatype_description)
        values = self._values((*path, "values"), raw.get("values"), attr)
        return replace(attr, description=description or attr.description,
                       datatype_description=hint or attr.datatype_description, values=values)

    def _values(self, path: Path_, raw: Any, attr: Attribute) -> tuple[Value, ...]:
        """The names of a list attribute's values, keyed by the (untranslated) value keys."""
        if raw is not None and not attr.values:
            self.problems.append((path, f"A {attr.datatype} attribute has no values to translate; remove this key."))
            return attr.values
        if raw is not None and not isinstance(raw, Mapping):
            self.problems.append((path, "Must be a mapping of value key to its name."))
        raw = _mapping(raw)
        for key in raw:
            if key not in attr.keys:
                self.problems.append(((*path, key), f"Unknown value key {key!r} for this attribute."))
        names: dict[str, str] = {}
        values = []
        for value in attr.values:
            name = self._text((*path, value.key), raw.get(value.key), value.name, one_line=True)
            folded = (name or value.name).casefold()
            if name is not None and folded in names:
                self.problems.append(((*path, value.key), f"Duplicate value name {name!r} (also {names[folded]!r})."))
            names.setdefault(folded, value.key)
            values.append(Value(value.key, name or value.name))
        return tuple(values)

    def _unique_names(self, translated: Mapping[str, Service]) -> None:
        """Residents pick services by name: translated names must not clash either."""
        seen: dict[str, str] = {}
        for code, service in translated.items():
            folded = service.service_name.casefold()
            if folded in seen:
                self.problems.append((("services", code, "service_name"),
                                      f"Duplicate service_name {service.service_name!r} (also {seen[folded]})."))
            seen.setdefault(folded, code)


def iter_gaps(translations: Mapping[str, Translation]) -> Iterator[str]:
    """Every untranslated text of every language."""
    for translation in translations.values():
        yield from translation.gaps
