"""`email` against a real SMTP server (aiosmtpd) on loopback: STARTTLS with login, implicit TLS, refusals."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from open311.adapter import Contact, PermanentError, TemporaryError, Ticket
from open311.adapter import validate_options as validate
from open311_adapters.smtp_ticket import EmailAdapter
from tests.adapters.peers import free_port

TICKET = Ticket(service_request_id="42", jurisdiction_id="lacounty.gov", department="DPW",
                service_code="DPW-GRAFFITI", service_name="Graffiti Abatement", backoffice_code="GRF",
                description="Tag on the library wall", requested_datetime="2026-03-10T17:30:00Z", lat=34.0239,
                long=-118.172, address="4801 E 3rd St", address_id=None, zipcode="90022",
                attributes={"surface_type": "wall", "colors": ["red", "blue"]},
                media_urls=("https://img.example/42.jpg",),
                contact=Contact(first_name="Ada", last_name="Lovelace", email="ada@example.org", phone="555-0100"))


class Inbox:
    """aiosmtpd handler keeping every message; `refuse` answers RCPT with a code."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str,
                          options: Any) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"intake", b"pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_context(ca),
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    yield inbox, port
    controller.stop()


def adapter(port: int, **options: Any) -> EmailAdapter:
    raw = {"host": "127.0.0.1", "port": port, "from": "gateway@example.org", "to": ["dpw-intake@example.org"],
           "timeout": 5, **options}
    return EmailAdapter(validate(EmailAdapter, raw), http=requests.Session())


def test_starttls_login_and_a_readable_ticket(starttls_server: tuple[Inbox, int], ca_file: str) -> None:
    inbox, port = starttls_server
    receipt = adapter(port, username="intake", password="pw", ca_file=ca_file).deliver(TICKET)
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["dpw-intake@example.org"]
    msg = message_from_bytes(envelope.original_content or b"")
    assert msg["Subject"] == "[DPW] Graffiti Abatement - service request 42"
    assert msg["Message-ID"] == receipt.external_id == "<open311-lacounty.gov-42@open311.invalid>"
    assert msg["Reply-To"] == "ada@example.org" and msg["X-Open311-Idempotency-Key"] == "lacounty.gov:42"
    body = msg.get_payload(decode=True).decode()
    for line in ("Service:      Graffiti Abatement [DPW-GRAFFITI, back office code GRF]",
                 "Address:      4801 E 3rd St, 90022", "Tag on the library wall", "  colors: red, blue",
                 "Photo 1:      https://img.example/42.jpg", "  E-mail: ada@example.org",
                 "Reference (quote it in replies): lacounty.gov:42"):
        assert line in body, body


def test_wrong_password_is_permanent_and_untrusted_certificates_too(starttls_server: tuple[Inbox, int],
                                                                    ca_file: str) -> None:
    _, port = starttls_server
    with pytest.raises(PermanentError, match="SMTP login refused"):
        adapter(port, username="intake", password="nope", ca_file=ca_file).deliver(TICKET)
    with pytest.raises(PermanentError, match="SMTP TLS failed"):
        adapter(port, username="intake", password="pw").deliver(TICKET)  # the test CA is not trusted


def test_implicit_tls_and_refused_recipients(ca: trustme.CA, ca_file: str) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context(ca))
    controller.start()
    try:
        adapter(port, security="tls", ca_file=ca_file).deliver(TICKET)
        assert len(inbox.messages) == 1
        inbox.refuse = "451 4.3.0 mailbox busy"
        with pytest.raises(TemporaryError, match="451"):
            adapter(port, security="tls", ca_file=ca_file).deliver(TICKET)
        inbox.refuse = "550 5.1.1 no such user"
        with pytest.raises(PermanentError, match="550"):
            adapter(port, security="tls", ca_file=ca_file).deliver(TICKET)
    finally:
        controller.stop()


def test_a_server_that_is_down_is_temporary() -> None:
    with pytest.raises(TemporaryError, match="SMTP"):
        adapter(free_port(), security="none").deliver(TICKET)


def test_options_are_checked() -> None:
    import marshmallow

    with pytest.raises(marshmallow.ValidationError) as err:
        validate(EmailAdapter, {"host": "x", "from": "not-an-address", "to": [], "username": "u",
                                "security": "none"})
    assert set(err.value.messages) == {"from", "to"}
    with pytest.raises(marshmallow.ValidationError, match="a login needs security"):
        validate(EmailAdapter, {"host": "x", "from": "a@b.org", "to": ["c@d.org"], "username": "u",
                                "password": "p", "security": "none"})
