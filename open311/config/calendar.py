"""The SLA parts of jurisdictions.yaml: a jurisdiction's business calendar, and statuses that pause the clock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from open311.core.business_time import Calendar
from open311.core.validation import KeyedMapping, StrictString

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PUBLIC_STATUSES = ("open", "closed")
_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


def plain_status_map(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The back-office status -> public status mapping."""
    return {key: entry["status"] for key, entry in raw.items()}


def paused_statuses(raw: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The back-office statuses (case-folded) marked `paused: true`."""
    return frozenset(key.casefold() for key, entry in raw.items() if entry.get("paused"))


def _hours(text: str) -> None:
    """Check `HH:MM-HH:MM`, opening before closing."""
    m = _HOURS.fullmatch(text)
    if not m or (int(m[1]), int(m[2])) >= (int(m[3]), int(m[4])):
        raise ValidationError("Must be opening-closing like 08:00-17:00, opening first.")


def _holiday(text: str) -> None:
    """Check an ISO date."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Not a date like 2026-01-01: {text!r}.") from None


class CalendarSchema(Schema):
    """calendar: {weekdays: [mon..fri], hours: "08:00-17:00", holidays: {"2026-01-01": New Year's Day}}."""

    class Meta:
        unknown = RAISE

    weekdays = fields.List(StrictString(validate=validate.OneOf(WEEKDAYS)), load_default=lambda: list(WEEKDAYS[:5]),
                           validate=validate.Length(min=1))
    hours = StrictString(load_default="08:00-17:00", validate=_hours)
    holidays = KeyedMapping(keys=StrictString(validate=_holiday), values=StrictString(), load_default=dict)
    source = StrictString(load_default=None, allow_none=True)


def build_calendar(raw: Mapping[str, Any], tz: ZoneInfo) -> Calendar:
    """The Calendar of a checked `calendar:` section."""
    m = _HOURS.fullmatch(raw["hours"])
    assert m is not None
    closes = time(int(m[3]), int(m[4]))
    return Calendar(tz=tz, weekdays=frozenset(WEEKDAYS.index(d) for d in raw["weekdays"]),
                    opens=time(int(m[1]), int(m[2])), closes=closes,
                    holidays=frozenset(date.fromisoformat(d) for d in raw["holidays"]))
