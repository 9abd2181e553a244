"""The delivery figures per department (queue, oldest, last success, p95, last day, dead letters) and /metrics.

Rows are seeded at known times and moved through the relay's own statements (claim_due, record_delivered_many,
record_failure) at known times, so every figure below is worked out by hand from the timeline in `seed_timeline`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from open311.adapter import Receipt
from open311.delivery.figures import DepartmentFigures, delivery_figures, nearest_rank
from open311.delivery.outbox import Claimed, claim_due, record_delivered_many, record_failure
from open311.services import Services
from open311.settings import DeliverySettings
from open311.storage.db import writing
from open311.storage.models import OutboxMessage
from tests.conftest import FIXED_NOW, Clock
from tests.delivery import seed_requests

T = FIXED_NOW                      # the moment the figures are read at
DAY = timedelta(days=1)
SETTINGS = DeliverySettings(lease=300, batch=50)
WORKER = "figures-test"
BATCH_AT = T - timedelta(hours=2)  # DPW's 20 tickets are accepted then, the i-th delivered i seconds later


def claim(gateway: Services, at: datetime, limit: int | None = None) -> list[Claimed]:
    """Lease what is due at `at`."""
    with gateway.session() as session, writing(session) as connection:
        return claim_due(connection, WORKER, SETTINGS, at, limit)


def deliver(gateway: Services, at: datetime, limit: int | None = None) -> int:
    """Claim what is due at `at` and record it delivered at `at`, as the relay does; return how many."""
    claimed = claim(gateway, at, limit)
    with gateway.session() as session, writing(session) as connection:
        done = record_delivered_many(connection, [(c, Receipt(f"EXT-{c.id}")) for c in claimed], WORKER, at)
    assert len(done) == len(claimed)
    return len(done)


def add_row(gateway: Services, request_id: int, kind: str, created: datetime) -> None:
    """An outbox row of another kind than the ticket, for DPW, pending since `created`."""
    with gateway.session() as session, session.begin():
        session.add(OutboxMessage(request_id=request_id, kind=kind, department="DPW", state="pending", attempts=0,
                                  next_attempt_at=created, created_at=created, updated_at=created))


def seed_timeline(gateway: Services) -> None:
    """Every row, in time order, each step finished before the next is seeded (a claim takes all that is due)."""
    seed_requests(gateway, 3, "DPW", now=T - 3 * DAY)                 # DPW: three tickets days ago, 1000 s each:
    assert deliver(gateway, T - 3 * DAY + timedelta(seconds=1000)) == 3   # outside the day, so not in the p95
    seed_requests(gateway, 1, "DPR", now=T - timedelta(hours=30))    # DPR: one ticket 30 h ago, in 7 s
    assert deliver(gateway, T - timedelta(hours=30, seconds=-7)) == 1
    seed_requests(gateway, 1, "DRP", now=T - DAY - timedelta(seconds=5))   # DRP: delivered exactly a day ago
    assert deliver(gateway, T - DAY) == 1                                   # (out of the window) ...
    seed_requests(gateway, 1, "DRP", now=T - DAY - timedelta(seconds=2))   # ... and a second after (in), in 3 s
    assert deliver(gateway, T - DAY + timedelta(seconds=1)) == 1
    ids = seed_requests(gateway, 20, "DPW", now=BATCH_AT)            # DPW: 20 tickets, the i-th in i seconds
    for i in range(1, 21):
        assert deliver(gateway, BATCH_AT + timedelta(seconds=i), limit=1) == 1
    add_row(gateway, ids[0], "sla", T - timedelta(seconds=5000))     # DPW: an SLA event delivered 10 s ago: not
    assert deliver(gateway, T - timedelta(seconds=10)) == 1           # a ticket (no p95, last success, count)
    seed_requests(gateway, 1, "DPH", now=T - timedelta(seconds=5000))   # DPH: one dead letter
    (doomed,) = claim(gateway, T - timedelta(seconds=4000))
    with gateway.session() as session, writing(session) as connection:
        assert record_failure(connection, doomed, WORKER, "refused", permanent=True, settings=SETTINGS,
                              now=T - timedelta(seconds=4000), rng=random.Random(1)) == "dead"
    seed_requests(gateway, 1, "DPW", now=T - timedelta(seconds=900))    # DPW: in flight since T - 100 s,
    assert len(claim(gateway, T - timedelta(seconds=100))) == 1         # accepted 900 s ago (the oldest)
    seed_requests(gateway, 1, "DPW", now=T - timedelta(seconds=600))    # DPW: two tickets pending
    seed_requests(gateway, 1, "DPW", now=T - timedelta(seconds=60))
    add_row(gateway, ids[1], "follower", T - timedelta(seconds=300))    # DPW: and a follower (the queue: every kind)


# By hand from seed_timeline. DPW's p95: nearest rank over the 20 delivery times 1..20 s: the ceil(0.95 * 20) =
# 19th smallest, 19 s (the three of three days ago and the SLA event are left out).
EXPECTED = [
    DepartmentFigures("DEO", 0, None, None, None, 0, 0, ()),     # named, no rows
    DepartmentFigures("DPH", 0, None, None, None, 0, 1, (("dead", 1),)),
    DepartmentFigures("DPR", 0, None, T - timedelta(hours=30, seconds=-7), None, 0, 0, ()),
    DepartmentFigures("DPW", 4, 900.0, BATCH_AT + timedelta(seconds=20), 19.0, 20, 0,
                      (("in_flight", 1), ("pending", 3))),
    DepartmentFigures("DRP", 0, None, T - DAY + timedelta(seconds=1), 3.0, 1, 0, ()),
]


def test_figures_per_department_from_rows_at_known_times(gateway: Services) -> None:
    seed_timeline(gateway)
    with gateway.session() as session:
        assert delivery_figures(session, T, ["DEO"]) == EXPECTED
    with gateway.engine.connect() as connection:   # a Connection reads in the caller's transaction
        assert delivery_figures(connection, T, ["DEO", "DPW"]) == EXPECTED
    with gateway.session() as session:
        assert [f.department for f in delivery_figures(session, T)] == ["DPH", "DPR", "DPW", "DRP"]


def test_the_window_moves_with_now(gateway: Services) -> None:
    seed_timeline(gateway)
    later = BATCH_AT + DAY + timedelta(seconds=10)   # DPW's tickets of 1..10 s were delivered a day ago or more
    with gateway.session() as session:
        dpw = {f.department: f for f in delivery_figures(session, later)}["DPW"]
    assert (dpw.delivered_last_day, dpw.p95_delivery_seconds) == (10, 20.0)   # 11..20 s: ceil(9.5) = 10th = 20
    assert dpw.oldest_undelivered_seconds == 900.0 + (later - T).total_seconds()   # the one in flight
    assert dpw.last_success == BATCH_AT + timedelta(seconds=20)


def test_an_empty_outbox_has_only_the_named_departments(gateway: Services) -> None:
    with gateway.session() as session:
        assert delivery_figures(session, T) == []
        assert delivery_figures(session, T, ["DPW", "DEO"]) == [
            DepartmentFigures("DEO", 0, None, None, None, 0, 0), DepartmentFigures("DPW", 0, None, None, None, 0, 0)]


def test_nearest_rank() -> None:
    assert nearest_rank([]) is None
    assert nearest_rank([4.0]) == 4.0
    assert nearest_rank([float(n) for n in range(20, 0, -1)]) == 19.0    # ceil(19.0): exact, no float rounding
    assert nearest_rank([float(n) for n in range(1, 101)]) == 95.0
    assert nearest_rank([float(n) for n in range(1, 22)]) == 20.0        # ceil(19.95) = 20
    assert nearest_rank([1.0, 2.0], 50) == 1.0


FAMILIES = ("open311_outbox_messages", "open311_outbox_dead_letters", "open311_outbox_oldest_age_seconds",
            "open311_outbox_last_delivered_timestamp_seconds", "open311_outbox_delivery_p95_seconds",
            "open311_outbox_delivered_last_day")


def outbox_samples(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The outbox gauges' samples of one scrape of /metrics, by (name, sorted labels)."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.data.decode()):
        for sample in family.samples:
            if sample.name in FAMILIES:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_show_the_figures_of_the_same_moment_in_two_statements(
        app: Flask, gateway: Services, clock: Clock) -> None:
    seed_timeline(gateway)
    clock.now = T
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(gateway.engine, "before_cursor_execute", count)
    try:
        found = outbox_samples(app)
    finally:
        event.remove(gateway.engine, "before_cursor_execute", count)
    assert len([s for s in statements if "outbox" in s]) == 2

    configured = sorted({code for j in gateway.config.jurisdictions.values() for code in j.departments})
    assert {"DPW", "DPR", "DPH", "DRP", "DEO"} <= set(configured)
    with gateway.session() as session:
        figures = delivery_figures(session, T, configured)
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for f in figures:
        labels = (("department", f.department),)
        for state, rows in f.unfinished_by_state:
            expected[("open311_outbox_messages", (("department", f.department), ("state", state)))] = rows
        if f.dead_letters:
            expected[("open311_outbox_dead_letters", labels)] = f.dead_letters
        if f.oldest_undelivered_seconds is not None:
            expected[("open311_outbox_oldest_age_seconds", labels)] = f.oldest_undelivered_seconds
        if f.last_success is not None:
            expected[("open311_outbox_last_delivered_timestamp_seconds", labels)] = f.last_success.timestamp()
        if f.p95_delivery_seconds is not None:
            expected[("open311_outbox_delivery_p95_seconds", labels)] = f.p95_delivery_seconds
        expected[("open311_outbox_delivered_last_day", labels)] = f.delivered_last_day
    assert found == expected
    dpw = (("department", "DPW"),)
    assert found[("open311_outbox_delivery_p95_seconds", dpw)] == 19.0
    assert found[("open311_outbox_delivered_last_day", dpw)] == 20
    assert found[("open311_outbox_last_delivered_timestamp_seconds", dpw)] == (BATCH_AT + timedelta(seconds=20)
                                                                                ).timestamp()
    assert found[("open311_outbox_oldest_age_seconds", dpw)] == 900.0
    assert found[("open311_outbox_dead_letters", (("department", "DPH"),))] == 1
    assert found[("open311_outbox_delivered_last_day", (("department", "DEO"),))] == 0
    assert ("open311_outbox_delivery_p95_seconds", (("department", "DPR"),)) not in found   # none in the day


def test_a_claim_locks_its_rows_in_a_cte_run_once(gateway: Services) -> None:
    """PostgreSQL: the rows to lease are chosen once (a CTE Scan), never by a subquery the planner may re-run for
    each outer row (each re-run skipped the rows already leased, so a claim of 1 leased 20)."""
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from open311.delivery.outbox import _claim_statement

    seed_requests(gateway, 20, "DPW", now=BATCH_AT)
    compiled = _claim_statement("postgresql").compile(dialect=gateway.engine.dialect)
    params = {**compiled.params, "b_now": T, "b_worker": WORKER, "b_lease_until": T, "b_limit": 1}
    with gateway.engine.connect() as connection:
        plan = [row[0] for row in connection.exec_driver_sql("EXPLAIN " + str(compiled), params).all()]
        connection.rollback()
    assert any("CTE Scan on claimable" in line for line in plan), plan
    assert deliver(gateway, T, limit=1) == 1
