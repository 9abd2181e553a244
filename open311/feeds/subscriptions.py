"""Push to apps: subscriptions to status changes, and the outbox rows that become signed callbacks."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.errors import BadRequest, NotFound
from open311.settings import CallbackPolicy
from open311.storage.models import ApiKey, OutboxMessage, ServiceRequest, StatusUpdate, Subscription

CALLBACK_KIND = "callback"
CALLBACK_DEPARTMENT = "-callbacks"   # outbox rows of callbacks are no department's deliveries
MAX_URL = 2000




class UnsafeDestination(ValueError):
    """The callback URL points somewhere the gateway must not call."""


def check_callback_url(url: str, policy: CallbackPolicy, *, resolve: bool = True) -> str:
    """A callback URL the gateway may POST to; raise UnsafeDestination saying why not.

    With `resolve`, every address the host name resolves to must be public unless the policy allows
    private ones (so an app cannot point the gateway at its own network).
    """
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if policy.allow_http else ("https",)):
        raise UnsafeDestination("callback_url must be an https:// URL" +
                                (" (or http://)" if policy.allow_http else ""))
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeDestination("callback_url must name a host and carry no user name or password")
    if len(url) > MAX_URL:
        raise UnsafeDestination(f"callback_url must be at most {MAX_URL} characters")
    if resolve and not policy.allow_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            raise UnsafeDestination(f"callback_url host {parts.hostname[:100]!r} does not resolve") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise UnsafeDestination("callback_url resolves to a private, loopback or reserved address")
    return url


def create_subscription(session: Session, jurisdiction: Jurisdiction, api_key: ApiKey, callback_url: str | None,
                        service_code: str | None, now: datetime, policy: CallbackPolicy) -> Subscription:
    """Subscribe a key's callback URL to its own requests' status changes, or to one service's."""
    problems: list[str] = []
    if not callback_url:
        problems.append("callback_url was not provided.")
    else:
        try:
            check_callback_url(callback_url, policy)
        except UnsafeDestination as exc:
            problems.append(f"{exc}.")
    if service_code and jurisdiction.catalog.get(service_code) is None:
        raise NotFound(f"service_code {service_code[:64]!r} not found.")
    if problems:
        raise BadRequest(*problems)
    assert callback_url is not None
    with session.begin():
        held = session.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.api_key_id == api_key.id, Subscription.active.is_(True)))
        if (held or 0) >= policy.per_key:
            raise BadRequest(f"This api_key already has {policy.per_key} active subscriptions; delete one first.")
        row = Subscription(jurisdiction_id=jurisdiction.id, api_key_id=api_key.id, callback_url=callback_url,
                           service_code=service_code or None, secret=secrets.token_urlsafe(32), active=True,
                           created_at=now, disabled_at=None, disabled_reason=None, delivered=0)
        session.add(row)
    return row


def list_subscriptions(session: Session, api_key: ApiKey) -> list[Subscription]:
    """A key's subscriptions, oldest first (disabled ones too, so an app sees why callbacks stopped)."""
    with session.begin():
        return list(session.scalars(select(Subscription).where(Subscription.api_key_id == api_key.id)
                                    .order_by(Subscription.id)))


def delete_subscription(session: Session, api_key: ApiKey, ident: str) -> None:
    """Delete one of the key's subscriptions (its pending callbacks go with it); 404 for any other."""
    with session.begin():
        row = session.get(Subscription, int(ident)) if ident.isascii() and ident.isdigit() and len(ident) < 19 else None
        if row is None or row.api_key_id != api_key.id:
            raise NotFound(f"subscription {ident[:40]!r} not found.")
        session.delete(row)


def enqueue_callbacks(session: Session, update: StatusUpdate, now: datetime) -> int:
    """Inside the transaction that applied `update`: one outbox row per matching active subscription."""
    request = session.get(ServiceRequest, update.request_id)
    if request is None:
        return 0
    matches: Sequence[int] = session.scalars(select(Subscription.id).where(
        Subscription.jurisdiction_id == request.jurisdiction_id, Subscription.active.is_(True),
        or_(Subscription.service_code == request.service_code,
            (Subscription.service_code.is_(None)) & (Subscription.api_key_id == request.api_key_id)))).all()
    for subscription_id in matches:
        session.add(OutboxMessage(request_id=request.id, kind=CALLBACK_KIND, department=CALLBACK_DEPARTMENT,
                                  subscription_id=subscription_id, status_update_id=update.id, state="pending",
                                  attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    return len(matches)


def record_callback_outcome(session: Session, subscription_id: int, *, delivered: bool, dead: bool,
                            reason: str | None, now: datetime) -> None:
    """Count a delivered callback; a callback given up on disables its subscription (dropped)."""
    with session.begin():
        if delivered:
            session.execute(update(Subscription).where(Subscription.id == subscription_id)
                            .values(delivered=Subscription.delivered + 1))
        elif dead:
            session.execute(update(Subscription).where(Subscription.id == subscription_id,
                                                       Subscription.active.is_(True))
                            .values(active=False, disabled_at=now, disabled_reason=(reason or "")[:500]))
