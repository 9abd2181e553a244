"""W3C datetimes: lenient parsing of what clients send, strict rendering of what we emit; ISO 8601 durations."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# A '+' in a query string arrives decoded as a space: "2010-01-01T00:00:00 08:00".
_PLUS_AS_SPACE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")
_FRACTION = re.compile(r"([.,])(\d+)")
MIN_YEAR, MAX_YEAR = 1970, 2200
_DURATION = re.compile(r"P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?)?")


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime without microseconds."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_datetime(text: str, default_tz: tzinfo = UTC) -> datetime:
    """Parse a lenient ISO 8601 / W3C datetime and return it in UTC; raise ValueError if not one."""
    value = text.strip()
    if not value or len(value) > 40:
        raise ValueError("not a datetime")
    value = _PLUS_AS_SPACE.sub(r"\1+\2", value)
    value = _FRACTION.sub(lambda m: "." + m.group(2)[:6].ljust(6, "0"), value)
    if value[-1:] in "zZ":
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), time())
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"year {parsed.year} is out of range")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(UTC)


def format_w3c(moment: datetime | None, tz: tzinfo = UTC) -> str | None:
    """Render an aware datetime as YYYY-MM-DDThh:mm:ss±hh:mm (Z for UTC), without fractions."""
    if moment is None:
        return None
    local = moment.astimezone(tz).replace(microsecond=0)
    text = local.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration limited to weeks, days, hours and minutes (P2D, PT48H)."""
    m = _DURATION.fullmatch(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration like P2D or PT48H: {text!r}")
    weeks, days, hours, minutes = (int(g) if g else 0 for g in m.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
