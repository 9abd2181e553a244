"""A real SMTP server on loopback (aiosmtpd) with STARTTLS and login, keeping every message it accepts."""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from tests.adapters.peers import free_port


class Mailbox:
    """aiosmtpd handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages addressed to `address`, in arrival order."""
        return [m for m in self.messages if m["To"] == address]


def _login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"notices", b"pw")
    return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class SmtpPeer:
    """The running server: its mailbox and the OPEN311_NOTICE_SMTP_URL that reaches it."""

    mailbox: Mailbox
    url: str


@contextmanager
def smtp_server(directory: Path) -> Iterator[SmtpPeer]:
    """STARTTLS (a trustme CA, written to `directory`) with a required login."""
    ca = trustme.CA()
    ca_path = directory / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=_login, auth_require_tls=True)
    controller.start()
    try:
        yield SmtpPeer(mailbox, f"smtp://notices:pw@127.0.0.1:{port}?starttls=1&cafile={ca_path}&timeout=5")
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())
