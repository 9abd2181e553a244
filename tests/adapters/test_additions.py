"""Each built-in adapter carries a follower (an Addition) to a delivered ticket, once, against real peers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select

from open311.adapter import Adapter, Addition, Contact, PermanentError, Receipt, Ticket, validate_options
from open311.intake.keys import create_key
from open311.storage.models import RequestFollower
from open311_adapters.filedrop import FiledropAdapter
from open311_adapters.upstream import UpstreamAdapter
from tests.adapters.peers import SalesforceOrg, http_peer
from tests.adapters.test_email import TICKET, Inbox, adapter, ca, ca_file, starttls_server  # noqa: F401 - fixtures
from tests.adapters.test_http_adapters import salesforce
from tests.integration.live import serve

FOLLOWER = Contact(first_name="Grace", last_name="Hopper", email="grace@example.org", phone="555-0199")


def addition(external_id: str, ticket: Ticket = TICKET) -> Addition:
    return Addition(ticket=replace(ticket, contact=None), follower_id="7", external_id=external_id,
                    created_datetime="2026-03-10T18:00:00Z", description="It smells of paint",
                    attributes={"items": ["hazardous"]}, contact=FOLLOWER)


def test_email_sends_a_follow_up_in_the_tickets_thread(starttls_server: tuple[Inbox, int],  # noqa: F811
                                                       ca_file: str) -> None:  # noqa: F811
    inbox, port = starttls_server
    mailer = adapter(port, username="intake", password="pw", ca_file=ca_file)
    first = mailer.deliver(TICKET)
    receipt = mailer.deliver_addition(addition(first.external_id))
    again = mailer.deliver_addition(addition(first.external_id))
    msg = message_from_bytes(inbox.messages[1].original_content or b"")
    assert msg["Subject"] == "Re: [DPW] Graffiti Abatement - service request 42"
    assert msg["In-Reply-To"] == msg["References"] == first.external_id
    assert msg["Message-ID"] == receipt.external_id == again.external_id   # a resend is recognisable
    assert msg["Reply-To"] == "grace@example.org"
    body = msg.get_payload(decode=True).decode()
    for line in ("items: hazardous", "Description: It smells of paint", "E-mail: grace@example.org",
                 "lacounty.gov:42:follower:7"):
        assert line in body, body


def test_filedrop_writes_one_file_per_follower(tmp_path: Path) -> None:
    drop = FiledropAdapter(validate_options(FiledropAdapter, {"directory": str(tmp_path)}), http=requests.Session())
    first = drop.deliver(TICKET)
    for _ in range(2):
        receipt = drop.deliver_addition(addition(first.external_id))
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert files == ["lacounty_gov_42.json", "lacounty_gov_42_follower_7.json"]
    data = json.loads((tmp_path / files[1]).read_text())
    assert receipt.external_id == "lacounty_gov_42_follower_7"
    assert data["addition"]["external_id"] == first.external_id
    assert data["addition"]["contact"]["email"] == "grace@example.org"
    assert data["addition"]["attributes"] == {"items": ["hazardous"]}


def test_salesforce_adds_one_private_case_comment() -> None:
    org = SalesforceOrg()
    with http_peer(org) as base:
        org.base = base
        sf = salesforce(base)
        case_id = sf.deliver(TICKET).external_id
        receipts = [sf.deliver_addition(addition(case_id)) for _ in range(2)]
    (comment,) = org.comments
    assert receipts[0] == receipts[1] == Receipt(external_id=comment["Id"])
    assert comment["ParentId"] == case_id and comment["IsPublished"] is False
    assert "items: hazardous" in comment["CommentBody"]
    assert comment["CommentBody"].endswith("[lacounty.gov:42:follower:7]")


def test_open311_posts_the_follower_to_a_second_instance_of_our_gateway(make_app: Callable[..., Flask],
                                                                       tmp_path: Path) -> None:
    upstream_app = make_app(OPEN311_DATABASE_URL=f"sqlite:///{tmp_path / 'upstream.sqlite3'}",
                            OPEN311_DUPLICATE_WINDOW=600)
    gateway = upstream_app.extensions["open311"]
    with gateway.session() as session:
        _, key = create_key(session, "lacounty.gov", "county gateway", gateway.clock())
    ticket = replace(TICKET, attributes={"surface_type": "wall", "property_type": "public"}, backoffice_code=None)
    with serve(upstream_app) as base:
        up = UpstreamAdapter(validate_options(UpstreamAdapter, {"endpoint": base, "api_key": key}),
                             http=requests.Session())
        external = up.deliver(ticket).external_id
        extra = replace(addition(external, ticket), attributes={"surface_type": "fence"})
        first, second = up.deliver_addition(extra), up.deliver_addition(extra)
    assert first == second   # the upstream absorbed the redelivery
    with gateway.session() as session, session.begin():
        (row,) = session.scalars(select(RequestFollower)).all()
        assert (str(row.request_id), row.email, row.attributes) == (external, "grace@example.org",
                                                                    {"surface_type": "fence"})


def test_an_adapter_without_additions_dead_letters_them() -> None:
    class Plain(Adapter):
        def deliver(self, ticket: Ticket) -> Receipt:
            return Receipt(external_id="x")

    try:
        Plain({}, http=requests.Session()).deliver_addition(addition("x"))
    except PermanentError as exc:
        assert "cannot add followers" in str(exc)
    else:
        raise AssertionError("expected a PermanentError")
