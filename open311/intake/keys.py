"""API keys: created at random, stored as SHA-256 hashes, checked in constant time, revocable, rate-limited."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from limits import parse_many
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from open311.core.signing import stored_hash
from open311.errors import Forbidden
from open311.storage.db import reading
from open311.storage.models import ApiKey

KEY_PREFIX = "o311_"
Lookup = Callable[[Session, str], ApiKey | None]
KEY_BY_HASH = select(ApiKey.__table__).where(ApiKey.__table__.c.key_hash == bindparam("key_hash"))


def hash_key(key: str) -> str:
    """Return the stored form of a key."""
    return stored_hash(key)


def check_rate_limit(value: str) -> str:
    """Return a rate limit such as "20/minute" or "20/minute;1000/day" normalised, or raise ValueError."""
    value = value.strip()
    try:
        parsed = parse_many(value)
    except ValueError:
        raise ValueError(f"invalid rate limit {value[:100]!r}: write e.g. 20/minute or 20/minute;1000/day") from None
    if any(limit.amount < 1 for limit in parsed):
        raise ValueError(f"invalid rate limit {value[:100]!r}: amounts must be at least 1 (revoke a key to stop it)")
    if len(value) > 100:
        raise ValueError("a rate limit must be at most 100 characters")
    return value


def create_key(session: Session, jurisdiction_id: str, name: str, now: datetime, *, department: str | None = None,
               rate_limit: str | None = None) -> tuple[ApiKey, str]:
    """Create a key (a department's key when `department` is given); return the row and the plaintext key
    (shown once, never stored)."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(24)
    row = ApiKey(jurisdiction_id=jurisdiction_id, name=name, key_hash=hash_key(plaintext),
                 prefix=plaintext[:12], department=department, created_at=now, revoked_at=None,
                 rate_limit=check_rate_limit(rate_limit) if rate_limit else None)
    with session.begin():
        session.add(row)
    return row, plaintext


def list_keys(session: Session, jurisdiction_id: str | None = None) -> list[ApiKey]:
    """Return keys, oldest first, optionally of one jurisdiction."""
    query = select(ApiKey).order_by(ApiKey.id)
    if jurisdiction_id:
        query = query.where(ApiKey.jurisdiction_id == jurisdiction_id)
    with session.begin():
        return list(session.scalars(query))


def _by_ident(session: Session, ident: str) -> ApiKey | None:
    """The key with this numeric id or prefix."""
    query = select(ApiKey).where(ApiKey.prefix == ident)
    if ident.isdigit():
        query = select(ApiKey).where(ApiKey.id == int(ident))
    return session.scalars(query).first()


def revoke_key(session: Session, ident: str, now: datetime) -> ApiKey | None:
    """Revoke a key by numeric id or prefix; return it, or None when no key matches."""
    with session.begin():
        row = _by_ident(session, ident)
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    return row


def set_rate_limit(session: Session, ident: str, rate_limit: str | None) -> ApiKey | None:
    """Set (or with None, clear back to the default) a key's rate limit; None when no key matches."""
    value = check_rate_limit(rate_limit) if rate_limit else None
    with session.begin():
        row = _by_ident(session, ident)
        if row is not None:
            row.rate_limit = value
    return row


def find_key(session: Session, key: str) -> ApiKey | None:
    """The stored row of a presented key (revoked or not), or None.

    Every POST asks, so this is one Core SELECT (built once) on a plain connection (storage.db.reading: in
    autocommit on PostgreSQL); the row comes back as a detached ApiKey, for reading only. Nothing is cached: a
    key revoked by another process stops working at once.
    """
    if not key or len(key) > 200:
        return None
    with reading(session, single=True) as connection:
        row = connection.execute(KEY_BY_HASH, {"key_hash": hash_key(key)}).first()
    return None if row is None else ApiKey(**row._mapping)


def _active_key(session: Session, jurisdiction_id: str, key: str | None, lookup: Lookup) -> ApiKey | None:
    """The active key row of this jurisdiction, None for an unknown, foreign or revoked key."""
    if not key:
        raise Forbidden("Missing api_key: send it as the api_key field or an Authorization: Bearer header.")
    row = lookup(session, key)
    # The lookup is by hash, so comparing hashes again in constant time guards nothing more;
    # what matters is that an unknown, foreign or revoked key gets the same answer.
    if row is None or row.jurisdiction_id != jurisdiction_id or row.revoked_at is not None:
        return None
    return row


def check_key(session: Session, jurisdiction_id: str, key: str | None, lookup: Lookup = find_key) -> ApiKey:
    """Return the active app key row for this jurisdiction, or raise Forbidden saying why."""
    row = _active_key(session, jurisdiction_id, key, lookup)
    # A department's key only posts status updates: a leaked back-office key cannot file requests.
    if row is None or row.department is not None:
        raise Forbidden("Invalid api_key received -- can't proceed with create_request.")
    return row


def check_department_key(session: Session, jurisdiction_id: str, key: str | None) -> ApiKey:
    """Return the active department key row for this jurisdiction, or raise Forbidden."""
    row = _active_key(session, jurisdiction_id, key, find_key)
    if row is None or row.department is None:
        raise Forbidden("Invalid api_key received -- can't proceed with servicerequestupdates: "
                        "a department key is required.")
    return row
