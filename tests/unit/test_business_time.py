"""Business-time arithmetic and the SLA clock: tables worked out by hand, properties, the County's holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from open311.config.jurisdictions import load_config
from open311.core.business_time import add_business, business_seconds, parse_business_duration
from open311.core.sla_clock import Step, clock_of, state_of
from tests.conftest import ROOT

LA = ZoneInfo("America/Los_Angeles")
CALENDAR = load_config(ROOT / "jurisdictions.yaml").jurisdictions["lacounty.gov"].calendar
assert CALENDAR is not None
HOUR = 3600


def la(*args: int) -> datetime:
    """A Los Angeles wall-clock time."""
    return datetime(*args, tzinfo=LA)


@pytest.mark.parametrize(("start", "duration", "due"), [
    (la(2026, 3, 10, 10, 30), "P2D", la(2026, 3, 12, 10, 30)),        # Tuesday -> Thursday
    (la(2026, 3, 13, 15, 0), "P2D", la(2026, 3, 17, 15, 0)),          # Friday over the weekend -> Tuesday
    (la(2026, 3, 14, 9, 0), "P1D", la(2026, 3, 16, 17, 0)),           # Saturday: the clock starts Monday 08:00
    (la(2026, 3, 30, 16, 0), "PT2H", la(2026, 4, 1, 9, 0)),           # Cesar Chavez Day (Tue 31 March) skipped
    (la(2026, 11, 25, 12, 0), "P1D", la(2026, 11, 30, 12, 0)),        # Thanksgiving + day after + weekend
    (la(2026, 7, 2, 12, 0), "PT48H", la(2026, 7, 7, 12, 0)),          # 3 July observed (4 July a Saturday)
    (la(2026, 3, 10, 10, 30), "PT4H", la(2026, 3, 10, 14, 30)),
    (la(2026, 3, 10, 16, 0), "PT8H", la(2026, 3, 11, 15, 0)),
    (la(2026, 3, 6, 12, 0), "P1W", la(2026, 3, 13, 12, 0)),           # a week of working days
    (la(2026, 3, 6, 12, 0), "P2D", la(2026, 3, 10, 12, 0)),           # over the DST change (8 March)
])
def test_due_dates(start: datetime, duration: str, due: datetime) -> None:
    seconds = parse_business_duration(duration).total_seconds(CALENDAR)
    assert add_business(CALENDAR, start, seconds) == due.astimezone(UTC)
    assert clock_of(CALENDAR, duration, start, (), start).expected == due.astimezone(UTC)


def test_business_seconds_over_a_weekend_and_holiday() -> None:
    # Friday 27 March 16:00 -> Wednesday 1 April 10:00: 1 h Fri + 9 h Mon + (Tue a holiday) + 2 h Wed
    assert business_seconds(CALENDAR, la(2026, 3, 27, 16), la(2026, 4, 1, 10)) == 12 * HOUR


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))  # stored: whole seconds


@settings(max_examples=300, deadline=None)
@given(instants, st.integers(min_value=1, max_value=40 * 9 * HOUR))
def test_adding_then_measuring_gives_back_the_time(start: datetime, seconds: int) -> None:
    due = add_business(CALENDAR, start, seconds)
    assert due > start
    assert business_seconds(CALENDAR, start, due) == seconds
    # the earliest such instant: a moment before, less business time had passed
    assert business_seconds(CALENDAR, start, due - timedelta(seconds=1)) == seconds - 1
    local = due.astimezone(LA)
    assert CALENDAR.is_working_day(local.date()) and 8 <= local.hour + local.minute / 60 <= 17


@settings(max_examples=200, deadline=None)
@given(instants, instants, instants)
def test_measuring_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert business_seconds(CALENDAR, a, c) == business_seconds(CALENDAR, a, b) + business_seconds(CALENDAR, b, c)


def test_pauses_extend_the_clock_by_their_business_time() -> None:
    # P2D made Friday 13 March 15:00; WAITING_ON_RESIDENT from Monday 10:00 to Tuesday 10:00 (9 business hours)
    start = la(2026, 3, 13, 15)
    steps = [Step(la(2026, 3, 16, 10), "open", paused=True), Step(la(2026, 3, 17, 10), "open")]
    clock = clock_of(CALENDAR, "P2D", start, steps, la(2026, 3, 17, 11))
    assert clock.expected == la(2026, 3, 18, 15).astimezone(UTC)      # Tuesday 15:00 + 9 h
    assert clock.paused_at is None and clock.final is None
    # the last fifth of 18 h is 3.6 h: at risk from Wednesday 11:24
    assert clock.risk_at == la(2026, 3, 18, 11, 24).astimezone(UTC)
    assert state_of(clock, la(2026, 3, 18, 11).astimezone(UTC)) == "on_track"
    assert state_of(clock, la(2026, 3, 18, 12).astimezone(UTC)) == "at_risk"
    assert state_of(clock, la(2026, 3, 18, 16).astimezone(UTC)) == "breached"


def test_an_ongoing_pause_holds_the_state() -> None:
    start = la(2026, 3, 10, 9)
    steps = [Step(la(2026, 3, 11, 16), "open", paused=True)]   # 16 of 18 h used: at risk, then paused
    clock = clock_of(CALENDAR, "P2D", start, steps, la(2026, 3, 20, 9))
    assert clock.paused_at == la(2026, 3, 11, 16).astimezone(UTC)
    assert state_of(clock, la(2026, 4, 30, 9).astimezone(UTC)) == "at_risk"   # weeks later, still held


def test_closing_on_time_and_late() -> None:
    start = la(2026, 3, 10, 9)
    met = clock_of(CALENDAR, "P2D", start, [Step(la(2026, 3, 12, 8, 59), "closed")], la(2026, 3, 20))
    missed = clock_of(CALENDAR, "P2D", start, [Step(la(2026, 3, 12, 9, 1), "closed")], la(2026, 3, 20))
    assert (met.final, missed.final) == ("met", "missed")


def test_a_reopen_restarts_the_clock() -> None:
    start = la(2026, 3, 10, 9)
    steps = [Step(la(2026, 3, 11, 9), "closed"), Step(la(2026, 3, 16, 14), "open")]   # reopened Monday 14:00
    clock = clock_of(CALENDAR, "P2D", start, steps, la(2026, 3, 16, 15))
    assert clock.final is None
    assert clock.expected == la(2026, 3, 18, 14).astimezone(UTC)


def test_county_holidays_agree_with_the_holidays_library() -> None:
    """Independent check: the `holidays` package's California and federal rules, observed Sat -> Fri, Sun -> Mon.

    The County observes Indigenous Peoples' Day (the federal Columbus Day date) and not the State's other days.
    """
    holidays = pytest.importorskip("holidays")
    state = holidays.US(subdiv="CA", years=[2026, 2027], observed=True)
    federal = holidays.US(years=[2026, 2027], observed=True)
    not_county = ("Susan B. Anthony", "Diwali")
    expected = {d for d, names in state.items() if d.weekday() < 5
                and not all(any(n in name for n in not_county) for name in names.split("; "))}
    expected |= {d for d, name in federal.items() if "Columbus" in name}
    assert CALENDAR.holidays == frozenset(expected)
    assert date(2027, 12, 31) in CALENDAR.holidays        # New Year's Day 2028 falls on a Saturday
