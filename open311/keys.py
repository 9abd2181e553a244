"""API keys: created at random, stored as SHA-256 hashes, checked in constant time, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Forbidden
from .models import ApiKey

KEY_PREFIX = "o311_"


def hash_key(key: str) -> str:
    """Return the stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(session: Session, jurisdiction_id: str, name: str, now: datetime,
               department: str | None = None) -> tuple[ApiKey, str]:
    """Create a key (a department's key when `department` is given); return the row and the plaintext key."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(24)
    row = ApiKey(jurisdiction_id=jurisdiction_id, name=name, key_hash=hash_key(plaintext),
                 prefix=plaintext[:12], department=department, created_at=now, revoked_at=None)
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


def revoke_key(session: Session, ident: str, now: datetime) -> ApiKey | None:
    """Revoke a key by numeric id or prefix; return it, or None when no key matches."""
    with session.begin():
        query = select(ApiKey).where(ApiKey.prefix == ident)
        if ident.isdigit():
            query = select(ApiKey).where(ApiKey.id == int(ident))
        row = session.scalars(query).first()
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    return row


def _active_key(session: Session, jurisdiction_id: str, key: str | None) -> ApiKey | None:
    """The active key row of this jurisdiction, None for an unknown, foreign or revoked key."""
    if not key:
        raise Forbidden("Missing api_key: send it as the api_key field or an Authorization: Bearer header.")
    if len(key) > 200:
        return None
    with session.begin():
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    # The lookup is by hash, so comparing hashes again in constant time guards nothing more;
    # what matters is that an unknown, foreign or revoked key gets the same answer.
    if row is None or row.jurisdiction_id != jurisdiction_id or row.revoked_at is not None:
        return None
    return row


def check_key(session: Session, jurisdiction_id: str, key: str | None) -> ApiKey:
    """Return the active app key row for this jurisdiction, or raise Forbidden saying why."""
    row = _active_key(session, jurisdiction_id, key)
    # A department's key only posts status updates: a leaked back-office key cannot file requests.
    if row is None or row.department is not None:
        raise Forbidden("Invalid api_key received -- can't proceed with create_request.")
    return row


def check_department_key(session: Session, jurisdiction_id: str, key: str | None) -> ApiKey:
    """Return the active department key row for this jurisdiction, or raise Forbidden."""
    row = _active_key(session, jurisdiction_id, key)
    if row is None or row.department is None:
        raise Forbidden("Invalid api_key received -- can't proceed with servicerequestupdates: "
                        "a department key is required.")
    return row
