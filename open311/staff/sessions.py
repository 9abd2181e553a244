"""Staff sessions, kept server-side: random cookie tokens stored as SHA-256, CSRF tokens, rotation at login.

A browser first gets an anonymous session (its only use: the CSRF token of the login and set-up forms). Logging
in deletes that session and creates a new one with a new token, so a token known before login (session
fixation) is worthless after it. Sessions end after OPEN311_STAFF_SESSION_IDLE_MINUTES without use, after
OPEN311_STAFF_SESSION_MAX_HOURS in all, at logout, and when the account is disabled.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from open311.staff.accounts import token_hash
from open311.storage.models import StaffAccount, StaffSession

# last_seen_at is written at most this often (a page view is not a write each time)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts unused and in all."""

    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True)
class Current:
    """The session a request presented: its stored row, the cookie token, and the account when logged in."""

    token: str
    csrf_token: str
    account: StaffAccount | None
    created_at: datetime


def _new(session: Session, staff_id: int | None, now: datetime) -> Current:
    """Store a new session; return it with its token (the cookie's value)."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=token_hash(token), staff_id=staff_id, csrf_token=secrets.token_urlsafe(32),
                       created_at=now, last_seen_at=now)
    with session.begin():
        session.add(row)
        account = session.get(StaffAccount, staff_id) if staff_id is not None else None
    return Current(token, row.csrf_token, account, now)


def start_anonymous(session: Session, now: datetime) -> Current:
    """A session before login: only a CSRF token for the login form."""
    return _new(session, None, now)


def load(session: Session, token: str | None, policy: SessionPolicy, now: datetime) -> Current | None:
    """The live session of a cookie token (None: none, expired, or of a disabled account); touches it."""
    if not token or len(token) > 200:
        return None
    key = token_hash(token)
    with session.begin():
        row = session.get(StaffSession, key)
        if row is None:
            return None
        if row.last_seen_at + policy.idle < now or row.created_at + policy.lifetime < now:
            session.delete(row)
            return None
        account = session.get(StaffAccount, row.staff_id) if row.staff_id is not None else None
        if row.staff_id is not None and (account is None or account.disabled_at is not None):
            session.delete(row)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return Current(token, row.csrf_token, account, row.created_at)


def log_in(session: Session, previous: Current | None, account: StaffAccount, now: datetime,
           policy: SessionPolicy) -> Current:
    """Replace the pre-login session (if any) with a new one for the account: new token, new CSRF token. Sessions
    past their time (abandoned ones are never presented again) are deleted on the way."""
    if previous is not None:
        end(session, previous.token)
    expire_old(session, policy, now)
    return _new(session, account.id, now)


def end(session: Session, token: str) -> None:
    """Delete a session (logout)."""
    with session.begin():
        session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def csrf_ok(current: Current | None, sent: str | None) -> bool:
    """True when a form carries its session's CSRF token (compared in constant time)."""
    if current is None or not sent:
        return False
    return hmac.compare_digest(current.csrf_token.encode(), sent.encode("utf-8", "surrogatepass"))


def expire_old(session: Session, policy: SessionPolicy, now: datetime) -> int:
    """Delete sessions past their idle time or lifetime; return how many."""
    with session.begin():
        result = session.execute(delete(StaffSession).where(or_(StaffSession.last_seen_at < now - policy.idle,
                                                                StaffSession.created_at < now - policy.lifetime)))
    return int(getattr(result, "rowcount", 0))
