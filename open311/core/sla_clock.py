"""An SLA clock read from a request's status history: when it runs out, when its last fifth begins, its state.

Pure functions (no database): open311.feeds.sla stores what they compute on every status change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from open311.core.business_time import Calendar, business_seconds, parse_business_duration, run_clock

SLA_STATES = ("on_track", "at_risk", "breached", "met", "missed")
AT_RISK_SHARE = 0.8          # at_risk: the last fifth of the clock


@dataclass(frozen=True)
class Step:
    """One applied status change: when, the public status, and whether its back-office status pauses the clock."""

    at: datetime
    status: str
    paused: bool = False


@dataclass(frozen=True)
class ClockState:
    """What is stored of a clock: due (expected_datetime), at-risk instant, pause start, met/missed."""

    expected: datetime
    risk_at: datetime
    paused_at: datetime | None
    final: str | None


def clock_of(calendar: Calendar, duration: str, requested: datetime, steps: Sequence[Step],
             now: datetime) -> ClockState:
    """The clock of a request made at `requested` with these status changes (in order), as of `now`.

    The clock starts at `requested`, restarts in full at a reopen (closed -> open), stops at a close and
    does not run while a paused status holds (an ongoing pause is counted up to `now`).
    """
    budget = parse_business_duration(duration, len(calendar.weekdays)).total_seconds(calendar)
    start, status, closed_at = requested, "open", None
    pauses: list[tuple[datetime, datetime]] = []
    paused_since: datetime | None = None
    for step in steps:
        if status == "closed" and step.status == "open":      # a reopen: a new clock
            start, pauses, closed_at = step.at, [], None
        if paused_since is not None and not (step.status == "open" and step.paused):
            pauses.append((paused_since, step.at))
            paused_since = None
        if step.status == "open" and step.paused and paused_since is None:
            paused_since = step.at
        if step.status == "closed" and status != "closed":
            closed_at = step.at
        status = step.status
    held = [*pauses, (paused_since, max(now, paused_since))] if paused_since is not None else pauses
    expected = run_clock(calendar, start, budget, held)
    risk_at = run_clock(calendar, start, budget * AT_RISK_SHARE, held)
    final = None if closed_at is None else ("met" if closed_at <= expected else "missed")
    return ClockState(expected, risk_at, paused_since, final)


def state_of(clock: ClockState, now: datetime) -> str:
    """on_track, at_risk or breached while open (a paused clock as it stood when the pause began); met/missed."""
    if clock.final is not None:
        return clock.final
    at = clock.paused_at or now
    if at >= clock.expected:
        return "breached"
    return "at_risk" if at >= clock.risk_at else "on_track"


__all__ = ["SLA_STATES", "ClockState", "Step", "business_seconds", "clock_of", "state_of"]
