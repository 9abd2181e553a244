"""One contract over every built-in adapter, each against its real loopback peer: redelivery, privacy, down."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from open311.adapter import Adapter, TemporaryError, available_adapters, load_adapter_class, validate_options
from tests.adapters.peers import GeoReportUpstream, SalesforceOrg, WebhookBackOffice, free_port, http_peer
from tests.adapters.test_email import TICKET, Inbox

SECRET = "s3cret-s3cret-s3cret"
PERSONAL = ("ada@example.org", "555-0100", "Lovelace")


class Peer:
    """An adapter wired to a running back office, and how to read what that back office holds."""

    def __init__(self, adapter: Adapter, tickets: Callable[[], list[str]], raw: Callable[[], str]) -> None:
        self.adapter, self.tickets, self.raw = adapter, tickets, raw


def build(name: str, options: dict[str, Any]) -> Adapter:
    cls = load_adapter_class(name)
    return cls(validate_options(cls, options), http=requests.Session())


@contextmanager
def webhook_peer(_: Path) -> Iterator[Peer]:
    office = WebhookBackOffice(SECRET)
    with http_peer(office) as base:
        adapter = build("webhook", {"url": f"{base}/t", "secret": SECRET})
        yield Peer(adapter, lambda: list(office.tickets), lambda: json.dumps(list(office.tickets.values())))


@contextmanager
def open311_peer(_: Path) -> Iterator[Peer]:
    upstream = GeoReportUpstream()
    with http_peer(upstream) as base:
        adapter = build("open311", {"endpoint": f"{base}/v2", "api_key": upstream.api_key})
        yield Peer(adapter, lambda: list(upstream.requests), lambda: json.dumps(upstream.forms))


@contextmanager
def salesforce_peer(_: Path) -> Iterator[Peer]:
    org = SalesforceOrg()
    with http_peer(org) as base:
        org.base = base
        adapter = build("salesforce", {"login_url": base, "client_id": "cid", "client_secret": "csecret",
                                       "external_id_field": "Open311_Id__c"})
        yield Peer(adapter, lambda: [c["Id"] for c in org.cases.values()], lambda: json.dumps(org.cases))


@contextmanager
def filedrop_peer(tmp: Path) -> Iterator[Peer]:
    adapter = build("filedrop", {"directory": str(tmp / "intake")})
    yield Peer(adapter, lambda: sorted(p.name for p in (tmp / "intake").glob("*.json")),
               lambda: "".join(p.read_text() for p in (tmp / "intake").glob("*.json")))


@contextmanager
def email_peer(_: Path) -> Iterator[Peer]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        adapter = build("email", {"host": "127.0.0.1", "port": port, "security": "none", "from": "g@example.org",
                                  "to": ["intake@example.org"]})
        messages = lambda: [message_from_bytes(m.original_content or b"") for m in inbox.messages]  # noqa: E731
        # Mail has no idempotency: the back office keys tickets by Message-ID.
        yield Peer(adapter, lambda: sorted({m["Message-ID"] for m in messages()}),
                   lambda: "".join(m.as_string() for m in messages()))
    finally:
        controller.stop()


PEERS = {"webhook": webhook_peer, "open311": open311_peer, "salesforce": salesforce_peer,
         "filedrop": filedrop_peer, "email": email_peer}


def test_every_installed_builtin_has_a_contract_peer() -> None:
    assert set(PEERS) <= set(available_adapters())


@pytest.mark.parametrize("name", sorted(PEERS))
def test_redelivery_makes_no_second_ticket(name: str, tmp_path: Path) -> None:
    with PEERS[name](tmp_path) as peer:
        first = peer.adapter.deliver(TICKET)
        second = peer.adapter.deliver(TICKET)
        other = peer.adapter.deliver(replace(TICKET, service_request_id="43"))
        assert first.external_id == second.external_id != other.external_id
        assert len(peer.tickets()) == 2


@pytest.mark.parametrize("name", sorted(PEERS))
def test_a_ticket_without_contact_carries_no_personal_data(name: str, tmp_path: Path) -> None:
    with PEERS[name](tmp_path) as peer:
        peer.adapter.deliver(replace(TICKET, contact=None))
        raw = peer.raw()
        assert "Tag on the library wall" in raw or "VGFnIG9uIHRoZSBsaWJyYXJ5IHdhbGw" in raw
        assert not [p for p in PERSONAL if p in raw]
        peer.adapter.deliver(replace(TICKET, service_request_id="44"))
        assert "ada@example.org" in peer.raw()  # the same path does carry contact when the policy allows


@pytest.mark.parametrize("name", sorted(set(PEERS) - {"filedrop"}))
def test_a_back_office_that_is_down_is_a_temporary_error(name: str, tmp_path: Path) -> None:
    port = free_port()
    options = {"webhook": {"url": f"http://127.0.0.1:{port}/t", "secret": SECRET},
               "open311": {"endpoint": f"http://127.0.0.1:{port}/v2"},
               "salesforce": {"login_url": f"http://127.0.0.1:{port}", "client_id": "c", "client_secret": "s"},
               "email": {"host": "127.0.0.1", "port": port, "security": "none", "from": "g@example.org",
                         "to": ["i@example.org"]}}[name]
    with pytest.raises(TemporaryError):
        build(name, options).deliver(TICKET)


