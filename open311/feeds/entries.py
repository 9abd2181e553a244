"""The public fields of a request, a status note and an update, as the feeds, exports and callbacks show them.

Plain dicts in the spec's field order, never with personal data; the HTTP layer renders them as XML or
JSON, the relay's callbacks as JSON.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from open311.core.closure import REOPEN_SOURCE, public_closure
from open311.core.dates import format_w3c
from open311.feeds.request_query import FeedRow
from open311.storage.models import ServiceRequest, StatusUpdate

# A request as the entries read it: an ORM object (one request) or a feed row (request_query.FEED_COLUMNS).
RequestRecord = ServiceRequest | FeedRow


def request_entry(row: RequestRecord, tz: tzinfo) -> dict[str, Any]:
    """One <request> of GET requests, with no personal data (nor, once hidden, any typed text: moderation
    moved it out of the columns read here)."""
    return {
        "service_request_id": str(row.id),
        "status": row.status,
        "status_notes": row.status_notes,
        "service_name": row.service_name,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": row.agency_responsible,
        "service_notice": row.service_notice,
        "requested_datetime": format_w3c(row.requested_datetime, tz),
        "updated_datetime": format_w3c(row.updated_datetime, tz),
        "expected_datetime": format_w3c(row.expected_datetime, tz),
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": row.zipcode,
        "lat": row.lat,
        "long": row.long,
        "media_url": row.media_url,
    }


def closure_fields(update: StatusUpdate) -> dict[str, Any]:
    """What a status update adds about closure (extension fields): a closed one's closure_code (`unspecified`
    without one) and, for a duplicate, duplicate_of; a resident's reopen says `reopened`."""
    if update.status == "closed":
        code = public_closure(update.status, update.closure_code)
        return {"closure_code": code, **({"duplicate_of": str(update.duplicate_of)} if update.duplicate_of else {})}
    if update.source == REOPEN_SOURCE:
        return {"reopened": True}
    return {}


def note_entry(update: StatusUpdate, tz: tzinfo) -> dict[str, Any]:
    """One entry of a request's status history (a reopen is a note of type `reopened`)."""
    return {"datetime": format_w3c(update.updated_datetime, tz),
            "type": "reopened" if update.source == REOPEN_SOURCE else "status_change",
            "status": update.status, "external_status": update.external_status,
            "description": update.description, **closure_fields(update)}


def update_entry(update: StatusUpdate, tz: tzinfo, extended: bool = False) -> dict[str, Any]:
    """One <request_update>, mySociety's fields, then our own number of the update (and, `extended`, the
    closure fields: closure_code, duplicate_of, reopened).

    `update_id` is the back office's id, the one its POST was answered with (or its adapter read), so a
    consumer that matches updates by update_id (FixMyStreet) recognises its own; unique per request (per
    department). `gateway_update_id` is the gateway's row number, unique across the feed.
    """
    return {
        "update_id": update.update_id,
        "service_request_id": str(update.request_id),
        "status": update.status,
        "updated_datetime": format_w3c(update.updated_datetime, tz),
        "description": update.description,
        "media_url": update.media_url,
        "external_status_code": update.external_status,
        "gateway_update_id": str(update.id),
        **(closure_fields(update) if extended else {}),
    }
