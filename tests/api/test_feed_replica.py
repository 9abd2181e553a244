"""A read replica for the feed (OPEN311_FEED_DATABASE_URL): GET requests reads it, everything else the primary."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from open311.storage.db import create_schema, make_engine, make_session_factory
from open311.storage.models import ServiceRequest
from open311.storage.schema import upgrade
from tests.conftest import FIXED_NOW
from tests.helpers import GRAFFITI, json_of


def test_the_feed_reads_the_replica_and_single_requests_the_primary(
        make_app: Callable[..., Flask], second_database_url: str, api_key_factory: Callable[[Flask], str]) -> None:
    replica = make_engine(second_database_url)
    create_schema(replica)
    app = make_app(OPEN311_FEED_DATABASE_URL=second_database_url)
    client = app.test_client()
    posted = client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": api_key_factory(app)})
    assert json_of(posted)[0]["service_request_id"] == "1"
    assert json_of(client.get("/open311/v2/requests.json")) == []  # not replicated yet: the feed lags
    assert json_of(client.get("/open311/v2/requests/1.json"))[0]["description"] == GRAFFITI["description"]
    with make_session_factory(replica)() as session, session.begin():  # replication catches up
        session.add(ServiceRequest(
            id=1, jurisdiction_id="lacounty.gov", service_code="DPW-GRAFFITI", service_name="Graffiti Abatement",
            department="DPW", status="open", description="as replicated", attributes={}, token="t1",
            requested_datetime=FIXED_NOW, updated_datetime=FIXED_NOW))
    assert [r["description"] for r in json_of(client.get("/open311/v2/requests.json"))] == ["as replicated"]
    replica.dispose()


def test_readiness_needs_the_replica_too(make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(OPEN311_FEED_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none",
                   OPEN311_CREATE_SCHEMA=False)
    upgrade(app.extensions["open311"].engine)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"] == "ok"
    assert ready.json["checks"]["feed_database"] == "unreachable (OperationalError)"
