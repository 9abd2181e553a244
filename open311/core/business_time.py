"""Business time: a jurisdiction's working hours, weekdays and holidays, and time counted only inside them.

Hand-written (about a hundred lines) because no maintained library fits: businesstimedelta has had no
release since 2019, workalendar none since 2023 and neither knows Los Angeles County's observed holidays;
`holidays` (maintained) knows dates, not hours, and is used by the tests as an independent check of the
configured dates. Every computation converts to UTC before subtracting, so DST changes are counted right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366            # a walk never looks further ahead than this (a guard against an empty calendar)
_DURATION = re.compile(r"P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?)?")


@dataclass(frozen=True)
class Calendar:
    """Working weekdays (0 = Monday), opening and closing time (00:00 closing: midnight at the day's end),
    observed holidays, in one time zone. `around_the_clock` is every day, all day: calendar time."""

    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(range(5))
    opens: time = time(8)
    closes: time = time(17)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def day_seconds(self) -> int:
        """The length of one working day in seconds."""
        closes = self.closes.hour * 3600 + self.closes.minute * 60 or 86400
        return closes - (self.opens.hour * 3600 + self.opens.minute * 60)

    def is_working_day(self, day: date) -> bool:
        """True for a working weekday that is not an observed holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of `day` in UTC, or None when it is no working day."""
        if not self.is_working_day(day):
            return None
        start = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
        last = day + timedelta(days=1) if self.closes == time(0) else day
        return start, datetime.combine(last, self.closes, tzinfo=self.tz).astimezone(UTC)


def around_the_clock(tz: ZoneInfo) -> Calendar:
    """Every day, all day: business time is calendar time (a jurisdiction without a `calendar:`)."""
    return Calendar(tz=tz, weekdays=frozenset(range(7)), opens=time(0), closes=time(0))


@dataclass(frozen=True)
class BusinessDuration:
    """An ISO 8601 duration read as business time: W and D count working days, H and M working hours."""

    days: int = 0
    seconds: int = 0

    def total_seconds(self, calendar: Calendar) -> int:
        """The duration in business seconds of `calendar` (a working day is opens..closes)."""
        return self.days * calendar.day_seconds + self.seconds


def parse_business_duration(text: str, weekdays: int = 5) -> BusinessDuration:
    """P2D -> 2 working days, PT8H -> 8 working hours, P1W -> one week of working days (5 by default).

    Whole days written in hours with no minutes (PT24H, PT48H: a catalog's "within 48 hours") are read as
    that many working days, as residents and departments read them; any other hours are working hours.
    """
    m = _DURATION.fullmatch(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration like P2D or PT48H: {text!r}")
    w, d, h, mins = (int(g) if g else 0 for g in m.groups())
    if h and h % 24 == 0 and not mins:
        d, h = d + h // 24, 0
    return BusinessDuration(days=w * weekdays + d, seconds=h * 3600 + mins * 60)


def _days(calendar: Calendar, start: datetime) -> Iterable[tuple[datetime, datetime]]:
    """The working windows from the day of `start` on (at most MAX_DAYS days)."""
    day = start.astimezone(calendar.tz).date()
    for offset in range(MAX_DAYS):
        window = calendar.window(day + timedelta(days=offset))
        if window is not None:
            yield window


def add_business(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The earliest instant at which `seconds` of business time have passed since `start` (UTC)."""
    start = start.astimezone(UTC)
    left = max(seconds, 0.0)
    for opens, closes in _days(calendar, start):
        begin = max(opens, start)
        if begin >= closes:
            continue
        available = (closes - begin).total_seconds()
        if left <= available:
            return begin + timedelta(seconds=left)
        left -= available
    raise ValueError("the calendar has no working time within three years")


def business_seconds(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Business seconds between two instants (0 when `end` is not after `start`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = 0.0
    if end <= start:
        return total
    for opens, closes in _days(calendar, start):
        if opens >= end:
            break
        overlap = (min(closes, end) - max(opens, start)).total_seconds()
        total += max(overlap, 0.0)
    return total


def run_clock(calendar: Calendar, start: datetime, budget: float,
              pauses: Iterable[tuple[datetime, datetime]]) -> datetime:
    """When `budget` business seconds have run from `start`, not counting the pauses (ordered by start)."""
    cursor, left = start.astimezone(UTC), budget
    for begin, end in pauses:
        if end <= cursor:
            continue
        ran = business_seconds(calendar, cursor, begin)
        if ran >= left:
            break
        left -= ran
        cursor = max(cursor, end.astimezone(UTC))
    return add_business(calendar, cursor, left)
