"""`email` notices: one message per notice, plain text plus HTML, over SMTP (OPEN311_NOTICE_SMTP_URL).

Each carries the RFC 8058 one-click unsubscribe (List-Unsubscribe with the signed https link,
List-Unsubscribe-Post: List-Unsubscribe=One-Click), Auto-Submitted: auto-generated (RFC 3834: no
auto-replies), the report's language, and a Message-ID derived from the notice's idempotency key, so a
notice sent again after a relay died mid-send is recognisably the same message.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from marshmallow import Schema, ValidationError, fields, validate, validates

from open311.notifier import Notice, Notifier, PermanentError
from open311_adapters.smtp_transport import send_message, server_from_url


class EmailNoticeOptions(Schema):
    """The SMTP server as a URL, and the From address."""

    smtp_url = fields.String(required=True)
    from_address = fields.String(required=True, data_key="from")
    message_id_domain = fields.String(load_default="open311.invalid", validate=validate.Length(min=1, max=200))

    @validates("from_address")
    def _sender(self, value: str, **_: object) -> None:
        """An address, optionally with a display name: 311 <no-reply@example.gov>."""
        _name, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValidationError("must be an e-mail address, e.g. 311 <no-reply@example.gov>")

    @validates("smtp_url")
    def _url(self, value: str, **_: object) -> None:
        """The URL parses as an SMTP server."""
        try:
            server_from_url(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class EmailNotifier(Notifier):
    """Notices by e-mail."""

    channel = "email"
    options_schema = EmailNoticeOptions

    def message(self, notice: Notice) -> EmailMessage:
        """The e-mail for a notice."""
        if not notice.email:
            raise PermanentError("the recipient has no e-mail address")
        msg = EmailMessage()
        msg["From"] = self.options["from_address"]
        msg["To"] = notice.email
        msg["Subject"] = notice.subject[:200]
        msg["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(notice.idempotency_key.encode()).hexdigest()[:40]
        msg["Message-ID"] = f"<notice-{digest}@{self.options['message_id_domain']}>"
        msg["List-Unsubscribe"] = f"<{notice.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Open311-Milestone"] = notice.milestone
        msg.set_content(notice.text)
        msg.add_alternative(notice.html, subtype="html")
        msg["Content-Language"] = notice.locale   # after the parts: set_content replaces Content-* headers
        return msg

    def send(self, notice: Notice) -> None:
        """Send the message (4xx and network faults retried, 5xx a dead letter)."""
        send_message(server_from_url(self.options["smtp_url"]), self.message(notice))
