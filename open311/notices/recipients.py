"""Who asked to hear: the POST extension field `notify` read and checked, and the recipients stored with the
request (or follower) in the same transaction. Recipients are contact data: write-only."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from open311.storage.models import NoticeRecipient

EMAIL, PUSH = "email", "push"
# An address as the notice is sent to it (a mailbox, not a display name); the e-mail field's own check is looser.
_MAILBOX = re.compile(r"[^@\s<>\"(),;:\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+", re.ASCII)
MAX_SUBSCRIPTION = 4096


@dataclass(frozen=True)
class NoticePolicy:
    """The channels this gateway sends on (no notices while a channel is unset), and how a push endpoint is
    vetted (SSRF: the HTTP layer passes the callbacks' check; it returns a problem or None)."""

    channels: frozenset[str] = frozenset()
    check_endpoint: Callable[[str], str | None] = field(default=lambda _url: None)


@dataclass(frozen=True)
class NoticeSetup:
    """What intake needs to take a POST's `notify`: the policy, the links' secret, the report's language."""

    policy: NoticePolicy
    secret: str
    locale: str = "en"


@dataclass(frozen=True)
class Wanted:
    """One recipient a POST asked for (not stored yet)."""

    channel: str
    email: str | None = None
    push_endpoint: str | None = None
    push_p256dh: str | None = None
    push_auth: str | None = None


def _key(value: Any, size: int) -> str | None:
    """A base64url key of exactly `size` bytes, as the browser gives it."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return value if len(raw) == size else None


def _push(raw: str, policy: NoticePolicy, problems: list[str]) -> Wanted | None:
    """A PushSubscription as JSON (endpoint, keys.p256dh, keys.auth), its endpoint vetted."""
    try:
        data = json.loads(raw) if len(raw) <= MAX_SUBSCRIPTION else None
    except ValueError:
        data = None
    keys = data.get("keys") if isinstance(data, dict) else None
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    p256dh = _key(keys.get("p256dh"), 65) if isinstance(keys, dict) else None
    auth = _key(keys.get("auth"), 16) if isinstance(keys, dict) else None
    if not isinstance(endpoint, str) or p256dh is None or auth is None or len(endpoint) > 2000:
        problems.append("push_subscription must be a browser's PushSubscription as JSON: "
                        '{"endpoint": "https://...", "keys": {"p256dh": "...", "auth": "..."}}.')
        return None
    problem = policy.check_endpoint(endpoint)
    if problem:
        problems.append(f"push_subscription: {problem}")
        return None
    return Wanted(PUSH, push_endpoint=endpoint, push_p256dh=p256dh, push_auth=auth)


def read_notify(fields: Mapping[str, str], policy: NoticePolicy, problems: list[str]) -> list[Wanted]:
    """The recipients a POST's `notify` asks for (`email`, `push`, or both: comma-separated), each problem noted."""
    raw = (fields.get("notify") or "").strip()
    if not raw:
        return []
    asked = [part.strip().lower() for part in raw.replace(" ", ",").split(",") if part.strip()]
    wanted: list[Wanted] = []
    for channel in dict.fromkeys(asked):
        if channel not in (EMAIL, PUSH) and channel not in policy.channels:
            problems.append(f"notify must list email or push (comma-separated), got {channel[:20]!r}.")
        elif channel not in policy.channels:
            problems.append(f"notify={channel}: this gateway does not send {channel} notices.")
        elif channel == EMAIL:
            address = (fields.get("email") or "").strip()
            if not address:
                problems.append("notify=email needs the email field.")
            elif not _MAILBOX.fullmatch(address) or len(address) > 320:
                problems.append("notify=email: email is not an address notices can be sent to.")
            else:
                wanted.append(Wanted(EMAIL, email=address))
        elif channel == PUSH:
            found = _push(fields.get("push_subscription") or "", policy, problems)
            if found is not None:
                wanted.append(found)
        else:   # a channel from an installed notifier (an SMS gateway ...): it reads the phone field
            phone = (fields.get("phone") or "").strip()
            if not phone:
                problems.append(f"notify={channel} needs the phone field.")
            else:
                wanted.append(Wanted(channel, email=None, push_endpoint=None))
    return wanted


def add_recipients(connection: Connection, request_id: int, wanted: list[Wanted], locale: str, now: datetime, *,
                   follower_id: int | None = None) -> list[int]:
    """Store the recipients (in the caller's transaction); return their ids."""
    ids = []
    for item in wanted:
        ids.append(int(connection.execute(insert(NoticeRecipient).values(
            request_id=request_id, follower_id=follower_id, channel=item.channel, email=item.email,
            push_endpoint=item.push_endpoint, push_p256dh=item.push_p256dh, push_auth=item.push_auth,
            locale=locale, created_at=now, unsubscribed_at=None).returning(NoticeRecipient.id)).scalar_one()))
    return ids


def unsubscribe(session: Session, recipient_id: int, now: datetime) -> NoticeRecipient | None:
    """Stop every notice to a recipient at once (None: no such recipient); notices not yet sent are dropped."""
    with session.begin():
        row = session.get(NoticeRecipient, recipient_id)
        if row is None:
            return None
        if row.unsubscribed_at is None:
            session.execute(update(NoticeRecipient).where(NoticeRecipient.id == recipient_id)
                            .values(unsubscribed_at=now))
        return row


def recipients_of(session: Session, request_id: int) -> list[NoticeRecipient]:
    """A request's recipients (tests and the status page's "you follow this" check)."""
    with session.begin():
        return list(session.scalars(select(NoticeRecipient).where(NoticeRecipient.request_id == request_id)))
