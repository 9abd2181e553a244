"""Issue 17 end to end with real back offices on loopback: a resident's reopen reaches the department once, after
the ticket, through webhook, e-mail, an open311 upstream (a second instance of this gateway) and Salesforce, with
its photo where the department takes photos; closure codes pulled from an open311 upstream and from Salesforce."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.wrappers import Request, Response

from open311.delivery.relay import Relay
from open311.delivery.sync import sync_all
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings, SyncSettings
from open311.storage.models import OutboxMessage, RequestReopen, StatusUpdate
from tests.adapters.peers import GeoReportUpstream, SalesforceOrg, WebhookBackOffice, http_peer
from tests.adapters.test_email import Inbox
from tests.adapters.test_photo_delivery import smtp  # noqa: F401 - fixture
from tests.conftest import Clock
from tests.delivery import write_config
from tests.helpers import GRAFFITI, json_of
from tests.images import assert_clean, jpeg_with_gps
from tests.integration.live import serve

SETTINGS = DeliverySettings(max_attempts=3, backoff_base=10, backoff_cap=100, lease=60, batch=5, poll=0.01)
SYNC = SyncSettings(interval=1, overlap=600, lookback=86400)
SECRET = "s3cret-s3cret-s3cret"
NOT_FIXED = "The tag is back on the library wall"
SUBMITTER = "submitter@example.org"


@dataclass
class Gateway:
    """Our gateway with DPW on the adapter under test; the clock is the test's."""

    app: Flask
    client: FlaskClient
    services: Services
    clock: Clock
    key: str

    def relay(self) -> int:
        return Relay(self.services, SETTINGS, rng=random.Random(7)).run(once=True)

    def sync(self) -> None:
        self.clock.now += timedelta(minutes=2)
        sync_all(self.services, SYNC)

    def submit(self) -> str:
        reply = self.client.post("/open311/v2/requests.json", data={**GRAFFITI, "api_key": self.key,
                                                                   "email": SUBMITTER, "first_name": "Ada"})
        assert reply.status_code == 200, reply.data
        return str(json_of(reply)[0]["service_request_id"])

    def close(self, rid: str, status: str = "COMPLETED") -> None:
        """The department's clerk closes the request through POST servicerequestupdates."""
        with self.services.session() as session:
            _, dpw = create_key(session, "lacounty.gov", "DPW clerk", self.clock(), department="DPW")
        self.clock.now += timedelta(minutes=2)
        reply = self.client.post("/open311/v2/servicerequestupdates.json", data={
            "api_key": dpw, "service_request_id": rid, "update_id": f"close-{rid}", "status": status,
            "updated_datetime": (self.clock() - timedelta(minutes=1)).isoformat(), "description": "Painted over"})
        assert reply.status_code == 200, reply.data

    def reopen(self, rid: str, photo: bytes | None = None) -> str:
        data: dict[str, Any] = {"api_key": self.key, "description": NOT_FIXED}
        if photo is not None:
            data["media"] = (io.BytesIO(photo), "still-there.jpg", "image/jpeg")
        reply = self.client.post(f"/open311/v2/requests/{rid}/reopen.json", data=data)
        assert reply.status_code == 200, reply.data
        return str(json_of(reply)[0]["reopen_id"])

    def extended(self, rid: str) -> dict[str, Any]:
        return dict(json_of(self.client.get(f"/open311/v2/requests/{rid}.json?extensions=true"))[0])

    def feed_codes(self, rid: str) -> list[tuple[str, str | None]]:
        updates = json_of(self.client.get("/open311/v2/servicerequestupdates.json?extensions=true"))
        return [(u["status"], u.get("closure_code")) for u in updates if u["service_request_id"] == rid]

    def stored_reopen_photo(self, rid: str) -> bytes:
        """The processed copy of the reopen's photo in the media store (what a department must receive)."""
        with self.services.session() as session, session.begin():
            (reopen,) = session.scalars(select(RequestReopen).where(RequestReopen.request_id == int(rid)))
            (item,) = reopen.photos["items"]
        (path,) = (Path(self.app.config["OPEN311_MEDIA_DIR"])).rglob(item["name"].rsplit("/", 1)[-1])
        return path.read_bytes()


@pytest.fixture
def gateway_for(make_app: Callable[..., Flask], tmp_path: Path, clock: Clock,
                api_key_factory: Callable[[Flask], str]) -> Callable[..., Gateway]:
    def build(adapter: str, options: dict[str, Any], status_map: dict[str, Any] | None = None) -> Gateway:
        dpw: dict[str, Any] = {"adapter": adapter, "options": options}
        if status_map is not None:
            dpw["status_map"] = status_map
        app = make_app(write_config(tmp_path, {"DPW": dpw}))
        return Gateway(app, app.test_client(), app.extensions["open311"], clock, api_key_factory(app))

    return build


def closed_then_reopened(gw: Gateway, photo: bytes | None = None) -> tuple[str, str]:
    """A request closed and reopened before anything was delivered: the relay must send the ticket first."""
    rid = gw.submit()
    gw.close(rid)
    return rid, gw.reopen(rid, photo)


# --- reopen through each adapter --------------------------------------------------------------------------------

class RecordingBackOffice(WebhookBackOffice):
    """The webhook back office, also keeping each POST's path and key in arrival order."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.arrivals: list[tuple[str, str]] = []

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and self.verify(request, request.get_data()):
            with self.lock:
                self.arrivals.append((request.path, request.headers["Idempotency-Key"]))
        return super().__call__(request)


@pytest.mark.parametrize("additions_path", [None, "/additions"])
def test_webhook_gets_one_signed_reopen_after_the_ticket(gateway_for: Callable[..., Gateway],
                                                         additions_path: str | None) -> None:
    office = RecordingBackOffice(SECRET)
    with http_peer(office) as base:
        options = {"url": f"{base}/tickets", "secret": SECRET,
                   **({"additions_url": base + additions_path} if additions_path else {})}
        gw = gateway_for("webhook", options)
        rid, reopen_id = closed_then_reopened(gw, jpeg_with_gps())
        assert gw.relay() == 2 and gw.relay() == 0
    ticket_key, reopen_key = f"lacounty.gov:{rid}", f"lacounty.gov:{rid}:reopen:{reopen_id}"
    assert office.arrivals == [("/tickets", ticket_key), (additions_path or "/tickets", reopen_key)]
    assert office.bad_signatures == 0 and office.posts[reopen_key] == 1
    told = office.tickets[reopen_key]["addition"]
    assert (told["kind"], told["reopen_id"], told["service_request_id"]) == ("reopen", reopen_id, rid)
    assert told["external_id"] == office.tickets[ticket_key]["id"]   # the back office's own ticket id
    assert (told["description"], told["contact"]["email"]) == (NOT_FIXED, SUBMITTER)
    # a webhook takes photos as descriptions; this one describes exactly the processed copy stored
    stored = gw.stored_reopen_photo(rid)
    (photo,) = told["photos"]
    assert (photo["sha256"], photo["size"], photo["content_type"]) == (
        hashlib.sha256(stored).hexdigest(), len(stored), "image/jpeg")
    # write-only photos are never served at /media/: the bytes come inline, exactly the stored copy
    assert base64.b64decode(photo["data_base64"]) == stored


def _text_of(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def test_email_sends_one_threaded_reopen_with_its_photo(gateway_for: Callable[..., Gateway],
                                                        smtp: tuple[Inbox, int]) -> None:  # noqa: F811
    inbox, port = smtp
    gw = gateway_for("email", {"host": "127.0.0.1", "port": port, "security": "none",
                               "from": "gateway@example.org", "to": ["dpw-intake@example.org"]})
    rid, reopen_id = closed_then_reopened(gw, jpeg_with_gps())
    assert gw.relay() == 2 and gw.relay() == 0
    ticket, reopen = (message_from_bytes(m.original_content or b"") for m in inbox.messages)
    assert ticket["Subject"] == f"[DPW] Graffiti Abatement - service request {rid}"
    assert reopen["Subject"] == "Re: " + ticket["Subject"]
    assert reopen["In-Reply-To"] == reopen["References"] == ticket["Message-ID"]
    assert reopen["X-Open311-Idempotency-Key"] == f"lacounty.gov:{rid}:reopen:{reopen_id}"
    assert reopen["Reply-To"] == SUBMITTER
    text = _text_of(reopen)
    assert text.startswith("REOPENED: ") and f"Description: {NOT_FIXED}" in text
    (attachment,) = [p for p in reopen.walk() if p.get_content_disposition() == "attachment"]
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes)
    assert attachment.get_filename() == f"request-{rid}-reopen-{reopen_id}-photo-1.jpg"
    assert data == gw.stored_reopen_photo(rid)
    assert_clean(data)


def test_filedrop_copies_the_reopen_photo_beside_the_reopen_file(gateway_for: Callable[..., Gateway],
                                                                 tmp_path: Path) -> None:
    intake = tmp_path / "dpw-intake"
    gw = gateway_for("filedrop", {"directory": str(intake)})
    rid, reopen_id = closed_then_reopened(gw, jpeg_with_gps())
    assert gw.relay() == 2 and gw.relay() == 0
    stem = f"lacounty_gov_{rid}_reopen_{reopen_id}"
    assert sorted(p.name for p in intake.iterdir()) == sorted([f"lacounty_gov_{rid}.json", f"{stem}.json",
                                                               f"{stem}.photo-1.jpg"])
    payload = json.loads((intake / f"{stem}.json").read_text())
    assert payload["photo_files"] == [f"{stem}.photo-1.jpg"] and payload["addition"]["kind"] == "reopen"
    assert (intake / f"{stem}.photo-1.jpg").read_bytes() == gw.stored_reopen_photo(rid)


SF_MAP = {"New": "open", "Reopened": "open", "Closed": "closed", "COMPLETED": "closed"}


def salesforce_options(base: str, **extra: Any) -> dict[str, Any]:
    return {"login_url": base, "client_id": "cid", "client_secret": "csecret", "external_id_field": "Open311_Id__c",
            **extra}


@pytest.mark.parametrize("reopen_status", [None, "Reopened"])
def test_salesforce_comments_once_uploads_the_photo_and_sets_the_status(gateway_for: Callable[..., Gateway],
                                                                        reopen_status: str | None) -> None:
    org = SalesforceOrg(ext="Open311_Id__c")
    with http_peer(org) as base:
        org.base = base
        gw = gateway_for("salesforce", salesforce_options(base, reopen_status=reopen_status), SF_MAP)
        rid, reopen_id = closed_then_reopened(gw, jpeg_with_gps())
        assert gw.relay() == 2 and gw.relay() == 0
    case = org.cases[rid]
    (comment,) = org.comments
    assert comment["ParentId"] == case["Id"] and comment["IsPublished"] is False
    assert comment["CommentBody"].startswith("REOPENED: ") and NOT_FIXED in comment["CommentBody"]
    assert comment["CommentBody"].endswith(f"[lacounty.gov:{rid}:reopen:{reopen_id}]")
    (uploaded,) = org.files
    assert (uploaded["FirstPublishLocationId"], uploaded["Title"]) == (case["Id"], f"request-{rid}-reopen-"
                                                                                   f"{reopen_id}-photo-1")
    assert uploaded["data"] == gw.stored_reopen_photo(rid)
    if reopen_status:
        assert org.patches == [(case["Id"], {"Status": "Reopened"})] and case["Status"] == "Reopened"
    else:
        assert org.patches == [] and case["Status"] == "New"


def test_a_reopen_delivered_again_adds_nothing_in_salesforce(gateway_for: Callable[..., Gateway]) -> None:
    """The reply was lost after Salesforce took the reopen (the row goes back to pending, as after a relay's
    death): the redelivery finds its comment and file by the key; still one comment, one file."""
    org = SalesforceOrg(ext="Open311_Id__c")
    with http_peer(org) as base:
        org.base = base
        gw = gateway_for("salesforce", salesforce_options(base, reopen_status="Reopened"), SF_MAP)
        rid = gw.submit()
        assert gw.relay() == 1
        gw.close(rid)
        gw.reopen(rid, jpeg_with_gps())
        assert gw.relay() == 1
        with gw.services.session() as session, session.begin():
            session.execute(update(OutboxMessage).where(OutboxMessage.kind == "reopen")
                            .values(state="pending", next_attempt_at=gw.clock()))
        assert gw.relay() == 1 and gw.relay() == 0
    assert len(org.comments) == 1 and len(org.files) == 1
    assert org.cases[rid]["Status"] == "Reopened"


def _outbox(gw: Gateway) -> list[tuple[str, str | None, str]]:
    with gw.services.session() as session, session.begin():
        return [(o.kind, o.external_id, o.state) for o in session.scalars(select(OutboxMessage)
                                                                          .order_by(OutboxMessage.id))]


# --- closure codes pulled -------------------------------------------------------------------------------------

@pytest.fixture
def georeport() -> Iterator[tuple[GeoReportUpstream, str]]:
    peer = GeoReportUpstream()
    with http_peer(peer) as base:
        yield peer, f"{base}/v2"


def test_open311_pulled_codes_known_and_unknown(gateway_for: Callable[..., Gateway],
                                                georeport: tuple[GeoReportUpstream, str],
                                                caplog: pytest.LogCaptureFixture) -> None:
    peer, endpoint = georeport
    gw = gateway_for("open311", {"endpoint": endpoint, "api_key": "upstream-key", "extensions": True},
                     {"open": "open", "closed": "closed"})
    known, unknown = gw.submit(), gw.submit()
    assert gw.relay() == 2
    when = (gw.clock() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for upstream_id, code in zip(sorted(peer.requests), ("referred", "gone_fishing"), strict=True):
        peer.requests[upstream_id].update(status="closed", updated_datetime=when, status_notes="Handled",
                                          extended_attributes={"closure_code": code})
    with caplog.at_level(logging.WARNING, logger="open311.delivery.status"):
        gw.sync()
    assert gw.extended(known)["extended_attributes"]["closure_code"] == "referred"
    assert gw.feed_codes(known) == [("closed", "referred")]
    lost = gw.extended(unknown)
    assert (lost["status"], lost["extended_attributes"]["closure_code"]) == ("closed", "unspecified")
    assert gw.feed_codes(unknown) == [("closed", "unspecified")]
    assert any("'gone_fishing' is not in the vocabulary" in r.getMessage() for r in caplog.records)


def test_open311_without_extensions_reads_no_code(gateway_for: Callable[..., Gateway],
                                                  georeport: tuple[GeoReportUpstream, str]) -> None:
    peer, endpoint = georeport
    gw = gateway_for("open311", {"endpoint": endpoint, "api_key": "upstream-key"},
                     {"open": "open", "closed": "closed"})
    rid = gw.submit()
    assert gw.relay() == 1
    (upstream_id,) = peer.requests
    peer.requests[upstream_id].update(status="closed", updated_datetime=(gw.clock() + timedelta(minutes=1))
                                      .strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      extended_attributes={"closure_code": "referred"})
    gw.sync()
    assert gw.feed_codes(rid) == [("closed", "unspecified")]


def test_salesforce_pulled_codes_known_and_unknown(gateway_for: Callable[..., Gateway],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    org = SalesforceOrg(ext="Open311_Id__c")
    with http_peer(org) as base:
        org.base = base
        gw = gateway_for("salesforce", salesforce_options(base, closure_code_field="Closure_Code__c"), SF_MAP)
        known, unknown, none = gw.submit(), gw.submit(), gw.submit()
        assert gw.relay() == 3
        when = (gw.clock() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        for rid, code in ((known, "no_action_needed"), (unknown, "Gone Fishing"), (none, None)):
            org.cases[rid].update(Status="Closed", LastModifiedDate=when, Closure_Code__c=code)
        with caplog.at_level(logging.WARNING, logger="open311.delivery.status"):
            gw.sync()
    assert gw.feed_codes(known) == [("closed", "no_action_needed")]
    assert gw.extended(known)["extended_attributes"]["closure_code"] == "no_action_needed"
    assert gw.feed_codes(unknown) == [("closed", "unspecified")]
    assert gw.extended(unknown)["status"] == "closed"   # the status change is never lost
    assert gw.feed_codes(none) == [("closed", "unspecified")]
    assert any("'Gone Fishing' is not in the vocabulary" in r.getMessage() for r in caplog.records)


@dataclass
class Chained:
    """Our gateway (DPW on `open311`) in front of a second instance of this gateway, served on loopback."""

    gw: Gateway
    upstream: Flask
    works_key: str
    upstream_id: str
    rid: str

    def close_upstream(self, clock: Clock, **extra: str) -> None:
        """The upstream's own department closes its copy, through the upstream's own API."""
        clock.now += timedelta(minutes=2)
        closed = self.upstream.test_client().post("/open311/v2/servicerequestupdates.json", data={
            "api_key": self.works_key, "service_request_id": self.upstream_id, "update_id": "works-1",
            "status": "COMPLETED", "updated_datetime": (clock() - timedelta(minutes=1)).isoformat(), **extra})
        assert closed.status_code == 200, closed.data

    def upstream_status(self) -> str:
        return str(json_of(self.upstream.test_client().get(f"/open311/v2/requests/{self.upstream_id}.json"))[0]
                   ["status"])

    def upstream_services(self) -> Services:
        services: Services = self.upstream.extensions["open311"]
        return services


@pytest.fixture
def chained(make_app: Callable[..., Flask], gateway_for: Callable[..., Gateway], second_database_url: str,
            clock: Clock) -> Iterator[Chained]:
    upstream = make_app(OPEN311_DATABASE_URL=second_database_url)
    up: Services = upstream.extensions["open311"]
    with up.session() as session:
        _, county_key = create_key(session, "lacounty.gov", "county gateway", clock())
        _, works_key = create_key(session, "lacounty.gov", "DPW works", clock(), department="DPW")
    with serve(upstream) as api:
        gw = gateway_for("open311", {"endpoint": api, "api_key": county_key, "extensions": True,
                                     "service_codes": {"DPW-GRAFFITI": "DPW-GRAFFITI"}},
                         {"open": "open", "closed": "closed"})
        rid = gw.submit()
        assert gw.relay() == 1
        (ticket,) = [r for r in _outbox(gw) if r[0] == "deliver"]
        yield Chained(gw, upstream, works_key, str(ticket[1]), rid)


def test_open311_upstream_gateway_reopens_its_own_copy(chained: Chained, clock: Clock) -> None:
    """The upstream is a second instance of this gateway: it needs its own key; its copy is closed by its own
    department (POST servicerequestupdates there); the code comes back by the pull; the reopen reopens it."""
    gw, rid = chained.gw, chained.rid
    chained.close_upstream(clock, closure_code="not_found", description="Nothing found at the address")
    gw.sync()
    ours = gw.extended(rid)
    assert (ours["status"], ours["extended_attributes"]["closure_code"]) == ("closed", "not_found")
    assert gw.feed_codes(rid) == [("closed", "not_found")]
    gw.reopen(rid)
    assert gw.relay() == 1 and gw.relay() == 0
    theirs = json_of(chained.upstream.test_client().get(
        f"/open311/v2/requests/{chained.upstream_id}.json?extensions=true"))[0]
    assert (theirs["status"], theirs["extended_attributes"]["closure_code"]) == ("open", None)
    with chained.upstream_services().session() as session, session.begin():
        (told,) = session.scalars(select(RequestReopen))
        assert (str(told.request_id), told.description) == (chained.upstream_id, NOT_FIXED)
        history = [(u.status, u.source) for u in session.scalars(select(StatusUpdate).order_by(StatusUpdate.id))]
    assert history == [("closed", "push"), ("open", "reopen")]
    # the upstream's reopen_id is what our outbox row keeps as the back office's id
    assert [r for r in _outbox(gw) if r[0] == "reopen"] == [("reopen", str(told.id), "done")]


def test_an_upstream_copy_that_is_open_already_counts_as_delivered(chained: Chained) -> None:
    """Our clerk closed our request, the upstream's copy was never closed: its 409 (open) is the reopen done."""
    chained.gw.close(chained.rid, "closed")
    chained.gw.reopen(chained.rid)
    assert chained.gw.relay() == 1
    assert [(kind, state) for kind, _, state in _outbox(chained.gw)] == [("deliver", "done"), ("reopen", "done")]
    assert chained.upstream_status() == "open"


def test_an_upstream_copy_closed_too_long_ago_is_not_reported_delivered(chained: Chained, clock: Clock) -> None:
    """The upstream closed its copy 15 days ago (its window is 14); ours was closed just now and is reopened.
    The upstream's 409 then means the department was NOT told: a dead letter saying so, never `done`."""
    chained.close_upstream(clock)
    clock.now += timedelta(days=15)
    chained.gw.close(chained.rid, "closed")
    chained.gw.reopen(chained.rid)
    chained.gw.relay()
    assert chained.upstream_status() == "closed"
    with chained.gw.services.session() as session, session.begin():
        (row,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reopen"))
        assert (row.state, row.last_error) == ("dead", "open311 reopen: the upstream refused it (HTTP 409) and "
                                                       "its request is still closed")
