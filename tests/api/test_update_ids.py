"""GET servicerequestupdates shows each update under the back office's own update_id (the one its POST was
answered with, or its adapter read), beside the gateway's own number; the cursor still pages without gaps."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from open311.delivery.relay import Relay
from open311.delivery.sync import sync_all
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings
from tests.conftest import FIXED_NOW, Clock, shared_path
from tests.delivery import seed_requests, write_config
from tests.helpers import json_of, xml_of

URL = "/open311/v2/servicerequestupdates"
DELIVERY = DeliverySettings(max_attempts=5, backoff_base=0, backoff_cap=0, lease=60, batch=10, poll=0.01)
SYNC = SyncSettings(interval=1, overlap=600, lookback=86400)


def department_key(gateway: Services, department: str) -> str:
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", f"{department} back office", gateway.clock(),
                            department=department)
    return key


def push(client: FlaskClient, key: str, rid: int, update_id: str, minute: int, fmt: str = "json") -> Any:
    """A back office POSTs one update; returns the update_id it was answered with."""
    response = client.post(f"{URL}.{fmt}", data={
        "api_key": key, "service_request_id": str(rid), "update_id": update_id, "status": "COMPLETED",
        "updated_datetime": (FIXED_NOW + timedelta(minutes=minute)).isoformat(), "description": "Done"})
    assert response.status_code == 200, response.data
    if fmt == "xml":
        return xml_of(response).findtext("request_update/update_id")
    return json_of(response)[0]["update_id"]


def xml_feed(client: FlaskClient, query: str = "") -> list[dict[str, str | None]]:
    """The XML feed's entries as {field: text}."""
    root = xml_of(client.get(f"{URL}.xml{query}"))
    assert root.tag == "service_request_updates"
    return [{child.tag: child.text for child in entry} for entry in root.findall("request_update")]


@pytest.fixture(autouse=True)
def _later(clock: Clock) -> None:
    clock.now = FIXED_NOW + timedelta(hours=2)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_feed_lists_a_pushed_update_under_the_back_offices_update_id(
        client: FlaskClient, gateway: Services, fmt: str) -> None:
    (rid,) = seed_requests(gateway, 1, "DPW", now=FIXED_NOW)
    answered = push(client, department_key(gateway, "DPW"), rid, "BO-77", 30, fmt)
    assert answered == "BO-77"
    (entry,) = json_of(client.get(f"{URL}.json"))
    assert entry["update_id"] == answered == "BO-77" and entry["service_request_id"] == str(rid)
    (xml_entry,) = xml_feed(client, f"?service_request_id={rid}")
    assert xml_entry["update_id"] == "BO-77" and xml_entry["service_request_id"] == str(rid)
    # The gateway's own number is kept beside it, the same in both formats, and is not the back office's id.
    assert entry["gateway_update_id"] == xml_entry["gateway_update_id"]
    assert entry["gateway_update_id"].isdigit() and entry["gateway_update_id"] != entry["update_id"]
    assert next(iter(entry)) == "update_id" and list(entry)[-1] == "gateway_update_id"  # mySociety's fields first


def test_a_fixmystreet_style_consumer_recognises_its_own_updates(client: FlaskClient, gateway: Services) -> None:
    """FixMyStreet stores the update_id it sent with each comment and skips a feed entry it already has."""
    rids = seed_requests(gateway, 2, "DPW", now=FIXED_NOW)
    key = department_key(gateway, "DPW")
    sent = {(str(rid), push(client, key, rid, f"BO-{n}", 10 + n)) for n, rid in enumerate(rids)}
    listed = {(e["service_request_id"], e["update_id"]) for e in xml_feed(client)}
    assert listed == sent  # every entry is one it already has: nothing would be imported twice


def test_pulled_updates_keep_the_adapters_stable_update_id(make_app: Callable[..., Flask], tmp_path: Path,
                                                           clock: Clock) -> None:
    app = make_app(write_config(tmp_path))
    gateway: Services = app.extensions["open311"]
    first, second = seed_requests(gateway, 2, "DRP")
    Relay(gateway, DELIVERY).run(once=True)
    replies = tmp_path / "intake" / "DRP" / "replies"
    replies.mkdir(parents=True)
    when = (FIXED_NOW + timedelta(minutes=30)).isoformat()
    (replies / "towed.json").write_text(json.dumps({"service_request_id": str(first), "status": "CLOSED",
                                                    "updated_datetime": when}))  # no update_id: the file's name
    (replies / "r2.json").write_text(json.dumps({"service_request_id": str(second), "status": "CLOSED",
                                                 "update_id": "DRP-5", "updated_datetime": when}))
    clock.now = FIXED_NOW + timedelta(hours=1)
    assert all(r.error is None for r in sync_all(gateway, SYNC).values())
    client = app.test_client()
    feed = json_of(client.get(f"{URL}.json"))
    assert sorted((e["service_request_id"], e["update_id"]) for e in feed) == sorted(
        [(str(first), "towed"), (str(second), "DRP-5")])
    # A later pull of the same window stores nothing new, and the ids read the same every time.
    clock.now += timedelta(hours=1)
    assert all(r.error is None for r in sync_all(gateway, SYNC).values())
    assert json_of(client.get(f"{URL}.json")) == feed
    assert [e["update_id"] for e in xml_feed(client)] == [e["update_id"] for e in feed]


def test_cursor_paging_is_still_gap_free_with_back_office_ids(client: FlaskClient, gateway: Services) -> None:
    (dpw,) = seed_requests(gateway, 1, "DPW", now=FIXED_NOW)
    (deo,) = seed_requests(gateway, 1, "DEO", now=FIXED_NOW)
    keys = {"DPW": department_key(gateway, "DPW"), "DEO": department_key(gateway, "DEO")}
    # Two departments may use the same id (unique per department): both entries are listed, in commit order.
    sent = [push(client, keys["DPW"], dpw, "7", 5), push(client, keys["DEO"], deo, "7", 6)]
    sent += [push(client, keys["DPW"], dpw, f"wo-{n}", 1 + n % 3) for n in range(5)]  # dated out of order
    seen: list[dict[str, Any]] = []
    url = f"{URL}.json?page_size=2"
    for _ in range(6):  # 2 + 2 + 2 + 1, then empty pages that keep the cursor
        response = client.get(url)
        seen += json_of(response)
        url = f"{URL}.json?page_size=2&after={response.headers['X-Next-Cursor']}"
    assert [e["update_id"] for e in seen] == sent
    numbers = [int(e["gateway_update_id"]) for e in seen]
    assert numbers == sorted(set(numbers))  # each once, in the cursor's order
    assert [(e["service_request_id"], e["update_id"]) for e in seen[:2]] == [(str(dpw), "7"), (str(deo), "7")]
    late = push(client, keys["DEO"], deo, "late", 0)
    assert [e["update_id"] for e in json_of(client.get(url))] == [late]


def test_the_entry_has_the_fields_of_mysocietys_sample_plus_gateway_update_id(client: FlaskClient,
                                                                               gateway: Services) -> None:
    sample = etree.parse(str(shared_path("samples", "mysociety_adapter_servicerequestupdates.xml"))).getroot()
    expected = {child.tag for child in sample.find("request_update")}
    (rid,) = seed_requests(gateway, 1, "DPW", now=FIXED_NOW)
    push(client, department_key(gateway, "DPW"), rid, "2001_3", 30)
    (entry,) = xml_feed(client)
    assert set(entry) == expected | {"gateway_update_id"} and entry["update_id"] == "2001_3"
