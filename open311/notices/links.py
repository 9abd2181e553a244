"""Capability links derived from the notice secret: a request's status page (/r/<token>) and one-click unsubscribes.

A status link's token is HMAC-SHA256(secret, "status:<request id>:<nonce>"): 256 bits, unrelated to the request
id for anyone without the secret, and re-derivable (so every notice carries it) while only its SHA-256 is kept
for look-ups. Revoking a link marks it; a new one has a new nonce. An unsubscribe token is the recipient's id
with its HMAC, so a tampered or made-up link is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from open311.core.signing import stored_hash
from open311.storage.models import StatusLink

NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: str, message: str) -> bytes:
    """HMAC-SHA256 of a message under the notice secret."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def token_hash(token: str) -> str:
    """The stored form of a status token."""
    return stored_hash(token)


def status_token(secret: str, request_id: int, nonce: str) -> str:
    """The status page token of a link."""
    return _b64(_mac(secret, f"status:{request_id}:{nonce}"))


def create_status_link(connection: Connection, secret: str, request_id: int, locale: str, now: datetime) -> str:
    """A new status link for a request (in the caller's transaction); return its token."""
    nonce = _b64(secrets.token_bytes(NONCE_BYTES))
    token = status_token(secret, request_id, nonce)
    connection.execute(insert(StatusLink).values(token_hash=token_hash(token), request_id=request_id, nonce=nonce,
                                                 locale=locale, created_at=now, revoked_at=None))
    return token


def find_status_link(session: Session, token: str) -> StatusLink | None:
    """The live link of a token (None: unknown, revoked, or not a token at all)."""
    if not token or len(token) > 100:
        return None
    with session.begin():
        row = session.get(StatusLink, token_hash(token))
    return row if row is not None and row.revoked_at is None else None


def current_token(session: Session, secret: str, request_id: int) -> tuple[str, str] | None:
    """The token and locale of a request's newest live link."""
    with session.begin():
        row = session.scalars(select(StatusLink).where(StatusLink.request_id == request_id,
                                                       StatusLink.revoked_at.is_(None))
                              .order_by(StatusLink.created_at.desc()).limit(1)).first()
    return (status_token(secret, request_id, row.nonce), row.locale) if row is not None else None


def revoke_status_links(session: Session, request_id: int, now: datetime) -> int:
    """Revoke every live link of a request (`open311 notices new-link`); return how many."""
    with session.begin():
        result = session.execute(update(StatusLink).where(StatusLink.request_id == request_id,
                                                          StatusLink.revoked_at.is_(None)).values(revoked_at=now))
    return int(getattr(result, "rowcount", 0))


def unsubscribe_token(secret: str, recipient_id: int) -> str:
    """The signed token of a recipient's one-click unsubscribe."""
    return f"{recipient_id}.{_b64(_mac(secret, f'unsubscribe:{recipient_id}'))[:32]}"


def read_unsubscribe_token(secret: str, token: str) -> int | None:
    """The recipient id of a genuine unsubscribe token (None: tampered or malformed)."""
    ident, _, _mac_part = token.partition(".")
    if not ident.isdigit() or len(ident) > 18:
        return None
    return int(ident) if hmac.compare_digest(unsubscribe_token(secret, int(ident)), token) else None
