"""The rows of the published snapshots: exactly what the public feed shows, read the way the feed reads them.

Each row is a request as GET requests.json?extensions=true publishes it (no personal data; a hidden request's
text is not in the columns read), flattened to one table: the spec's fields, then the extensions' public ones
(department, channel, closure_code, duplicate_of, parent_service_request_id and the attribute answers as JSON).
Left out on purpose: sla_state (it changes with the clock, so every file would change every day) and the
status history (one row per request; the update feed has it).

Rows are read through open311.feeds.request_query.find_requests itself, window by window (the feed's windows are
at most 90 days) and page by page with its cursor, so memory stays bounded and the rows are the feed's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.closure import public_closure
from open311.feeds.entries import request_entry
from open311.feeds.request_query import DEFAULT_WINDOW, FeedRow, RequestQuery, find_requests
from open311.storage.models import ServiceRequest

PAGE = 1000
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Column:
    """One column of the snapshots: its name, its Table Schema type and what it holds."""

    name: str
    kind: str           # Table Schema type: string, number, integer, datetime
    description: str


COLUMNS = (
    Column("service_request_id", "string", "The request's id (GET requests/{id})."),
    Column("status", "string", "open or closed."),
    Column("status_notes", "string", "The department's public note on the status."),
    Column("service_name", "string", "The service's name in the catalog's language (English)."),
    Column("service_code", "string", "The service's code (GET services)."),
    Column("description", "string", "What the resident wrote (empty once moderation hid it)."),
    Column("agency_responsible", "string", "The department that handles it."),
    Column("service_notice", "string", "The notice the resident was given."),
    Column("requested_datetime", "datetime", "When it was reported (UTC in Parquet; the County's offset in CSV "
                                             "and GeoJSON, as the feed writes it)."),
    Column("updated_datetime", "datetime", "When it last changed."),
    Column("expected_datetime", "datetime", "When the department expects to close it (business time)."),
    Column("address", "string", "The address given or found."),
    Column("address_id", "string", "The address id given."),
    Column("zipcode", "string", "The ZIP code."),
    Column("lat", "number", "WGS84 latitude."),
    Column("long", "number", "WGS84 longitude."),
    Column("media_url", "string", "Its first public photo or link."),
    Column("department", "string", "The department's code (extension)."),
    Column("channel", "string", "How it came in: api, webapp ... (extension)."),
    Column("closure_code", "string", "Why a closed request was closed: fixed, referred, duplicate ... (extension)."),
    Column("duplicate_of", "string", "For a duplicate, the request it duplicates (extension)."),
    Column("parent_service_request_id", "string", "The request it was split from (extension)."),
    Column("attributes", "string", "The answers to the service's questions, a JSON object (extension)."),
)
NAMES = tuple(c.name for c in COLUMNS)


def record(row: FeedRow, tz: tzinfo) -> dict[str, Any]:
    """One snapshot row from a feed row: the feed's own entry, then the extensions' public fields."""
    entry = request_entry(row, tz)
    entry.update({
        "department": row.department,
        "channel": row.channel,
        "closure_code": public_closure(row.status, row.closure_code),
        "duplicate_of": str(row.duplicate_of) if row.duplicate_of and row.status == "closed" else None,
        "parent_service_request_id": str(row.parent_request_id) if row.parent_request_id else None,
        "attributes": json.dumps(row.attributes, ensure_ascii=False, sort_keys=True) if row.attributes else None,
    })
    return entry


def windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into the feed's longest windows (90 days), latest first, as inclusive (low, high) pairs."""
    high = end
    while high > start:
        low = max(start, high - DEFAULT_WINDOW)
        yield low, high - ONE_MICROSECOND
        high = low


def public_rows(session: Session, jurisdiction: Jurisdiction, start: datetime, end: datetime,
                now: datetime) -> Iterator[dict[str, Any]]:
    """Every public request requested in [start, end), newest first, as snapshot rows (a page at a time)."""
    tz = jurisdiction.timezone
    for low, high in windows(start, end):
        query = RequestQuery(start=low, end=high, page_size=PAGE)
        while True:
            page = find_requests(session, jurisdiction, query, now, extended=True)
            yield from (record(row, tz) for row in page.rows)
            if page.next is None:
                break
            query = RequestQuery(start=low, end=high, page_size=PAGE, after=page.next)


def local_year(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) of a calendar year in the jurisdiction's time zone."""
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def years_with_requests(session: Session, jurisdiction: Jurisdiction) -> list[int]:
    """The calendar years (local time) from the oldest request to the newest."""
    with session.begin():
        low, high = session.execute(select(func.min(ServiceRequest.requested_datetime),
                                           func.max(ServiceRequest.requested_datetime))
                                    .where(ServiceRequest.jurisdiction_id == jurisdiction.id)).one()
    if low is None or high is None:
        return []
    first, last = (moment.astimezone(jurisdiction.timezone).year for moment in (low, high))
    return list(range(first, last + 1))


def signature(session: Session, jurisdiction: Jurisdiction, start: datetime, end: datetime) -> str:
    """What changes whenever a row of [start, end) would read differently: how many requests, the latest update
    and the latest moderation (a purge lowers the count, an update or a hiding moves a maximum)."""
    with session.begin():
        found = session.execute(select(func.count(), func.max(ServiceRequest.updated_datetime),
                                       func.max(ServiceRequest.hidden_at), func.max(ServiceRequest.id))
                                .where(ServiceRequest.jurisdiction_id == jurisdiction.id,
                                       ServiceRequest.requested_datetime >= start,
                                       ServiceRequest.requested_datetime < end)).one()
    return json.dumps([found[0], *(str(v) if v is not None else None for v in found[1:])])
