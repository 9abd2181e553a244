"""Push to apps: subscriptions to status changes, and the outbox rows that become signed callbacks."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.errors import BadRequest, NotFound
from open311.settings import CallbackPolicy
from open311.storage.models import ApiKey, OutboxMessage, ServiceRequest, StatusUpdate, Subscription

CALLBACK_KIND = "callback"
CALLBACK_DEPARTMENT = "-callbacks"   # outbox rows of callbacks are no department's deliveries
MAX_URL = 2000

# IPv6 prefixes that carry an IPv4 address inside (a NAT64 gateway, a 6to4 or Teredo relay, or the host's own
# stack may turn them into that IPv4 destination): refused whatever the embedded address is.
IPV4_EMBEDDING = tuple(ipaddress.IPv6Network(prefix) for prefix in (
    "::ffff:0:0/96",     # IPv4-mapped
    "::/96",             # IPv4-compatible (deprecated; also :: and ::1)
    "::ffff:0:0:0/96",   # IPv4-translated (SIIT)
    "64:ff9b::/96",      # NAT64, well-known prefix
    "64:ff9b:1::/48",    # NAT64, local-use prefix
    "2002::/16",         # 6to4
    "2001::/32",         # Teredo
))


class UnsafeDestination(ValueError):
    """The callback URL points somewhere the gateway must not call."""


class Unresolvable(UnsafeDestination):
    """The callback URL's host name does not resolve (right now: at sending time that is worth a retry)."""


@dataclass(frozen=True)
class Destination:
    """A checked callback URL, and the addresses its host resolved to (empty when not resolved)."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def is_public_address(text: str) -> bool:
    """True for a globally reachable unicast address that embeds no IPv4 address (the only kind callbacks go to)."""
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and any(address in net for net in IPV4_EMBEDDING):
        return False
    return address.is_global and not address.is_multicast


def _split(url: str, policy: CallbackPolicy) -> tuple[str, int]:
    """The host and port of a callback URL that is well-formed and allowed by its form; else UnsafeDestination."""
    if len(url) > MAX_URL:
        raise UnsafeDestination(f"callback_url must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:   # "https://[/", a port out of range or not a number
        raise UnsafeDestination("callback_url is not a valid URL (check its host and port)") from None
    if parts.scheme not in (("https", "http") if policy.allow_http else ("https",)):
        raise UnsafeDestination("callback_url must be an https:// URL" +
                                (" (or http://)" if policy.allow_http else ""))
    if not host or parts.username or parts.password:
        raise UnsafeDestination("callback_url must name a host and carry no user name or password")
    if port == 0:
        raise UnsafeDestination("callback_url is not a valid URL (check its host and port)")
    return host, port or (443 if parts.scheme == "https" else 80)


def resolve_host(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to, in the resolver's order; Unresolvable when it does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise Unresolvable(f"callback_url host {host[:100]!r} does not resolve") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Unresolvable(f"callback_url host {host[:100]!r} does not resolve")
    return addresses


def check_callback_url(url: str, policy: CallbackPolicy, *, resolve: bool = True) -> Destination:
    """A callback URL the gateway may POST to, with the addresses to connect to; raise UnsafeDestination saying why not.

    With `resolve`, the host name is resolved once and every address it resolves to must be public (see
    is_public_address) unless the policy allows private ones (so an app cannot point the gateway at its own
    network). The caller connects to one of these addresses, never to a second resolution of the name.
    """
    host, port = _split(url, policy)
    if not resolve:
        return Destination(url, host, port, ())
    addresses = resolve_host(host, port)
    if not policy.allow_private and not all(is_public_address(a) for a in addresses):
        raise UnsafeDestination("callback_url resolves to a private, loopback or reserved address")
    return Destination(url, host, port, addresses)


def create_subscription(session: Session, jurisdiction: Jurisdiction, api_key: ApiKey, callback_url: str | None,
                        service_code: str | None, now: datetime, policy: CallbackPolicy) -> Subscription:
    """Subscribe a key's callback URL to its own requests' status changes, or to one service's."""
    problems: list[str] = []
    if not callback_url:
        problems.append("callback_url was not provided.")
    else:
        try:
            check_callback_url(callback_url, policy, resolve=not policy.allow_private)
        except UnsafeDestination as exc:
            problems.append(f"{exc}.")
    if service_code and jurisdiction.catalog.get(service_code) is None:
        raise NotFound(f"service_code {service_code[:64]!r} not found.")
    if problems:
        raise BadRequest(*problems)
    assert callback_url is not None
    with session.begin():
        _lock_key(session, api_key.id)
        held = session.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.api_key_id == api_key.id, Subscription.active.is_(True)))
        if (held or 0) >= policy.per_key:
            raise BadRequest(f"This api_key already has {policy.per_key} active subscriptions; delete one first.")
        row = Subscription(jurisdiction_id=jurisdiction.id, api_key_id=api_key.id, callback_url=callback_url,
                           service_code=service_code or None, secret=secrets.token_urlsafe(32), active=True,
                           created_at=now, disabled_at=None, disabled_reason=None, delivered=0)
        session.add(row)
    return row


def _lock_key(session: Session, api_key_id: int) -> None:
    """Serialise a key's subscription inserts, so that counting its active ones and adding one are atomic.

    PostgreSQL: lock the key's row (SELECT ... FOR UPDATE) until the transaction ends. SQLite: take the
    database's write lock before counting, with a write that changes nothing (the driver begins its
    transaction at the first write; a count read before it could be outdated by the time of the insert).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(ApiKey).where(ApiKey.id == api_key_id).values(id=ApiKey.id)
                        .execution_options(synchronize_session=False))
    else:
        session.execute(select(ApiKey.id).where(ApiKey.id == api_key_id).with_for_update())


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


def matching_subscriptions(jurisdiction_id: str, service_code: str, api_key_id: int | None) -> Select[Any]:
    """The ids of the active subscriptions a request's events go to: its service's, and its own key's."""
    return select(Subscription.id).where(
        Subscription.jurisdiction_id == jurisdiction_id, Subscription.active.is_(True),
        or_(Subscription.service_code == service_code,
            (Subscription.service_code.is_(None)) & (Subscription.api_key_id == api_key_id))).order_by(Subscription.id)


def enqueue_callbacks(session: Session, update: StatusUpdate, now: datetime) -> int:
    """Inside the transaction that applied `update`: one outbox row per matching active subscription."""
    request = session.get(ServiceRequest, update.request_id)
    if request is None:
        return 0
    matches: Sequence[int] = session.scalars(matching_subscriptions(request.jurisdiction_id, request.service_code,
                                                                    request.api_key_id)).all()
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
