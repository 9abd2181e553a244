"""Staff accounts: roles, one-time set-up links, Argon2 password hashes, disabling (never deleting)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.core.signing import stored_hash
from open311.storage.models import StaffAccount, StaffSession

AGENT, SUPERVISOR, OPERATOR = "agent", "supervisor", "operator"
# The entry-point name of the staff queue adapter (open311_adapters/staff.py): departments that use it have a queue.
STAFF_ADAPTER = "staff"
ROLES = (AGENT, SUPERVISOR, OPERATOR)
SETUP_TTL = timedelta(hours=72)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_EMAIL = 320
# One hasher: argon2-cffi's defaults (Argon2id, RFC 9106's low-memory profile).
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.

    Made on the first login, not at import: a hash takes the profile's 64 MiB for a moment, and made at import
    it set every serving worker's peak memory (B7: 212 MB peak against 149 MB once started).
    """
    return _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A staff account cannot be created or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Setup:
    """A new account and its one-time set-up token (shown once, only its SHA-256 is stored)."""

    account: StaffAccount
    token: str


def normalise_email(email: str) -> str:
    """An e-mail address as accounts are keyed: trimmed and lower-cased; AccountError when it is not one."""
    text = email.strip().lower()
    local, _, domain = text.partition("@")
    if not local or "." not in domain or len(text) > MAX_EMAIL or any(c.isspace() or ord(c) < 32 for c in text):
        raise AccountError(f"{email[:80]!r} is not an e-mail address")
    return text


def token_hash(token: str) -> str:
    """The stored form of a set-up or session token."""
    return stored_hash(token)


def create_account(session: Session, *, jurisdiction_id: str, department: str | None, email: str, role: str,
                   now: datetime) -> Setup:
    """A new account without a password, and the token of its one-time set-up link."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role != OPERATOR and not department:
        raise AccountError(f"an {role} belongs to a department: give --department")
    token = secrets.token_urlsafe(32)
    row = StaffAccount(email=normalise_email(email), jurisdiction_id=jurisdiction_id, department=department,
                       role=role, password_hash=None, setup_hash=token_hash(token),
                       setup_expires_at=now + SETUP_TTL, created_at=now, disabled_at=None)
    try:
        with session.begin():
            session.add(row)
    except IntegrityError:
        raise AccountError(f"an account for {row.email} already exists") from None
    return Setup(row, token)


def renew_setup(session: Session, email: str, now: datetime) -> Setup:
    """A fresh set-up link for an existing, enabled account (a forgotten password); the old password stops working."""
    token = secrets.token_urlsafe(32)
    with session.begin():
        row = session.scalars(select(StaffAccount).where(StaffAccount.email == normalise_email(email))).first()
        if row is None or row.disabled_at is not None:
            raise AccountError(f"no enabled account for {email[:80]!r}")
        row.password_hash, row.setup_hash, row.setup_expires_at = None, token_hash(token), now + SETUP_TTL
        session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
    return Setup(row, token)


def check_password(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"The password must be at least {MIN_PASSWORD} characters long."
    if len(password) > MAX_PASSWORD:
        return f"The password must be at most {MAX_PASSWORD} characters long."
    return None


def _setup_usable(row: StaffAccount | None, now: datetime) -> bool:
    """True when an account's set-up link can still be used (the account enabled, the link not expired)."""
    return row is not None and row.disabled_at is None and row.setup_expires_at is not None \
        and row.setup_expires_at >= now


def setup_account(session: Session, token: str, password: str, now: datetime) -> StaffAccount | None:
    """Set the password of the account whose unexpired set-up token this is, and spend the token (None: no such
    token: used, expired, or never issued)."""
    with session.begin():
        row = session.scalars(select(StaffAccount).where(StaffAccount.setup_hash == token_hash(token))).first()
        if not _setup_usable(row, now):
            return None
        assert row is not None
        row.password_hash, row.setup_hash, row.setup_expires_at = _HASHER.hash(password), None, None
        return row


def setup_pending(session: Session, token: str, now: datetime) -> StaffAccount | None:
    """The account a set-up token is for, while it can still be used."""
    with session.begin():
        row = session.scalars(select(StaffAccount).where(StaffAccount.setup_hash == token_hash(token))).first()
    return row if _setup_usable(row, now) else None


def authenticate(session: Session, email: str, password: str) -> StaffAccount | None:
    """The enabled account these credentials open, else None (the same work whether or not the e-mail exists)."""
    try:
        key = normalise_email(email)
    except AccountError:
        key = ""
    with session.begin():
        row = session.scalars(select(StaffAccount).where(StaffAccount.email == key)).first() if key else None
    stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
    try:
        _HASHER.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.password_hash is None or row.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(stored):
        with session.begin():
            session.execute(update(StaffAccount).where(StaffAccount.id == row.id)
                            .values(password_hash=_HASHER.hash(password)))
    return row


def find_account(session: Session, ident: str) -> StaffAccount | None:
    """An account by id or e-mail."""
    with session.begin():
        if ident.isdigit() and len(ident) < 19:
            return session.get(StaffAccount, int(ident))
        return session.scalars(select(StaffAccount).where(StaffAccount.email == ident.strip().lower())).first()


def list_accounts(session: Session, *, department: str | None = None) -> list[StaffAccount]:
    """Accounts, by id (one department's when given)."""
    stmt = select(StaffAccount).order_by(StaffAccount.id)
    if department:
        stmt = stmt.where(StaffAccount.department == department)
    with session.begin():
        return list(session.scalars(stmt))


def department_staff(session: Session, jurisdiction_id: str, department: str) -> list[StaffAccount]:
    """The enabled agents and supervisors of a department, by e-mail: whom a request can be assigned to."""
    stmt = (select(StaffAccount).where(StaffAccount.jurisdiction_id == jurisdiction_id,
                                       StaffAccount.department == department,
                                       StaffAccount.role.in_((AGENT, SUPERVISOR)),
                                       StaffAccount.disabled_at.is_(None))
            .order_by(func.lower(StaffAccount.email)))
    with session.begin():
        return list(session.scalars(stmt))


def disable_account(session: Session, ident: str, now: datetime) -> StaffAccount | None:
    """Disable an account at once: its sessions end and its set-up link stops working (None: no such account)."""
    row = find_account(session, ident)
    if row is None:
        return None
    with session.begin():
        session.execute(update(StaffAccount).where(StaffAccount.id == row.id, StaffAccount.disabled_at.is_(None))
                        .values(disabled_at=now, setup_hash=None, setup_expires_at=None))
        session.execute(delete(StaffSession).where(StaffSession.staff_id == row.id))
    return find_account(session, str(row.id))
