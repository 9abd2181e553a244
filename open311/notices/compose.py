"""A queued notice made ready to send: its recipient, the request's public facts, the links, the words."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from open311.config.jurisdictions import GatewayConfig, Jurisdiction
from open311.core.closure import public_closure
from open311.notices.links import current_token, unsubscribe_token
from open311.notices.texts import Facts, language, write
from open311.notifier import Notice, PushTarget
from open311.storage.models import Notice as NoticeRow
from open311.storage.models import NoticeRecipient, RequestContact, ServiceRequest, StatusUpdate


@dataclass(frozen=True)
class Ready:
    """A notice to send, or why not: `skip` (unsubscribed, or the request is gone: done, nothing sent)."""

    notice: Notice | None
    recipient_id: int | None = None
    skip: str | None = None


def status_url(origin: str, token: str) -> str:
    """The status page of a token."""
    return f"{origin}/r/{token}"


def unsubscribe_url(origin: str, secret: str, recipient_id: int) -> str:
    """The signed one-click unsubscribe of a recipient."""
    return f"{origin}/r/unsubscribe/{unsubscribe_token(secret, recipient_id)}"


def compose(session: Session, config: GatewayConfig, notice_id: int, *, secret: str, origin: str) -> Ready:
    """The Notice for an outbox row's notice."""
    with session.begin():
        row = session.get(NoticeRow, notice_id)
        recipient = session.get(NoticeRecipient, row.recipient_id) if row is not None else None
        request = session.get(ServiceRequest, row.request_id) if row is not None else None
        update = session.get(StatusUpdate, row.status_update_id) if row and row.status_update_id else None
        phone = None
        if recipient is not None and recipient.channel not in ("email", "push"):
            contact = session.get(RequestContact, recipient.request_id)
            phone = contact.phone if contact is not None else None
    if row is None or recipient is None or request is None:
        return Ready(None, skip="the notice or its recipient is gone (purged)")
    if recipient.unsubscribed_at is not None:
        return Ready(None, recipient.id, skip="the recipient unsubscribed")
    link = current_token(session, secret, request.id)
    jurisdiction = config.jurisdictions.get(request.jurisdiction_id)
    if link is None or jurisdiction is None:
        return Ready(None, recipient.id, skip="the request has no status link or jurisdiction")
    token, _ = link
    page, leave = status_url(origin, token), unsubscribe_url(origin, secret, recipient.id)
    department = jurisdiction.departments.get(request.department)
    code = update.closure_code if update is not None else request.closure_code
    facts = Facts(request_id=request.id, service_name=_service_name(jurisdiction, request, recipient.locale),
                  agency=department.name if department is not None else jurisdiction.name,
                  milestone=row.milestone, closure_code=public_closure("closed", code) if row.milestone == "closed"
                  else None, status_notes=request.status_notes if request.hidden_at is None else None,
                  expected=request.expected_datetime, timezone=jurisdiction.timezone, status_url=page,
                  unsubscribe_url=leave)
    lang = language(recipient.locale)
    words = write(facts, recipient.locale, lambda english: jurisdiction.catalog.text(english, lang))
    push = PushTarget(recipient.push_endpoint, recipient.push_p256dh or "", recipient.push_auth or "") \
        if recipient.push_endpoint else None
    notice = Notice(channel=recipient.channel, idempotency_key=f"{request.jurisdiction_id}:{request.id}:notice:"
                    f"{row.milestone_key}:{recipient.id}", milestone=row.milestone,
                    locale=language(recipient.locale), subject=words.subject, text=words.text, html=words.html,
                    status_url=page, unsubscribe_url=leave, email=recipient.email, push=push, phone=phone,
                    data={"title": words.subject, "body": words.lead, "url": page, "milestone": row.milestone,
                          "service_request_id": str(request.id)})
    return Ready(notice, recipient.id)


def _service_name(jurisdiction: Jurisdiction, request: ServiceRequest, locale: str) -> str:
    """The service's name in the recipient's language, when the catalog has it."""
    translated = jurisdiction.catalog.services_in(language(locale)).get(request.service_code)
    return translated.service_name if translated is not None else request.service_name
