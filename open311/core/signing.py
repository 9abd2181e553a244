"""HMAC-SHA256 signatures of outgoing bodies (webhook tickets and subscribers' callbacks), one scheme for both;
and the one way secret tokens are stored (their SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Open311-Signature"
TOLERANCE = 300  # seconds a receiver should accept between the signed time and its own clock


def stored_hash(token: str) -> str:
    """How a secret token is kept (API keys, staff set-up and session tokens, status links): its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def sign(secret: str, timestamp: str, payload: bytes) -> str:
    """The signature header value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + payload>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, payload: bytes, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and its time is within TOLERANCE of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp = parts.get("t", "")
    if not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        return False
    expected = sign(secret, stamp, payload).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
