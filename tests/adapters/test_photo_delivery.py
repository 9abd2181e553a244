"""Photos reach each back office the way it takes them: e-mail attachments, webhook links, Salesforce Files,
filedrop copies, the upstream's media_url. End to end: POST with a photo, relay, read what arrived."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from flask import Flask

from open311.adapter import TemporaryError, Ticket, TicketPhoto, validate_options
from open311.delivery.relay import Relay
from open311.intake.keys import create_key
from open311.services import Services
from open311.settings import DeliverySettings
from open311_adapters.salesforce import SalesforceAdapter
from open311_adapters.upstream import UpstreamAdapter
from tests.adapters.peers import SalesforceOrg, WebhookBackOffice, free_port, http_peer
from tests.adapters.test_email import TICKET, Inbox
from tests.delivery import write_config
from tests.helpers import GRAFFITI
from tests.images import assert_clean, jpeg_with_gps, png_with_text
from tests.integration.live import serve

SECRET = "s3cret-s3cret-s3cret"
ONCE = DeliverySettings(max_attempts=3, backoff_base=1, backoff_cap=5, lease=60, batch=10, poll=0.01)


def submit(api: str, key: str) -> str:
    """POST a graffiti report with two photos over real HTTP; return its id."""
    reply = requests.post(f"{api}/requests.json", data=GRAFFITI, timeout=10, headers={"Authorization": f"Bearer {key}"},
                          files=[("media", ("wall.jpg", jpeg_with_gps(), "image/jpeg")),
                                 ("media", ("tag.png", png_with_text(), "image/png"))])
    assert reply.status_code == 200, reply.text
    return str(reply.json()[0]["service_request_id"])


def key_of(app: Flask) -> str:
    gateway: Services = app.extensions["open311"]
    with gateway.session() as session:
        return create_key(session, "lacounty.gov", "tests", gateway.clock())[1]


def relay_once(app: Flask) -> int:
    return Relay(app.extensions["open311"], ONCE).run(once=True)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_an_email_carries_the_photos_as_attachments(make_app: Callable[..., Flask], tmp_path: Path,
                                                    smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    config = write_config(tmp_path, {"DPW": {"adapter": "email", "options": {
        "host": "127.0.0.1", "port": port, "security": "none", "from": "gateway@example.org",
        "to": ["dpw-intake@example.org"]}}})
    app = make_app(config)
    with serve(app) as api:
        request_id = submit(api, key_of(app))
        assert relay_once(app) == 1
        (envelope,) = inbox.messages
        msg = message_from_bytes(envelope.original_content or b"")
        attachments = [part for part in msg.walk() if part.get_content_disposition() == "attachment"]
        assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
            ("image/jpeg", f"request-{request_id}-photo-1.jpg"), ("image/png", f"request-{request_id}-photo-2.png")]
        (entry,) = requests.get(f"{api}/requests/{request_id}.json?extensions=true", timeout=10).json()
        urls = entry["extended_attributes"]["media_urls"]
        for attachment, url in zip(attachments, urls, strict=True):
            data = attachment.get_payload(decode=True)
            assert isinstance(data, bytes)
            assert_clean(data)
            assert data == requests.get(url, timeout=10).content  # the processed copy the gateway serves
    text = _body(msg)
    assert f"Photo 1:      {urls[0]}  (attached)" in text and f"Photo 2:      {urls[1]}  (attached)" in text


def _body(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def test_the_webhook_ticket_carries_links_that_serve_the_photos(make_app: Callable[..., Flask],
                                                                tmp_path: Path) -> None:
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        config = write_config(tmp_path, {"DPW": {"adapter": "webhook", "options": {"url": f"{base}/t",
                                                                                     "secret": SECRET}}})
        app = make_app(config)
        with serve(app) as api:
            request_id = submit(api, key_of(app))
            assert relay_once(app) == 1
            ticket = office.tickets[f"lacounty.gov:{request_id}"]["ticket"]
            assert len(ticket["media_urls"]) == 2
            assert [p["url"] for p in ticket["photos"]] == ticket["media_urls"]
            assert [p["content_type"] for p in ticket["photos"]] == ["image/jpeg", "image/png"]
            for photo in ticket["photos"]:
                served = requests.get(photo["url"], timeout=10)  # what the back office does with a link
                assert served.status_code == 200 and len(served.content) == photo["size"]
                assert_clean(served.content)


def test_filedrop_copies_the_photos_beside_the_ticket(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = make_app(write_config(tmp_path))  # every department: filedrop into tmp/intake/<DEPT>
    with serve(app) as api:
        request_id = submit(api, key_of(app))
    assert relay_once(app) == 1
    intake = tmp_path / "intake" / "DPW"
    stem = f"lacounty_gov_{request_id}"
    payload = json.loads((intake / f"{stem}.json").read_text())
    assert payload["photo_files"] == [f"{stem}.photo-1.jpg", f"{stem}.photo-2.png"]
    for name, photo in zip(payload["photo_files"], payload["ticket"]["photos"], strict=True):
        data = (intake / name).read_bytes()
        assert len(data) == photo["size"]
        assert_clean(data)


def test_a_hidden_request_is_delivered_without_its_photos(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    from open311.intake.moderation import hide_request

    app = make_app(write_config(tmp_path))
    gateway: Services = app.extensions["open311"]
    with serve(app) as api:
        request_id = submit(api, key_of(app))
    with gateway.session() as session:
        hide_request(session, int(request_id), "abusive photo", gateway.clock(), config=gateway.config)
    assert relay_once(app) == 1
    intake = tmp_path / "intake" / "DPW"
    payload = json.loads((intake / f"lacounty_gov_{request_id}.json").read_text())
    assert payload["photo_files"] == [] and payload["ticket"]["media_urls"] == []
    assert list(intake.glob("*.photo-*")) == []


def photo_ticket(reads: list[int] | None = None, fail: bool = False) -> Ticket:
    """The e-mail test's ticket with one stored photo whose reader counts reads (or fails)."""
    data = jpeg_with_gps()

    def reader() -> bytes:
        if fail:
            raise TemporaryError("photo x.jpg is missing from the media store")
        if reads is not None:
            reads.append(1)
        return data

    photo = TicketPhoto(url="https://gw.example/media/abc.jpg", filename="request-42-photo-1.jpg",
                        content_type="image/jpeg", size=len(data), sha256="0" * 64, reader=reader)
    return replace(TICKET, media_urls=(photo.url, "https://img.example/42.jpg"), photos=(photo,))


def test_salesforce_uploads_each_photo_once_as_a_file_on_the_case() -> None:
    org = SalesforceOrg(ext="Open311_Id__c")
    with http_peer(org) as base:
        org.base = base
        adapter = SalesforceAdapter(validate_options(SalesforceAdapter, {
            "login_url": base, "client_id": "cid", "client_secret": "csecret",
            "external_id_field": "Open311_Id__c"}), http=requests.Session())
        reads: list[int] = []
        ticket = photo_ticket(reads)
        first = adapter.deliver(ticket)
        again = adapter.deliver(ticket)  # a redelivery finds the File and uploads nothing
        assert first == again
        (uploaded,) = org.files
        assert uploaded["FirstPublishLocationId"] == first.external_id
        assert (uploaded["Title"], uploaded["PathOnClient"]) == ("request-42-photo-1", "request-42-photo-1.jpg")
        assert uploaded["data"] == ticket.photos[0].read() and len(reads) == 2  # read once to upload, once here
        assert "https://img.example/42.jpg" in org.cases["42"]["Description"]  # the link stays a link
        with pytest.raises(TemporaryError, match="missing"):
            adapter.deliver(replace(photo_ticket(fail=True), service_request_id="43"))
        off = SalesforceAdapter(validate_options(SalesforceAdapter, {
            "login_url": base, "client_id": "cid", "client_secret": "csecret", "external_id_field": "Open311_Id__c",
            "upload_photos": False}), http=requests.Session())
        off.deliver(replace(photo_ticket(fail=True), service_request_id="44"))  # never reads the photo
        assert len(org.files) == 1


def test_the_upstream_gets_the_first_photo_as_media_url_and_the_ticket_json_describes_photos() -> None:
    adapter = UpstreamAdapter(validate_options(UpstreamAdapter, {"endpoint": "http://127.0.0.1:9/v2"}),
                              http=requests.Session())
    form = dict(adapter.form(photo_ticket()))
    assert form["media_url"] == "https://gw.example/media/abc.jpg"
    data: dict[str, Any] = json.loads(json.dumps(photo_ticket().to_json()))
    assert data["photos"] == [{"url": "https://gw.example/media/abc.jpg", "filename": "request-42-photo-1.jpg",
                               "content_type": "image/jpeg", "size": photo_ticket().photos[0].size,
                               "sha256": "0" * 64, "width": None, "height": None}]


def test_email_attachments_respect_the_size_cap_and_can_be_switched_off(smtp: tuple[Inbox, int]) -> None:
    from open311_adapters.smtp_ticket import EmailAdapter

    inbox, port = smtp
    base = {"host": "127.0.0.1", "port": port, "security": "none", "from": "g@example.org", "to": ["i@example.org"]}
    for options in ({"max_attachment_bytes": 10}, {"attach_photos": False}):
        EmailAdapter(validate_options(EmailAdapter, {**base, **options}), http=requests.Session()).deliver(
            photo_ticket(fail=True))  # the photo is never read
    for envelope in inbox.messages:
        msg = message_from_bytes(envelope.original_content or b"")
        assert not [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
        assert "Photo 1:      https://gw.example/media/abc.jpg\r\n" in _body(msg)
    with pytest.raises(TemporaryError, match="missing"):
        EmailAdapter(validate_options(EmailAdapter, base), http=requests.Session()).deliver(photo_ticket(fail=True))
