"""Staff moderation: hide a request's public text from every output without deleting the record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from open311.storage.models import ServiceRequest

# Free text a submitter controls that the public record shows. The location, service, status and
# dates stay public; the text is moved aside (not deleted) so unhiding restores it exactly. The
# request's photos (request_media) stay stored, but while it is hidden no output lists them, the
# gateway does not serve them (GET /media/... answers 404) and tickets carry none.
HIDDEN_FIELDS = ("description", "media_url")
MAX_REASON = 1000


def hide_request(session: Session, request_id: int, reason: str, now: datetime) -> ServiceRequest | None:
    """Move the request's public text aside and record why; return the row, or None when it does not exist."""
    with session.begin():
        row = session.get(ServiceRequest, request_id, with_for_update=True)
        if row is None:
            return None
        if row.hidden_at is None:
            row.hidden_content = {name: getattr(row, name) for name in HIDDEN_FIELDS}
            for name in HIDDEN_FIELDS:
                setattr(row, name, None)
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
        for name, value in (row.hidden_content or {}).items():
            if name in HIDDEN_FIELDS:
                setattr(row, name, value)
        row.hidden_at = row.hidden_reason = row.hidden_content = None
        row.updated_datetime = max(row.updated_datetime, now)
    return row
