"""Validation of submitted attribute answers against a service definition, datatype by datatype."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .catalog import Attribute, Service
from .dates import format_w3c, parse_datetime

log = logging.getLogger(__name__)
MAX_STRING, MAX_TEXT = 1000, 4000
# A plain decimal number: float() alone would also take "1_000", "infinity" and full-width digits.
DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)

Answer = str | float | list[str]


def _one(attr: Attribute, values: Sequence[str]) -> str:
    """Return the single value of a single-valued attribute."""
    if len(values) > 1:
        raise ValueError("takes one value, got several")
    return values[0]


def _string(attr: Attribute, values: Sequence[str]) -> Answer:
    value = _one(attr, values)
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line (no line breaks); this is a string attribute")
    if len(value) > MAX_STRING:
        raise ValueError(f"must be at most {MAX_STRING} characters")
    return value


def _text(attr: Attribute, values: Sequence[str]) -> Answer:
    value = _one(attr, values)
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value


def _number(attr: Attribute, values: Sequence[str]) -> Answer:
    value = _one(attr, values).strip()
    if value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError("must be a finite number")
    if not DECIMAL.fullmatch(value):
        raise ValueError(f"must be a number, got {value[:40]!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _datetime(attr: Attribute, values: Sequence[str]) -> Answer:
    value = _one(attr, values)
    try:
        return format_w3c(parse_datetime(value)) or ""
    except ValueError:
        raise ValueError("must be an ISO 8601 datetime such as 2026-01-31T14:30:00-08:00, "
                         f"got {value[:40]!r}") from None


def _single(attr: Attribute, values: Sequence[str]) -> Answer:
    value = _one(attr, values).strip()
    if value not in attr.keys:
        raise ValueError(f"{value[:40]!r} is not one of: {', '.join(v.key for v in attr.values)}")
    return value


def _multi(attr: Attribute, values: Sequence[str]) -> Answer:
    chosen: list[str] = []
    for raw in values:
        # A comma list is one more encoding clients use, unless the whole value is itself a key.
        parts = [raw.strip()] if raw.strip() in attr.keys else [p.strip() for p in raw.split(",") if p.strip()]
        chosen.extend(p for p in parts if p not in chosen)
    wrong = [p for p in chosen if p not in attr.keys]
    if wrong:
        raise ValueError(f"{', '.join(repr(w[:40]) for w in wrong)} not among: {', '.join(v.key for v in attr.values)}")
    return chosen


CHECKS: dict[str, Callable[[Attribute, Sequence[str]], Answer]] = {
    "string": _string, "text": _text, "number": _number, "datetime": _datetime,
    "singlevaluelist": _single, "multivaluelist": _multi,
}


def validate_answers(service: Service, raw: Mapping[str, Sequence[str]]) -> tuple[dict[str, Any], list[str]]:
    """Check answers for every attribute; return the clean answers and one message per problem."""
    answers: dict[str, Any] = {}
    problems: list[str] = []
    known = {a.code for a in service.attributes}
    unknown = sorted(code for code in raw if code not in known)
    if unknown:
        log.info("ignoring unknown attribute codes for %s: %s", service.service_code, ", ".join(unknown[:20]))
    for attr in service.attributes:
        if not attr.variable:
            continue
        values = [v for v in raw.get(attr.code, ()) if v is not None and v.strip() != ""]
        if not values:
            if attr.required:
                problems.append(f"attribute[{attr.code}] ({attr.description}) is required.")
            continue
        try:
            answers[attr.code] = CHECKS[attr.datatype](attr, values)
        except ValueError as exc:
            problems.append(f"attribute[{attr.code}] ({attr.description}) {exc}.")
    return answers, problems
