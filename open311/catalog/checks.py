"""Semantic checks of service definitions: per file (on the raw YAML, so they run even when the
structural pass failed) and across the files of one catalog."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from open311.core.dates import parse_duration
from open311.core.text import NOT_XML

Path_ = tuple[str | int, ...]
Problem = tuple[Path_, str]

LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
# Keywords FixMyStreet (the most common Open311 client) reads as flags that hide or restrict a service.
RESERVED_KEYWORDS = frozenset({"private", "inactive", "staff", "waste_only"})
# Attribute answers are public (extended feeds); personal data belongs in the write-only contact fields.
_PERSONAL = re.compile(
    r"^(?:e_?mail|phone|phone_number|telephone|mobile|first_name|last_name|full_name|name|contact\w*"
    r"|device_id|account_id|account_number|date_of_birth|dob|ssn)$|_(?:email|phone|phone_number)$")
_SERVICE_TEXTS = ("service_name", "description", "group", "backoffice_code", "service_notice")
_ONE_LINE = ("service_name", "group", "backoffice_code")


def text_problems(path: Path_, value: Any, *, one_line: bool = False) -> Iterator[Problem]:
    """Blank strings, stray whitespace, line breaks where a single line is shown, XML-unsafe characters."""
    if not isinstance(value, str):
        return
    if not value.strip():
        yield path, "Must not be empty or blank; leave the key out instead."
        return
    if value != value.strip():
        yield path, "Must not start or end with whitespace."
    if one_line and ("\n" in value or "\r" in value):
        yield path, "Must be a single line."
    if NOT_XML.search(value):  # a catalog string holding one would break every XML answer
        yield path, "Contains a control character that XML cannot carry."


def keyword_problems(keywords: Any) -> Iterator[Problem]:
    """Keywords are rendered comma-joined, so each is one non-blank phrase without commas, once."""
    if not isinstance(keywords, list):
        return
    seen: dict[str, int] = {}
    for i, word in enumerate(keywords):
        if not isinstance(word, str):
            continue
        path: Path_ = ("keywords", i)
        yield from text_problems(path, word, one_line=True)
        if "," in word:
            yield path, f"Keyword {word!r} contains a comma; keywords are published comma-joined: split it."
        folded = word.strip().casefold()
        if folded in RESERVED_KEYWORDS:
            yield path, (f"Keyword {word!r} is a flag to FixMyStreet clients (it hides or restricts the "
                         "service); use another word.")
        if folded in seen:
            yield path, f"Duplicate keyword {word!r} (also keywords.{seen[folded]})."
        seen.setdefault(folded, i)


def _service_problems(data: Mapping[str, Any], stem: str, departments: Collection[str],
                      area_rules: Collection[str] | None, city_rules: Collection[str]) -> Iterator[Problem]:
    """Checks of the service-level keys."""
    code = data.get("service_code")
    if isinstance(code, str) and code != stem:
        yield ("service_code",), f"Must equal the file name {stem!r}."
    dept = data.get("department")
    if isinstance(dept, str) and dept not in departments:
        yield ("department",), (f"Unknown department {dept!r}; configured: "
                                f"{', '.join(sorted(departments)) or 'none'}.")
    area = data.get("service_area")
    if area_rules is not None:
        if isinstance(area, str) and area not in area_rules:
            yield ("service_area",), (f"Unknown service-area rule {area!r}; configured: "
                                      f"{', '.join(sorted(area_rules))}.")
        elif "service_area" not in data or area is None:
            yield ("service_code",), (f"No service_area: this jurisdiction defines rules "
                                      f"({', '.join(sorted(area_rules))}); name one.")
    if data.get("contract_cities") is not None and area not in city_rules:
        yield ("contract_cities",), "Only for a service_area of kind unincorporated_plus_contract."
    expected = data.get("expected_response")
    if isinstance(expected, str):
        try:
            if parse_duration(expected) <= timedelta(0):
                yield ("expected_response",), "Must be longer than zero."
        except ValueError as exc:
            yield ("expected_response",), str(exc)
    for key in _SERVICE_TEXTS:
        yield from text_problems((key,), data.get(key), one_line=key in _ONE_LINE)
    yield from keyword_problems(data.get("keywords"))


def _value_problems(path: Path_, attr: Mapping[str, Any]) -> Iterator[Problem]:
    """Checks of one list attribute's values: present, unique keys and names, keys a client can send."""
    datatype, values = attr.get("datatype"), attr.get("values")
    values = values if isinstance(values, list) else []
    is_list = datatype in LIST_DATATYPES
    if is_list and not values and attr.get("variable", True) is not False:
        yield (*path, "values"), f"A {datatype} needs at least one value."
    if not is_list and values and isinstance(datatype, str):
        yield (*path, "values"), f"A {datatype} attribute takes no values."
    keys: dict[str, int] = {}
    names: dict[str, int] = {}
    for j, value in enumerate(values):
        if not isinstance(value, Mapping):
            continue
        key, name = value.get("key"), value.get("name")
        vpath: Path_ = (*path, "values", j)
        if isinstance(key, str):
            yield from text_problems((*vpath, "key"), key, one_line=True)
            if datatype == "multivaluelist" and "," in key:
                yield (*vpath, "key"), f"Key {key!r} contains a comma, which clients use to join several keys."
            if key in keys:
                yield (*vpath, "key"), f"Duplicate value key {key!r} (also values.{keys[key]})."
            keys.setdefault(key, j)
        if isinstance(name, str):
            yield from text_problems((*vpath, "name"), name, one_line=True)
            folded = name.strip().casefold()
            if folded in names:
                yield (*vpath, "name"), f"Duplicate value name {name!r} (also values.{names[folded]})."
            names.setdefault(folded, j)


def _attribute_problems(i: int, attr: Mapping[str, Any]) -> Iterator[Problem]:
    """Checks of one attribute on its own."""
    path: Path_ = ("attributes", i)
    variable = attr.get("variable", True)
    code = attr.get("code")
    if isinstance(code, str) and _PERSONAL.search(code.lower()):
        yield (*path, "code"), (f"Attribute {code!r} asks for personal data; use the request's contact fields "
                                "(first_name, last_name, email, phone), which are never published.")
    if attr.get("required") is True and variable is False:
        yield (*path, "required"), "An attribute with variable: false is informational and cannot be required."
    description = attr.get("description")
    yield from text_problems((*path, "description"), description)
    hint = attr.get("datatype_description")
    yield from text_problems((*path, "datatype_description"), hint)
    if isinstance(hint, str) and hint.strip():
        if variable is False:
            yield (*path, "datatype_description"), ("An informational attribute (variable: false) takes no "
                                                    "input; put the text in description.")
        elif isinstance(description, str) and hint.strip().casefold() == description.strip().casefold():
            yield (*path, "datatype_description"), ("Repeats description; say how to answer (format, unit) "
                                                    "or leave it out.")
    yield from _value_problems(path, attr)


def _attributes_problems(attributes: Any) -> Iterator[Problem]:
    """Per-attribute checks plus unique codes (also across letter case) and unique orders."""
    if not isinstance(attributes, list):
        return
    codes: dict[str, int] = {}
    orders: dict[int, int] = {}
    for i, attr in enumerate(attributes):
        if not isinstance(attr, Mapping):
            continue
        code, order = attr.get("code"), attr.get("order")
        if isinstance(code, str):
            folded = code.casefold()
            if folded in codes:
                exact = attributes[codes[folded]].get("code") == code
                what = "Duplicate code" if exact else "Code differs only in case from another:"
                yield ("attributes", i, "code"), f"{what} {code!r} (also attribute {codes[folded]})."
            codes.setdefault(folded, i)
        if isinstance(order, int) and not isinstance(order, bool):
            if order in orders:
                yield ("attributes", i, "order"), f"Duplicate order {order} (also attribute {orders[order]})."
            orders.setdefault(order, i)
        yield from _attribute_problems(i, attr)


def semantic_problems(data: Mapping[str, Any], stem: str, departments: Collection[str],
                      area_rules: Collection[str] | None, city_rules: Collection[str] = ()) -> list[Problem]:
    """Cross-field checks marshmallow cannot express, on the raw YAML (wrong types are skipped here:
    the structural pass reports them)."""
    return [*_service_problems(data, stem, departments, area_rules, city_rules),
            *_attributes_problems(data.get("attributes"))]


@dataclass(frozen=True)
class Located:
    """A value of one file, with where to report it."""

    value: str
    where: str


def duplicates(items: Sequence[Located], what: str, *, same_allowed: bool = False) -> list[str]:
    """Problems for values that repeat across files, compared case-insensitively; with same_allowed
    only spellings that differ in case are reported (one group shared by several services is fine)."""
    first: dict[str, Located] = {}
    problems: list[str] = []
    for item in items:
        key = item.value.strip().casefold()
        seen = first.get(key)
        if seen is None:
            first[key] = item
        elif seen.value != item.value:
            problems.append(f"{item.where}: {what} {item.value!r} differs only in case from {seen.value!r} "
                            f"({seen.where}); use one spelling.")
        elif not same_allowed:
            problems.append(f"{item.where}: Duplicate {what} {item.value!r} (also {seen.where}).")
    return problems
