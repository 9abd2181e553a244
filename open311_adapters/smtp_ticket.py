"""`email`: each ticket as a readable e-mail over SMTP (implicit TLS, STARTTLS or plain, optional login), its
photos attached."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from open311.adapter import SLA_KINDS, Adapter, Addition, Receipt, Ticket, TicketPhoto
from open311_adapters.smtp_transport import SmtpServer, send_message

SUBJECT = "[{department}] {service_name} - service request {service_request_id}"


class EmailOptions(Schema):
    """SMTP server, security, login and addresses."""

    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    security = fields.String(load_default="starttls", validate=validate.OneOf(("starttls", "tls", "none")))
    ca_file = fields.String(load_default=None, allow_none=True)
    username = fields.String(load_default=None, allow_none=True)
    password = fields.String(load_default=None, allow_none=True)
    from_address = fields.Email(required=True, data_key="from")
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))
    subject = fields.String(load_default=SUBJECT)
    timeout = fields.Float(load_default=30.0, validate=validate.Range(min=0.1, max=300))
    message_id_domain = fields.String(load_default="open311.invalid")
    # Photos go as attachments (the gateway's processed copies), up to this many bytes per message in all
    # (base64 makes them a third larger on the wire); the rest, and every link, are listed in the text.
    attach_photos = fields.Boolean(load_default=True)
    max_attachment_bytes = fields.Integer(load_default=15 * 1024 * 1024, validate=validate.Range(min=0))

    @validates_schema
    def _login_pairs(self, data: dict[str, Any], **_: Any) -> None:
        """A username needs a password and the reverse; a login is never sent over plain text."""
        if bool(data.get("username")) != bool(data.get("password")):
            raise ValidationError("username and password go together", "username")
        if data.get("username") and data.get("security") == "none":
            raise ValidationError("a login needs security: starttls or tls", "security")


def ticket_text(ticket: Ticket, attached: Collection[str] = ()) -> str:
    """The ticket as plain text a person can act on (`attached`: URLs of photos attached to the message)."""
    lines = [f"Service request {ticket.service_request_id} ({ticket.jurisdiction_id})", "",
             f"Service:      {ticket.service_name} [{ticket.service_code}"
             + (f", back office code {ticket.backoffice_code}]" if ticket.backoffice_code else "]"),
             f"Requested:    {ticket.requested_datetime}"]
    where = ", ".join(x for x in (ticket.address, ticket.zipcode) if x)
    if where:
        lines.append(f"Address:      {where}")
    if ticket.address_id:
        lines.append(f"Address id:   {ticket.address_id}")
    if ticket.lat is not None and ticket.long is not None:
        lines.append(f"Location:     {ticket.lat:.6f}, {ticket.long:.6f}")
        lines.append(f"Map:          https://www.openstreetmap.org/?mlat={ticket.lat:.6f}&mlon={ticket.long:.6f}"
                     f"#map=18/{ticket.lat:.6f}/{ticket.long:.6f}")
    lines += ["", "Description:", ticket.description or "(none)", ""]
    if ticket.attributes:
        lines.append("Details:")
        for code, answer in ticket.attributes.items():
            value = ", ".join(map(str, answer)) if isinstance(answer, list) else str(answer)
            lines.append(f"  {code}: {value}")
        lines.append("")
    for number, url in enumerate(ticket.media_urls, 1):
        lines.append(f"Photo {number}:      {url}" + ("  (attached)" if url in attached else ""))
    if ticket.contact is not None:
        c = ticket.contact
        name = " ".join(x for x in (c.first_name, c.last_name) if x)
        lines += ["", "Contact:"] + [f"  {label}: {value}" for label, value in
                                     (("Name", name), ("E-mail", c.email), ("Phone", c.phone)) if value]
    lines += ["", f"Reference (quote it in replies): {ticket.idempotency_key}"]
    return "\n".join(lines) + "\n"


class EmailAdapter(Adapter):
    """Sends one message per ticket; its Message-ID derives from the idempotency key, so a resent ticket
    carries the same Message-ID and mail systems (and people) can drop the duplicate."""

    options_schema = EmailOptions
    takes_sla_events = True      # an SLA event is a follow-up message, `[SLA BREACHED] Re: <subject>`

    def message(self, ticket: Ticket) -> EmailMessage:
        """The e-mail for a ticket."""
        msg = EmailMessage()
        msg["From"] = self.options["from_address"]
        msg["To"] = ", ".join(self.options["to"])
        fields_ = {**ticket.to_json(), "service_name": ticket.service_name}
        msg["Subject"] = self.options["subject"].format_map(_Defaulting(fields_))[:200]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = self._message_id(ticket.idempotency_key)
        msg["X-Open311-Idempotency-Key"] = ticket.idempotency_key
        if ticket.contact is not None and ticket.contact.email:
            msg["Reply-To"] = ticket.contact.email
        photos = self.attachable(ticket)
        msg.set_content(ticket_text(ticket, {photo.url for photo in photos}))
        for photo in photos:
            maintype, _, subtype = photo.content_type.partition("/")
            msg.add_attachment(photo.read(), maintype=maintype, subtype=subtype, filename=photo.filename)
        return msg

    def _message_id(self, idempotency_key: str) -> str:
        """The Message-ID derived from an idempotency key (the same on every resend)."""
        key = "".join(c if c.isalnum() or c in "-." else "-" for c in idempotency_key)
        return f"<open311-{key}@{self.options['message_id_domain']}>"

    def follow_up(self, addition: Addition) -> EmailMessage:
        """A follower as a follow-up message: a reply (In-Reply-To, References) to the ticket's message."""
        msg = EmailMessage()
        msg["From"] = self.options["from_address"]
        msg["To"] = ", ".join(self.options["to"])
        ticket = addition.ticket
        fields_ = {**ticket.to_json(), "service_name": ticket.service_name}
        prefix = f"[{SLA_KINDS[addition.kind]}] " if addition.sla else ""
        msg["Subject"] = (prefix + "Re: " + self.options["subject"].format_map(_Defaulting(fields_)))[:200]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = self._message_id(addition.idempotency_key)
        original = addition.external_id if addition.external_id.startswith("<") else self._message_id(
            ticket.idempotency_key)
        msg["In-Reply-To"] = original
        msg["References"] = original
        msg["X-Open311-Idempotency-Key"] = addition.idempotency_key
        if addition.contact is not None and addition.contact.email:
            msg["Reply-To"] = addition.contact.email
        msg.set_content(addition.summary() + f"\n\nReference (quote it in replies): {addition.idempotency_key}\n")
        for photo in self.attachable(addition.photos):
            maintype, _, subtype = photo.content_type.partition("/")
            msg.add_attachment(photo.read(), maintype=maintype, subtype=subtype, filename=photo.filename)
        return msg

    def deliver_addition(self, addition: Addition) -> Receipt:
        """Send the follow-up message (same failure rules as a ticket; the same Message-ID on every resend)."""
        return self._send(self.follow_up(addition))

    def attachable(self, ticket: Ticket | Sequence[TicketPhoto]) -> list[TicketPhoto]:
        """The photos that fit in the message, in order (the others stay links in the text)."""
        if not self.options["attach_photos"]:
            return []
        chosen, total = [], 0
        for photo in (ticket.photos if isinstance(ticket, Ticket) else ticket):
            if total + photo.size <= self.options["max_attachment_bytes"]:
                chosen.append(photo)
                total += photo.size
        return chosen

    def _server(self) -> SmtpServer:
        """The configured SMTP server."""
        o = self.options
        return SmtpServer(host=o["host"], port=o["port"], security=o["security"], username=o["username"],
                          password=o["password"], ca_file=o["ca_file"], timeout=o["timeout"])

    def deliver(self, ticket: Ticket) -> Receipt:
        """Send the message; 4xx replies and network faults are temporary, 5xx and refused logins permanent.

        A photo the media store cannot give now is a temporary failure (the message goes out whole, later)."""
        return self._send(self.message(ticket))

    def _send(self, msg: EmailMessage) -> Receipt:
        """Send one message; its Message-ID is the receipt."""
        return Receipt(external_id=send_message(self._server(), msg))


class _Defaulting(dict[str, Any]):
    """format_map source that leaves unknown {names} visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"

