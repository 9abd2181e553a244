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


class StatusEntry(fields.Field):  # type: ignore[type-arg]
    """A status_map value: `open`/`closed`, or `{status: open, paused: true}` (other keys left to their owners)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = {"status": value}
        if not isinstance(value, Mapping):
            raise ValidationError("Must be open or closed, or a mapping like {status: open, paused: true}.")
        if value.get("status") not in PUBLIC_STATUSES:
            raise ValidationError("status must be open or closed.")
        if not isinstance(value.get("paused", False), bool):
            raise ValidationError("paused must be true or false (unquoted).")
        if value.get("paused") and value["status"] != "open":
            raise ValidationError("Only an open status can pause the SLA clock.")
        unknown = set(value) - {"status", "paused"}
        if unknown:
            raise ValidationError(f"Unknown key(s) {sorted(map(str, unknown))} (typo?).")
        return dict(value)


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
