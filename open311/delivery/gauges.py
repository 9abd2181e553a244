"""The outbox's gauges, read from the outbox table when /metrics is scraped (no process counts them).

They are the operators' delivery figures (open311.delivery.figures) of the scrape's moment, so the dashboard and
/metrics always agree: two statements per scrape, however many departments and rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from open311.delivery.figures import delivery_figures

if TYPE_CHECKING:
    from open311.services import Services


class OutboxCollector(Collector):
    """Outbox depth, oldest age, dead letters and the tickets' delivery per department, read at scrape time."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], departments: Sequence[str] = ()) -> None:
        self.engine = engine
        self.clock = clock
        self.departments = tuple(departments)   # shown even with no rows (delivered_last_day 0)

    @classmethod
    def for_gateway(cls, gateway: Services) -> OutboxCollector:
        """The collector of a gateway's database, clock and configured departments."""
        codes = {code for jurisdiction in gateway.config.jurisdictions.values() for code in jurisdiction.departments}
        return cls(gateway.engine, gateway.clock, sorted(codes))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The delivery figures of now, one sample per department (the outbox messages' per state)."""
        depth = GaugeMetricFamily("open311_outbox_messages", "Outbox messages not yet delivered, by department "
                                  "and state (the dead state holds dead letters).", labels=["department", "state"])
        dead = GaugeMetricFamily("open311_outbox_dead_letters", "Outbox messages given up on (dead letters), "
                                 "waiting for an operator.", labels=["department"])
        age = GaugeMetricFamily("open311_outbox_oldest_age_seconds", "Age of the oldest outbox message still to "
                                "deliver, by department (0 when none).", labels=["department"])
        last = GaugeMetricFamily("open311_outbox_last_delivered_timestamp_seconds", "When the department's latest "
                                 "ticket was delivered (Unix time; absent before its first).", labels=["department"])
        p95 = GaugeMetricFamily("open311_outbox_delivery_p95_seconds", "95th percentile (nearest rank) of the time "
                                "from acceptance to delivery of the tickets delivered in the last 24 hours (absent "
                                "when none).", labels=["department"])
        day = GaugeMetricFamily("open311_outbox_delivered_last_day", "Tickets delivered to the department in the "
                                "last 24 hours.", labels=["department"])
        with self.engine.connect() as connection:
            figures = delivery_figures(connection, self.clock(), self.departments)
        for f in figures:
            labels = [f.department]
            for state, count in f.unfinished_by_state:
                depth.add_metric([f.department, state], count)
            if f.dead_letters:
                dead.add_metric(labels, f.dead_letters)
            if f.oldest_undelivered_seconds is not None:
                age.add_metric(labels, f.oldest_undelivered_seconds)
            if f.last_success is not None:
                last.add_metric(labels, f.last_success.timestamp())
            if f.p95_delivery_seconds is not None:
                p95.add_metric(labels, f.p95_delivery_seconds)
            day.add_metric(labels, f.delivered_last_day)
        yield from (depth, dead, age, last, p95, day)
