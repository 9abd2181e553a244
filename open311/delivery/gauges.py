"""The outbox's gauges, read from the outbox table when /metrics is scraped (no process counts them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from open311.storage.models import OutboxMessage

# Outbox states that are finished (not part of the depth) and the dead-letter state; the relay owns them.
FINISHED_STATES = ("done", "delivered")
DEAD_STATE = "dead"


class OutboxCollector(Collector):
    """Outbox depth, oldest age and dead letters per department, read from the outbox table at scrape time."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One query: non-finished rows grouped by department and state."""
        depth = GaugeMetricFamily("open311_outbox_messages", "Outbox messages not yet delivered, by department "
                                  "and state (the dead state holds dead letters).", labels=["department", "state"])
        dead = GaugeMetricFamily("open311_outbox_dead_letters", "Outbox messages given up on (dead letters), "
                                 "waiting for an operator.", labels=["department"])
        age = GaugeMetricFamily("open311_outbox_oldest_age_seconds", "Age of the oldest outbox message still to "
                                "deliver, by department (0 when none).", labels=["department"])
        query = (select(OutboxMessage.department, OutboxMessage.state, func.count(), func.min(OutboxMessage.created_at))
                 .where(OutboxMessage.state.not_in(FINISHED_STATES))
                 .group_by(OutboxMessage.department, OutboxMessage.state))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        now = self.clock()
        oldest: dict[str, float] = {}
        for department, state, count, first in rows:
            depth.add_metric([department, state], count)
            if state == DEAD_STATE:
                dead.add_metric([department], count)
            elif first is not None:
                waited = max((now - first).total_seconds(), 0.0)
                oldest[department] = max(oldest.get(department, 0.0), waited)
        for department, seconds in sorted(oldest.items()):
            age.add_metric([department], seconds)
        yield from (depth, dead, age)
