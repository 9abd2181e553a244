"""Which API key a POST presents, and its row, looked up once per request (the rate limiter asks first)."""

from __future__ import annotations

from flask import Request, g
from sqlalchemy.orm import Session

from open311.georeport.parsing import param
from open311.intake.keys import find_key
from open311.intake.submit import Submission
from open311.storage.models import ApiKey


def api_key_of(request: Request, submission: Submission) -> str | None:
    """api_key from the body, the query string or an Authorization: Bearer header."""
    key = param(submission.fields, "api_key") or param(request.args, "api_key")
    auth = request.headers.get("Authorization", "")
    if not key and auth[:7].lower() == "bearer ":
        key = auth[7:].strip() or None
    return key


def key_row(session: Session, key: str) -> ApiKey | None:
    """The stored row of a presented key (revoked or not), from the database once per request."""
    found: dict[str, ApiKey | None] = g.setdefault("open311_key_rows", {})
    if key not in found:
        found[key] = find_key(session, key)
    return found[key]
