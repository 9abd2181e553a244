"""The staff audit log: every login, refusal, display of contact details and action, with who, when, which request.

Rows are written from fixed words and ids only (never a resident's contact data nor free text they sent);
`open311 audit` prints them. Failed logins are counted here too: the login limit reads them back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from open311.storage.models import StaffAccount, StaffAudit

# What is recorded (action names are stable: operators grep for them).
ACTIONS = {
    "account_created": "an account was created (open311 staff create)",
    "account_disabled": "an account was disabled (open311 staff disable)",
    "setup_link": "a new set-up link was issued (open311 staff reset)",
    "password_set": "a set-up link was used to set a password",
    "login": "a login succeeded",
    "login_failed": "a login was refused: wrong e-mail or password",
    "login_limited": "a login was refused: too many failures in a minute (429)",
    "logout": "a logout",
    "session_refused": "a stale or unknown session was presented",
    "csrf_refused": "a form without its CSRF token was refused",
    "denied": "a page or action outside the account's department or role was refused (404 or 403)",
    "view_contact": "a resident's contact details were shown",
    "assign": "a request was assigned to a person",
    "status": "a request's status was set",
    "note_public": "a public note was added",
    "note_internal": "an internal note was added",
    "duplicate": "a request was marked a duplicate of another",
    "retry_dead": "dead letters were put back in the queue",
}
MAX_DETAIL = 500


@dataclass(frozen=True)
class Entry:
    """One audit line as printed: when, who (e-mail or subject), what, which request, details."""

    id: int
    at: datetime
    who: str
    action: str
    request_id: int | None
    detail: str | None
    address: str | None


def subject_of(email: str) -> str:
    """How a login for an e-mail is keyed when no account is known: a SHA-256 prefix, never the address."""
    return "email:" + hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def record(session: Session, action: str, now: datetime, *, staff: StaffAccount | None = None,
           request_id: int | None = None, detail: str | None = None, subject: str | None = None,
           address: str | None = None) -> None:
    """Write one audit row in a transaction of its own (an action's row is written after the action)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = StaffAudit(at=now, staff_id=staff.id if staff is not None else None, subject=subject, action=action,
                     request_id=request_id, detail=(detail or None) and detail[:MAX_DETAIL],
                     address=(address or None) and address[:64])
    with session.begin():
        session.add(row)


def failed_logins(session: Session, *, subject: str, address: str | None, since: datetime) -> tuple[int, int]:
    """Failed logins since `since`: for this e-mail (its subject), and from this address."""
    base = select(func.count()).select_from(StaffAudit).where(StaffAudit.action == "login_failed",
                                                              StaffAudit.at >= since)
    with session.begin():
        mine = int(session.scalar(base.where(StaffAudit.subject == subject)) or 0)
        here = int(session.scalar(base.where(StaffAudit.address == address)) or 0) if address else 0
    return mine, here


def entries(session: Session, *, request_id: int | None = None, staff_email: str | None = None,
            actions: Sequence[str] = (), since: datetime | None = None, limit: int = 1000) -> list[Entry]:
    """Audit rows, oldest first, filtered by request, account e-mail, action and time."""
    stmt = (select(StaffAudit, StaffAccount.email).outerjoin(StaffAccount, StaffAccount.id == StaffAudit.staff_id)
            .order_by(StaffAudit.id))
    if request_id is not None:
        stmt = stmt.where(StaffAudit.request_id == request_id)
    if staff_email:
        stmt = stmt.where(or_(func.lower(StaffAccount.email) == staff_email.strip().lower(),
                              StaffAudit.subject == subject_of(staff_email)))
    if actions:
        stmt = stmt.where(StaffAudit.action.in_(list(actions)))
    if since is not None:
        stmt = stmt.where(StaffAudit.at >= since)
    with session.begin():
        rows = session.execute(stmt.limit(limit)).all()
    return [Entry(row.id, row.at, email or row.subject or "-", row.action, row.request_id, row.detail, row.address)
            for row, email in rows]

