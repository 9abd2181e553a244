"""Staff moderation: hide a request's public text from every output without deleting the record.

This is the one place redaction happens. Hiding moves every piece of text the resident typed out of the
public columns into `hidden_content` (staff-only, never read by a feed, an export, a callback or a ticket);
every output reads only the public columns, so none of them, present or future, can show it. Unhiding
moves it back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from open311.catalog.definitions import Service
from open311.config.jurisdictions import GatewayConfig
from open311.storage.models import ServiceRequest

# Columns holding what the submitter typed: description, address_string (stored as `address`) and the
# media_url link. The location (lat/long, address_id, zipcode), service, status and dates stay public.
# The request's photos (request_media) stay stored, but while it is hidden no output lists them, the
# gateway does not serve them (GET /media/... answers 404) and tickets carry none.
HIDDEN_FIELDS = ("description", "address", "media_url")
# Attribute answers typed freely (the catalog's datatypes); the others are keys, numbers or dates.
FREE_TEXT_DATATYPES = frozenset({"string", "text"})
ANSWERS = "attributes"  # the key in hidden_content holding every answer as submitted
MAX_REASON = 1000


def public_answers(service: Service | None, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a hidden request still shows: only those to questions the catalog knows are not free text.

    An answer to a string or text question, to a question the catalog no longer has, or of a service it no
    longer has, is withheld: what cannot be shown to be safe is treated as typed text.
    """
    if service is None:
        return {}
    chosen = {a.code for a in service.attributes if a.datatype not in FREE_TEXT_DATATYPES}
    return {code: value for code, value in answers.items() if code in chosen}


def _service(config: GatewayConfig, row: ServiceRequest) -> Service | None:
    jurisdiction = config.jurisdictions.get(row.jurisdiction_id)
    return jurisdiction.catalog.get(row.service_code) if jurisdiction is not None else None


def hide_request(session: Session, request_id: int, reason: str, now: datetime, *,
                 config: GatewayConfig) -> ServiceRequest | None:
    """Move the request's typed text aside and record why; return the row, or None when it does not exist.

    Hiding again moves whatever is still public (a request hidden by an older version kept its address and
    answers public) and replaces the reason.
    """
    with session.begin():
        row = session.get(ServiceRequest, request_id, with_for_update=True)
        if row is None:
            return None
        kept = dict(row.hidden_content or {}) if row.hidden_at is not None else {}
        for name in HIDDEN_FIELDS:
            if name not in kept:
                kept[name] = getattr(row, name)
                setattr(row, name, None)
        if ANSWERS not in kept:
            kept[ANSWERS] = dict(row.attributes or {})
            row.attributes = public_answers(_service(config, row), kept[ANSWERS])
        row.hidden_content = kept
        row.hidden_at = now
        row.hidden_reason = reason[:MAX_REASON]
        # Incremental feed readers pick the change up and drop the text from their copies too.
        row.updated_datetime = max(row.updated_datetime, now)
    return row


def unhide_request(session: Session, request_id: int, now: datetime) -> ServiceRequest | None:
    """Put hidden text back; return the row (unchanged when it was not hidden), or None when it does not exist."""
    with session.begin():
        row = session.get(ServiceRequest, request_id, with_for_update=True)
        if row is None or row.hidden_at is None:
            return row
        kept = row.hidden_content or {}
        for name in HIDDEN_FIELDS:
            if name in kept:
                setattr(row, name, kept[name])
        if isinstance(kept.get(ANSWERS), dict):
            row.attributes = dict(kept[ANSWERS])
        row.hidden_at = row.hidden_reason = row.hidden_content = None
        row.updated_datetime = max(row.updated_datetime, now)
    return row


def withheld(row: ServiceRequest) -> list[str]:
    """What hiding withholds from the public, by name (for staff; never the text itself)."""
    kept = row.hidden_content or {}
    names = ["address_string" if n == "address" else n for n in HIDDEN_FIELDS if kept.get(n)]
    public = row.attributes or {}
    names += [f"attribute[{code}]" for code in kept.get(ANSWERS, {}) if code not in public]
    return names
