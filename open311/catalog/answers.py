"""Validation of submitted attribute answers against a service definition, datatype by datatype."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, tzinfo
from typing import Any

from open311.catalog.definitions import Attribute, Service
from open311.core.dates import format_w3c, parse_datetime
from open311.core.i18n import gettext as _
from open311.core.params import DECIMAL as DECIMAL  # re-exported: intake checks lat and long with it

log = logging.getLogger(__name__)
MAX_STRING, MAX_TEXT = 1000, 4000
MAX_LOGGED_CODES, MAX_CODE_SHOWN = 20, 64
# DECIMAL (open311.core.params): plain decimal notation only, as for query parameters.
# Everything str.splitlines() breaks on that a form could carry (the rest is refused on input).
_LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")

Answer = str | int | float | list[str]
Check = Callable[[Attribute, Sequence[str], tzinfo], Answer]


def _one(attr: Attribute, values: Sequence[str]) -> str:
    """The single value of a single-valued attribute (the same value sent twice counts once)."""
    if len(set(values)) > 1:
        raise ValueError(_("%(label)s takes one value, got %(count)d.", label=_label(attr), count=len(values)))
    return values[0]


def _shown(value: str) -> str:
    """A submitted value quoted for an error message, shortened."""
    return repr(value[:40] + ("..." if len(value) > 40 else ""))


def _string(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    value = _one(attr, values).strip()
    if _LINE_BREAKS.search(value):
        raise ValueError(_("%(label)s must be a single line (no line breaks): it is a string, not a text attribute.",
                           label=_label(attr)))
    if len(value) > MAX_STRING:
        raise ValueError(_("%(label)s must be at most %(limit)d characters, got %(count)d.", label=_label(attr),
                           limit=MAX_STRING, count=len(value)))
    return value


def _text(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    value = _one(attr, values).strip()
    if len(value) > MAX_TEXT:
        raise ValueError(_("%(label)s must be at most %(limit)d characters, got %(count)d.", label=_label(attr),
                           limit=MAX_TEXT, count=len(value)))
    return value


def _number(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    value = _one(attr, values).strip()
    if not DECIMAL.fullmatch(value):
        raise ValueError(_("%(label)s must be a number such as 3 or 2.5, got %(value)s.", label=_label(attr),
                           value=_shown(value)))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(_("%(label)s must be a finite number, got %(value)s.", label=_label(attr),
                           value=_shown(value)))
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _datetime(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    value = _one(attr, values).strip()
    try:
        moment = parse_datetime(value, tz)
    except ValueError:
        message = _("%(label)s must be an ISO 8601 date or datetime such as 2026-01-31 or "
                    "2026-01-31T14:30:00-08:00, got %(value)s.", label=_label(attr), value=_shown(value))
        raise ValueError(message) from None
    return format_w3c(moment, tz) or ""


def _single(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    value = _one(attr, [v.strip() for v in values])
    if value not in attr.keys:
        raise ValueError(_("%(label)s %(value)s is not one of: %(keys)s.", label=_label(attr), value=_shown(value),
                           keys=", ".join(v.key for v in attr.values)))
    return value


def _multi(attr: Attribute, values: Sequence[str], tz: tzinfo) -> Answer:
    chosen: list[str] = []
    for raw in values:
        # Comma-joined keys are one more encoding clients use, unless the whole value is itself a key.
        parts = [raw.strip()] if raw.strip() in attr.keys else [p.strip() for p in raw.split(",") if p.strip()]
        chosen.extend(p for p in parts if p not in chosen)
    wrong = [p for p in chosen if p not in attr.keys]
    if wrong:
        raise ValueError(_("%(label)s %(values)s not among: %(keys)s.", label=_label(attr),
                           values=", ".join(_shown(w) for w in wrong), keys=", ".join(v.key for v in attr.values)))
    if not chosen:
        raise ValueError(_("%(label)s needs at least one of: %(keys)s.", label=_label(attr),
                           keys=", ".join(v.key for v in attr.values)))
    return chosen


CHECKS: dict[str, Check] = {
    "string": _string, "text": _text, "number": _number, "datetime": _datetime,
    "singlevaluelist": _single, "multivaluelist": _multi,
}


def _label(attr: Attribute) -> str:
    """How an error names an attribute: its form key and (shortened) question."""
    question = attr.description if len(attr.description) <= 80 else attr.description[:77] + "..."
    return f"attribute[{attr.code}] ({question})"


def _log_unknown(service: Service, raw: Mapping[str, Sequence[str]]) -> None:
    """Real clients send extra codes (FixMyStreet: uprn, fixmystreet_id): log the codes, never the values."""
    known = {a.code for a in service.attributes}
    unknown = sorted(code for code in raw if code not in known)
    if unknown:
        shown = ", ".join(repr(code[:MAX_CODE_SHOWN]) for code in unknown[:MAX_LOGGED_CODES])
        more = f" and {len(unknown) - MAX_LOGGED_CODES} more" if len(unknown) > MAX_LOGGED_CODES else ""
        log.info("ignoring unknown attribute codes for %s: %s%s", service.service_code, shown, more)


def validate_answers(service: Service, raw: Mapping[str, Sequence[str]],
                     tz: tzinfo = UTC) -> tuple[dict[str, Any], list[str]]:
    """Check answers for every attribute; return the clean answers and one message per problem.
    Naive datetimes are read in `tz` (the jurisdiction's zone) and stored with its offset."""
    answers: dict[str, Any] = {}
    problems: list[str] = []
    _log_unknown(service, raw)
    for attr in service.attributes:
        if not attr.variable:
            continue  # informational: nothing to answer, whatever a client sends
        values = [v for v in raw.get(attr.code, ()) if v is not None and v.strip() != ""]
        if not values:
            if attr.required:
                problems.append(_("%(label)s is required.", label=_label(attr)))
            continue
        try:
            answers[attr.code] = CHECKS[attr.datatype](attr, values, tz)
        except ValueError as exc:
            problems.append(str(exc))
    return answers, problems
