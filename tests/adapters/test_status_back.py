"""A status change made in each kind of back office shows up in GET requests/{id} after a sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from open311.delivery.relay import Relay
from open311.delivery.sync import sync_all
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings
from tests.adapters.peers import GeoReportUpstream, SalesforceOrg, WebhookBackOffice, http_peer
from tests.conftest import FIXED_NOW, Clock
from tests.delivery import seed_requests, write_config

SECRET = "s3cret-s3cret-s3cret"
DELIVERY = DeliverySettings(max_attempts=5, backoff_base=0, backoff_cap=0, lease=60, batch=10, poll=0.01)
SYNC = SyncSettings(interval=1, overlap=600, lookback=86400)
LATER = FIXED_NOW + timedelta(minutes=30)
LATER_W3C = "2026-03-10T18:00:00Z"


def public(client: FlaskClient, request_id: int) -> dict[str, Any]:
    """The request as GET requests/{id}.json shows it."""
    response = client.get(f"/open311/v2/requests/{request_id}.json")
    assert response.status_code == 200, response.data
    record: dict[str, Any] = response.json[0]
    return record


def deliver_and_sync(app: Flask, clock: Clock, change: Callable[[], None]) -> None:
    """Deliver everything, let the back office change it, then pull once, an hour later."""
    gateway: Services = app.extensions["open311"]
    Relay(gateway, DELIVERY).run(once=True)
    change()
    clock.now = FIXED_NOW + timedelta(hours=1)
    results = sync_all(gateway, SYNC)
    assert all(r.error is None for r in results.values()), results


def test_webhook_pull(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock) -> None:
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        options = {"url": f"{base}/tickets", "secret": SECRET, "updates_url": f"{base}/updates"}
        app = make_app(write_config(tmp_path, {"DPW": {"adapter": "webhook", "options": options}}))
        (rid,) = seed_requests(app.extensions["open311"], 1)

        def close() -> None:
            office.updates.append({"update_id": "u-1", "external_id": office.tickets[f"lacounty.gov:{rid}"]["id"],
                                   "status": "COMPLETED", "updated_datetime": LATER_W3C,
                                   "description": "Graffiti painted over.\x07"})
        deliver_and_sync(app, clock, close)
    record = public(app.test_client(), rid)
    assert (record["status"], record["status_notes"], record["updated_datetime"]) == (
        "closed", "Graffiti painted over.", "2026-03-10T11:00:00-07:00")


def test_open311_upstream(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock) -> None:
    upstream = GeoReportUpstream()
    with http_peer(upstream) as base:
        options = {"endpoint": f"{base}/open311/v2", "api_key": upstream.api_key}
        status_map = {"open": "open", "closed": "closed"}
        app = make_app(write_config(tmp_path, {"DPR": {"adapter": "open311", "options": options,
                                                       "status_map": status_map}}))
        (rid,) = seed_requests(app.extensions["open311"], 1, "DPR")

        def close() -> None:
            (sid,) = upstream.requests
            upstream.requests[sid].update(status="closed", status_notes="Restroom cleaned",
                                          updated_datetime=LATER_W3C)
        deliver_and_sync(app, clock, close)
    record = public(app.test_client(), rid)
    assert (record["status"], record["status_notes"]) == ("closed", "Restroom cleaned")


def test_salesforce(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock) -> None:
    org = SalesforceOrg()
    with http_peer(org) as base:
        org.base = base
        options = {"login_url": base, "client_id": "cid", "client_secret": "csecret",
                   "external_id_field": "Open311_Id__c", "notes_field": "Status_Notes__c"}
        app = make_app(write_config(tmp_path, {"DPH": {"adapter": "salesforce", "options": options,
                                                       "status_map": {"New": "open", "Closed": "closed"}}}))
        (rid,) = seed_requests(app.extensions["open311"], 1, "DPH")

        def close() -> None:
            org.expire_tokens()  # the sync must log in again
            org.cases[str(rid)].update(Status="Closed", Status_Notes__c="Pool re-chlorinated",
                                       LastModifiedDate="2026-03-10T18:00:00.000+0000")
        deliver_and_sync(app, clock, close)
    record = public(app.test_client(), rid)
    assert (record["status"], record["status_notes"]) == ("closed", "Pool re-chlorinated")
    assert org.logins == 2


def test_filedrop_reply(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock) -> None:
    app = make_app(write_config(tmp_path))
    (rid,) = seed_requests(app.extensions["open311"], 1, "DRP")
    replies = tmp_path / "intake" / "DRP" / "replies"

    def close() -> None:
        replies.mkdir(parents=True)
        (replies / "r1.json").write_text(json.dumps({"service_request_id": str(rid), "status": "CLOSED",
                                                     "updated_datetime": LATER_W3C, "description": "Towed"}))
    deliver_and_sync(app, clock, close)
    record = public(app.test_client(), rid)
    assert (record["status"], record["status_notes"]) == ("closed", "Towed")
    assert not (replies / "r1.json").exists() and (replies / "processed" / "r1.json").exists()


def test_push_route(app: Flask, client: FlaskClient, gateway: Services, clock: Clock) -> None:
    (rid,) = seed_requests(gateway, 1, "DEO")
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "DEO case system", clock.now, department="DEO")
    clock.now = FIXED_NOW + timedelta(hours=1)
    response = client.post("/open311/v2/servicerequestupdates.xml", data={
        "api_key": key, "service_request_id": str(rid), "update_id": "deo-77", "status": "CLOSED",
        "updated_datetime": "2026-03-10T10:45:00-07:00", "description": "Vendor moved on"})
    assert response.status_code == 200, response.data
    record = public(client, rid)
    assert (record["status"], record["status_notes"], record["updated_datetime"]) == (
        "closed", "Vendor moved on", "2026-03-10T10:45:00-07:00")
