"""Per-department delivery figures: what the operators' dashboard shows and /metrics exposes, read in one place.

Two statements per reading, whatever the outbox holds: the outbox grouped by department, state and kind (the
queue, the dead letters and the latest delivery), and the tickets delivered in the last day, each row's two
timestamps (the p95 is taken from them in Python: at most a day of rows, one code path on SQLite and PostgreSQL).

When a row was delivered: the outbox has no column of its own for it. A row's `updated_at` is written by every
transition; the last one of a done row is the done transition itself (outbox._DONE / record_delivered_many, at the
relay's clock when it recorded the outcome, after the back office answered), and no statement touches a done row
afterwards (outcomes need the row in flight, requeue_dead only takes dead rows). So the `updated_at` of a row in a
finished state is when it was delivered, and `updated_at - created_at` is its delivery time: from the request's
acceptance to its ticket's receipt, waiting, retries and backoff included (the back office's own answer time is
open311_delivery_duration_seconds, counted by the relays).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from open311.storage.db import reading
from open311.storage.models import OutboxMessage

# Outbox states that are finished (not part of the queue) and the dead-letter state; the relay owns them.
FINISHED_STATES = ("done", "delivered")
DEAD_STATE = "dead"
TICKET_KIND = "deliver"          # a request's own ticket (followers, reopens, SLA events, callbacks are other kinds)
WINDOW = timedelta(days=1)       # the p95 and the delivered count look this far back
PERCENTILE = 95

_O = OutboxMessage


@dataclass(frozen=True)
class DepartmentFigures:
    """One department's outbox at one moment: the queue (every kind) and its tickets' delivery (kind deliver)."""

    department: str
    queue_depth: int                          # rows pending or in flight, every kind
    oldest_undelivered_seconds: float | None  # age of the oldest of them (by created_at); None when there are none
    last_success: datetime | None             # when its latest ticket was delivered (ever)
    p95_delivery_seconds: float | None        # tickets delivered in the last day: 95th percentile of delivery time
    delivered_last_day: int                   # tickets delivered in the last day
    dead_letters: int                         # rows given up on, every kind
    unfinished_by_state: tuple[tuple[str, int], ...] = ()   # (state, rows) not finished, dead included, by state


def nearest_rank(values: Sequence[float], percentile: int = PERCENTILE) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percentile` % of the values at or below it
    (the ceil(p/100 * n)-th smallest; always one of the values, no interpolation); None when there are none."""
    if not values:
        return None
    rank = max((percentile * len(values) + 99) // 100, 1)   # ceil in integers: no float rounding at the edges
    return sorted(values)[rank - 1]


def delivery_figures(connection_or_session: Connection | Session, now: datetime,
                     departments: Sequence[str] = ()) -> list[DepartmentFigures]:
    """Figures of every department with outbox rows and of each one in `departments` (zeros and None when it has
    none), in department order, at `now` (aware).

    The p95 is the nearest-rank 95th percentile (nearest_rank) of `updated_at - created_at` over the tickets (kind
    deliver) whose delivery (`updated_at`, see the module docstring) falls in (now - 1 day, now]. A Connection reads
    in the caller's transaction; a Session reads in its own (storage.db.reading).
    """
    if isinstance(connection_or_session, Session):
        with reading(connection_or_session) as connection:
            return _read(connection, now, departments)
    return _read(connection_or_session, now, departments)


def _read(connection: Connection, now: datetime, departments: Sequence[str]) -> list[DepartmentFigures]:
    """The two statements, then the figures."""
    grouped = (select(_O.department, _O.state, _O.kind, func.count(), func.min(_O.created_at), func.max(_O.updated_at))
               .group_by(_O.department, _O.state, _O.kind))
    recent = (select(_O.department, _O.created_at, _O.updated_at)
              .where(_O.kind == TICKET_KIND, _O.state.in_(FINISHED_STATES), _O.updated_at > now - WINDOW,
                     _O.updated_at <= now))
    seen = set(departments)
    states: dict[str, dict[str, int]] = {}
    oldest: dict[str, datetime] = {}
    latest: dict[str, datetime] = {}
    for department, state, kind, count, first, last in connection.execute(grouped):
        seen.add(department)
        if state in FINISHED_STATES:
            if kind == TICKET_KIND and last is not None and (department not in latest or last > latest[department]):
                latest[department] = last
            continue
        by_state = states.setdefault(department, {})
        by_state[state] = by_state.get(state, 0) + int(count)
        if state != DEAD_STATE and first is not None and (department not in oldest or first < oldest[department]):
            oldest[department] = first
    took: dict[str, list[float]] = {}
    for department, created, delivered in connection.execute(recent):
        seen.add(department)
        took.setdefault(department, []).append(max((delivered - created).total_seconds(), 0.0))
    found = []
    for department in sorted(seen):
        by_state = states.get(department, {})
        since = oldest.get(department)
        found.append(DepartmentFigures(
            department=department,
            queue_depth=sum(n for state, n in by_state.items() if state != DEAD_STATE),
            oldest_undelivered_seconds=None if since is None else max((now - since).total_seconds(), 0.0),
            last_success=latest.get(department),
            p95_delivery_seconds=nearest_rank(took.get(department, [])),
            delivered_last_day=len(took.get(department, [])),
            dead_letters=by_state.get(DEAD_STATE, 0),
            unfinished_by_state=tuple(sorted(by_state.items()))))
    return found
