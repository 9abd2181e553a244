"""Operations routes: /healthz (no database), /readyz (database and schema), /metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import requests
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from open311.core import metrics
from open311.georeport.monitoring import expected_heads
from open311.services import Services
from open311.storage.models import OutboxMessage, ServiceRequest
from open311.storage.schema import upgrade
from tests.conftest import FIXED_NOW, Clock
from tests.helpers import GRAFFITI

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1


def samples(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by (name, sorted labels)."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(response.data.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_answers_without_the_database(make_app: Callable[..., Flask]) -> None:
    app = make_app(OPEN311_DATABASE_URL=NOWHERE, OPEN311_CREATE_SCHEMA=False)
    client = app.test_client()
    live = client.get("/healthz")
    assert live.status_code == 200 and live.json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "checks": {
        "database": "unreachable (OperationalError)", "schema": "unknown", "rate_limit_storage": "ok"}}
    assert b"127.0.0.1" not in ready.data  # never the database's address or the driver's message


def test_readyz_wants_the_schema_at_the_newest_migration(make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(OPEN311_CREATE_SCHEMA=False)
    client = app.test_client()
    empty = client.get("/readyz")
    assert empty.status_code == 503
    assert empty.json["checks"]["database"] == "ok"
    assert empty.json["checks"]["schema"].startswith("at empty, expected ")
    assert empty.json["checks"]["schema"].endswith(": run open311 db upgrade")
    gateway: Services = app.extensions["open311"]
    upgrade(gateway.engine)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ready"
    assert ready.json["checks"]["schema"] == ", ".join(expected_heads(gateway))


def test_readyz_reports_a_rate_limit_storage_that_is_down_without_failing(
        make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(OPEN311_CREATE_SCHEMA=False, OPEN311_RATELIMIT_STORAGE="redis://127.0.0.1:1/0")
    upgrade(app.extensions["open311"].engine)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["rate_limit_storage"] == "unreachable (counting in process memory)"


def test_requests_are_counted_by_route_and_status(app: Flask, api_key: str) -> None:
    client = app.test_client()
    route = ("route", "/open311/v2/requests.<fmt>")
    ok = ("http_requests_total", (("method", "POST"), route, ("status", "200")))
    bad = ("http_requests_total", (("method", "POST"), route, ("status", "400")))
    unmatched = ("http_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))
    before = samples(app)
    client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key})
    client.post("/open311/v2/requests.xml", data={**GRAFFITI, "api_key": api_key})
    client.post("/open311/v2/requests.xml", data={"api_key": api_key, "service_code": "DPW-GRAFFITI"})
    client.get("/open311/v2/secret-canary-path.json")
    after = samples(app)

    def delta(key: tuple[str, tuple[tuple[str, str], ...]]) -> float:
        return after[("open311_" + key[0], key[1])] - before.get(("open311_" + key[0], key[1]), 0.0)

    assert (delta(ok), delta(bad), delta(unmatched)) == (2, 1, 1)
    body = app.test_client().get("/metrics").data
    assert b"secret-canary" not in body  # paths never become labels


def test_outbox_depth_age_and_dead_letters_are_read_from_the_table(
        app: Flask, api_key: str, clock: Clock) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key}).status_code == 200
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session, session.begin():
        rows = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
        rows[0].created_at = FIXED_NOW - timedelta(minutes=10)
        rows[1].state, rows[1].department = "dead", "DPR"
        rows[2].state = "done"
        request = session.get(ServiceRequest, rows[0].request_id)
        assert request is not None
        session.add(OutboxMessage(request_id=request.id, department="DPH", state="pending", attempts=0,
                                  next_attempt_at=FIXED_NOW, created_at=FIXED_NOW - timedelta(seconds=90),
                                  updated_at=FIXED_NOW))
    clock.now = FIXED_NOW + timedelta(seconds=30)
    found = samples(app)
    gauges = ("open311_outbox_messages", "open311_outbox_dead_letters", "open311_outbox_oldest_age_seconds")
    outbox = {k: v for k, v in found.items() if k[0] in gauges}  # the delivery figures' own: test_delivery_figures
    assert outbox == {
        ("open311_outbox_messages", (("department", "DPW"), ("state", "pending"))): 1,
        ("open311_outbox_messages", (("department", "DPR"), ("state", "dead"))): 1,
        ("open311_outbox_messages", (("department", "DPH"), ("state", "pending"))): 1,
        ("open311_outbox_dead_letters", (("department", "DPR"),)): 1,
        ("open311_outbox_oldest_age_seconds", (("department", "DPW"),)): 630,
        ("open311_outbox_oldest_age_seconds", (("department", "DPH"),)): 120,
    }


def test_deliveries_and_syncs_reported_by_relays_are_exposed(app: Flask) -> None:
    department = "DPW-metrics-test"
    before = samples(app)
    metrics.record_delivery(department, 0.2, ok=True)
    metrics.record_delivery(department, 1.5, ok=False)
    metrics.record_delivery(department, 0.1, ok=False, permanent=True)
    metrics.record_sync(department, FIXED_NOW)
    after = samples(app)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted({"department": department, **labels}.items())))
        return after[key] - before.get(key, 0.0)

    assert delta("open311_deliveries_total", outcome="delivered") == 1
    assert delta("open311_deliveries_total", outcome="temporary_failure") == 1
    assert delta("open311_deliveries_total", outcome="permanent_failure") == 1
    assert delta("open311_delivery_duration_seconds_count") == 3
    assert round(delta("open311_delivery_duration_seconds_sum"), 6) == 1.8
    assert delta("open311_delivery_duration_seconds_bucket", le="0.25") == 2
    assert after[("open311_last_successful_sync_timestamp_seconds", (("department", department),))] == \
        FIXED_NOW.timestamp()


def test_monitoring_routes_are_in_the_openapi_document(app: Flask) -> None:
    paths = app.test_client().get("/openapi.json").json["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)


def test_a_relay_serves_its_metrics_on_its_own_port() -> None:
    server, thread = metrics.start_metrics_server(0)
    try:
        metrics.record_delivery("DPW-own-port-test", 0.3, ok=True)
        body = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert 'open311_deliveries_total{department="DPW-own-port-test",outcome="delivered"} 1.0' in body
