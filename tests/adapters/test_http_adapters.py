"""webhook, open311 and salesforce specifics against loopback peers: errors, limits, mapping, paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask import Flask
from werkzeug.wrappers import Request, Response

from open311.adapter import PermanentError, TemporaryError, load_adapter_class, validate_options
from open311.intake.keys import create_key
from open311_adapters.salesforce import SalesforceAdapter
from open311_adapters.upstream import UpstreamAdapter
from open311_adapters.webhook import WebhookAdapter
from tests.adapters.peers import GeoReportUpstream, SalesforceOrg, WebhookBackOffice, http_peer, json_response
from tests.adapters.test_email import TICKET
from tests.integration.live import serve

SECRET = "s3cret-s3cret-s3cret"
SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def webhook(url: str, **options: object) -> WebhookAdapter:
    return WebhookAdapter(validate_options(WebhookAdapter, {"url": url, "secret": SECRET, **options}),
                          http=requests.Session())


def salesforce(base: str) -> SalesforceAdapter:
    options = {"login_url": base, "client_id": "cid", "client_secret": "csecret", "external_id_field": "Open311_Id__c",
               "field_map": {"Open311_Service_Code__c": "service_code"}}
    return SalesforceAdapter(validate_options(SalesforceAdapter, options), http=requests.Session())


def scripted(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Callable[[Request], Response]:
    return lambda request: Response(body, status=status, headers=headers)


@pytest.mark.parametrize(("status", "headers", "error", "retry_after"), [
    (503, {"Retry-After": "120"}, TemporaryError, 120.0),
    (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, TemporaryError, 0.0),
    (502, None, TemporaryError, None),
    (400, None, PermanentError, None),
    (302, {"Location": "http://elsewhere.example/"}, PermanentError, None),
])
def test_webhook_statuses(status: int, headers: dict[str, str] | None, error: type[Exception],
                          retry_after: float | None) -> None:
    with http_peer(scripted(status, b"secret echo ada@example.org", headers)) as base, \
            pytest.raises(error) as raised:
        webhook(f"{base}/t").deliver(TICKET)
    assert "ada@example.org" not in str(raised.value)  # bodies never reach our messages (they may echo data)
    if isinstance(raised.value, TemporaryError):
        assert raised.value.retry_after == retry_after


def test_webhook_reply_size_is_capped_and_the_id_field_configurable() -> None:
    with http_peer(scripted(200, b"x" * 5000)) as base, pytest.raises(TemporaryError, match="larger than 1024"):
        webhook(f"{base}/t", max_response_bytes=1024).deliver(TICKET)
    with http_peer(lambda r: json_response({"case": {"n": 1}, "ticket_no": 77})) as base:
        assert webhook(f"{base}/t", id_field="ticket_no").deliver(TICKET).external_id == "77"
        assert webhook(f"{base}/t").deliver(TICKET).external_id == "lacounty.gov:42"  # no id: the key


def test_webhook_signature_and_headers() -> None:
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        webhook(f"{base}/t", headers={"Authorization": "Bearer static"}).deliver(TICKET)
        wrong = WebhookBackOffice("another-secret-entirely")
    with http_peer(wrong) as base, pytest.raises(PermanentError, match="HTTP 401"):
        webhook(f"{base}/t").deliver(TICKET)
    assert office.bad_signatures == 0 and list(office.tickets) == ["lacounty.gov:42"]


def test_webhook_updates_follow_next_links_on_the_same_origin_only() -> None:
    pages = {"/u": {"updates": [{"update_id": "a", "external_id": "E1", "status": "OPEN",
                                 "updated_datetime": "2026-03-10T18:00:00Z"}, {"broken": True}], "next": "/u2"},
             "/u2": {"updates": [{"update_id": "b", "service_request_id": "42", "status": "CLOSED",
                                  "updated_datetime": "2026-03-10T19:00:00Z"}], "next": "http://evil.example/u3"}}
    with http_peer(lambda r: json_response(pages[r.path])) as base:
        updates = webhook(f"{base}/t", updates_url=f"{base}/u").fetch_updates(since=SINCE, external_ids=[])
        assert [next(updates).update_id, next(updates).update_id] == ["a", "b"]
        with pytest.raises(TemporaryError, match="another origin"):
            next(updates)


def test_open311_maps_service_codes_and_sends_attributes_the_specs_way() -> None:
    upstream = GeoReportUpstream()
    with http_peer(upstream) as base:
        options = {"endpoint": f"{base}/v2", "api_key": upstream.api_key, "jurisdiction_id": "city.example",
                   "service_codes": {"DPW-GRAFFITI": "GRAF-01"}}
        adapter = UpstreamAdapter(validate_options(UpstreamAdapter, options), http=requests.Session())
        assert adapter.deliver(TICKET).external_id == "9001"
        form = upstream.forms[0]
        assert (form["service_code"], form["jurisdiction_id"], form["attribute[colors][]"], form["email"]) == (
            ["GRAF-01"], ["city.example"], ["red", "blue"], ["ada@example.org"])
        unmapped = replace(TICKET, service_code="DPW-POTHOLE", service_request_id="9")
        adapter.deliver(unmapped)
        assert upstream.forms[1]["service_code"] == ["GRF"]  # no mapping: the backoffice_code
        with pytest.raises(PermanentError, match=r"HTTP 404 \(1 error\(s\), codes 404\)"):
            adapter.deliver(replace(TICKET, service_code="X", backoffice_code="UNKNOWN", service_request_id="8"))
        bad_key = UpstreamAdapter(validate_options(UpstreamAdapter, {"endpoint": f"{base}/v2", "api_key": "no"}),
                                  http=requests.Session())
        with pytest.raises(PermanentError, match="HTTP 403"):
            bad_key.deliver(TICKET)


def test_open311_against_a_second_instance_of_our_own_gateway(make_app: Callable[..., Flask],
                                                              tmp_path: Path) -> None:
    upstream_app = make_app(OPEN311_DATABASE_URL=f"sqlite:///{tmp_path / 'upstream.sqlite3'}")
    gateway = upstream_app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "county gateway", gateway.clock())
    ticket = replace(TICKET, attributes={"surface_type": "wall", "property_type": "public"}, backoffice_code=None)
    with serve(upstream_app) as base:
        adapter = UpstreamAdapter(validate_options(UpstreamAdapter, {"endpoint": base, "api_key": key}),
                                  http=requests.Session())
        receipt = adapter.deliver(ticket)
        (update,) = adapter.fetch_updates(since=SINCE, external_ids=[receipt.external_id])
    assert (update.external_id, update.status) == (receipt.external_id, "open")
    assert update.updated_datetime == gateway.clock()


def test_salesforce_errors_follow_the_published_shapes() -> None:
    org = SalesforceOrg()
    with http_peer(org) as base:
        org.base = base
        adapter = salesforce(base)
        org.fail_next = [503]
        with pytest.raises(TemporaryError) as unavailable:
            adapter.deliver(TICKET)
        assert unavailable.value.retry_after == 7 and "SERVER_UNAVAILABLE" in str(unavailable.value)
        org.fail_next = [429]
        with pytest.raises(TemporaryError):
            adapter.deliver(TICKET)
        created = adapter.deliver(TICKET)
        org.expire_tokens()
        updated = adapter.deliver(TICKET)   # 401 -> new token; 204 -> Id read back
        assert created.external_id == updated.external_id == org.cases["42"]["Id"]
        assert org.logins == 2 and org.cases["42"]["Open311_Service_Code__c"] == "DPW-GRAFFITI"
        assert org.cases["42"]["SuppliedEmail"] == "ada@example.org"
        org.unknown_fields = {"Open311_Service_Code__c"}
        with pytest.raises(PermanentError, match=r"HTTP 400 \(INVALID_FIELD\)"):
            adapter.deliver(replace(TICKET, service_request_id="7"))
        wrong = SalesforceAdapter(validate_options(SalesforceAdapter, {"login_url": base, "client_id": "cid",
                                                                       "client_secret": "nope"}),
                                  http=requests.Session())
        with pytest.raises(PermanentError, match="invalid_client"):
            wrong.deliver(TICKET)


def test_salesforce_query_pages_through_next_records_url() -> None:
    org = SalesforceOrg()
    with http_peer(org) as base:
        org.base = base
        adapter = salesforce(base)
        for n in range(5):
            adapter.deliver(replace(TICKET, service_request_id=str(n)))
        updates = list(adapter.fetch_updates(since=SINCE, external_ids=[]))
    assert sorted(u.service_request_id or "" for u in updates) == ["0", "1", "2", "3", "4"]
    assert org.queries  # more than one page was read


def test_filedrop_replies_bad_files_are_rejected_good_ones_read_once(tmp_path: Path) -> None:
    cls = load_adapter_class("filedrop")
    adapter = cls(validate_options(cls, {"directory": str(tmp_path)}), http=requests.Session())
    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "bad.json").write_text("{not json")
    (replies / "many.json").write_text(json.dumps([
        {"external_id": "lacounty_gov_1", "status": "ASSIGNED", "updated_datetime": "2026-03-10T18:00:00Z"},
        {"service_request_id": 2, "status": "CLOSED", "updated_datetime": "2026-03-10T18:05:00Z",
         "update_id": "x-9", "description": "done"}]))
    first = list(adapter.fetch_updates(since=SINCE, external_ids=[]))
    assert [(u.update_id, u.external_id, u.service_request_id) for u in first] == [
        ("many#0", "lacounty_gov_1", None), ("x-9", None, "2")]
    assert list(adapter.fetch_updates(since=SINCE, external_ids=[])) == []
    assert sorted(p.name for p in replies.rglob("*.json")) == ["bad.json", "many.json"]
    assert (replies / "rejected" / "bad.json").exists() and (replies / "processed" / "many.json").exists()


