"""Tickets: what an adapter is handed for a claimed outbox row, read from the request, its contact and media."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, select

from open311.adapter import Addition, Contact, Ticket
from open311.config.jurisdictions import GatewayConfig
from open311.core.dates import format_w3c
from open311.delivery.outbox import Claimed
from open311.media.store import MediaStore
from open311.media.uploads import public_urls, ticket_photos
from open311.storage.db import in_placeholders, padded_chunks
from open311.storage.models import (
    OutboxMessage,
    RequestContact,
    RequestFollower,
    RequestMedia,
    RequestReopen,
    ServiceRequest,
    SlaEvent,
)


class Undeliverable(Exception):
    """The row cannot become a ticket (its jurisdiction, department or service is no longer configured)."""


_REQUESTS = cast(Table, ServiceRequest.__table__)
_CONTACTS = cast(Table, RequestContact.__table__)
_MEDIA = cast(Table, RequestMedia.__table__)
_FOLLOWERS = cast(Table, RequestFollower.__table__)
_REOPENS = cast(Table, RequestReopen.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
_SLA_EVENTS = cast(Table, SlaEvent.__table__)
FOLLOWER_KIND = "follower"   # outbox rows that add a follower (open311.intake.followers) to a delivered ticket
REOPEN_KIND = "reopen"       # outbox rows that tell a delivered ticket a resident reopened it (open311.intake.reopen)
SLA_KIND = "sla"             # outbox rows that tell a delivered ticket its SLA clock is at risk or breached
SLA_SENTENCES = {"at_risk": "The response time of this request is at risk: it is due {due}.",
                 "breached": "The response time of this request has run out: it was due {due}."}
_TICKET_COLUMNS = ("id", "jurisdiction_id", "service_code", "service_name", "description", "requested_datetime",
                   "lat", "long", "address", "address_id", "zipcode", "attributes", "agency_responsible",
                   "service_notice", "expected_datetime", "hidden_at", "media_url")


@cache
def _rows_of(what: str, size: int) -> Select[Any]:
    """The Core query (rows, not ORM objects) reading one part of `size` tickets, built once per size."""
    if what == "requests":
        columns = (_REQUESTS.c[name] for name in _TICKET_COLUMNS)
        return select(*columns).where(in_placeholders(_REQUESTS.c.id, size))
    if what == "contacts":
        c = _CONTACTS.c
        return (select(c.request_id, c.first_name, c.last_name, c.email, c.phone)
                .where(in_placeholders(c.request_id, size)))
    if what == "followers":
        return select(_FOLLOWERS).where(in_placeholders(_FOLLOWERS.c.id, size))
    if what == "reopens":
        return select(_REOPENS).where(in_placeholders(_REOPENS.c.id, size))
    if what == "sla_events":
        return select(_SLA_EVENTS).where(in_placeholders(_SLA_EVENTS.c.id, size))
    if what == "external_ids":
        o = _OUTBOX.c
        return (select(o.request_id, o.external_id)
                .where(in_placeholders(o.request_id, size), o.kind == "deliver", o.state == "done"))
    m = _MEDIA.c
    return (select(m.request_id, m.url, m.name, m.content_type, m.size, m.width, m.height, m.sha256)
            .where(in_placeholders(m.request_id, size)).order_by(m.request_id, m.position))


def _read(connection: Connection, what: str, ids: Sequence[int]) -> list[Any]:
    """Rows of one part for these request ids, in padded chunks (storage.db.padded_chunks)."""
    rows: list[Any] = []
    for size, chunk in padded_chunks(ids):
        rows += connection.execute(_rows_of(what, size), {f"b_id{i}": v for i, v in enumerate(chunk)}).all()
    return rows


Work = Ticket | Addition | Undeliverable


def build_tickets(connection: Connection, config: GatewayConfig, claimed: Sequence[Claimed],
                  media: MediaStore | None = None) -> dict[int, Work]:
    """The tickets of claimed rows by outbox id, read with three queries for a batch in the caller's transaction.

    A row that cannot become a ticket maps to its Undeliverable error. Contact data is read only for
    departments whose contact_policy is full. Photos read their bytes from `media` when an adapter asks.
    """
    if not claimed:
        return {}
    rows = {row.id: row for row in _read(connection, "requests", sorted({c.request_id for c in claimed}))}
    full = sorted({c.request_id for c in claimed if c.request_id in rows
                   and _department(config, rows[c.request_id].jurisdiction_id, c.department) == "full"})
    contacts = {row.request_id: row for row in _read(connection, "contacts", full)}
    items: dict[int, list[Any]] = {}
    for item in _read(connection, "media", sorted(rows)):
        items.setdefault(item.request_id, []).append(item)
    work: dict[int, Work] = {c.id: _ticket(config, c, rows.get(c.request_id), contacts, items, media)
                             for c in claimed if c.follower_id is None and c.reopen_id is None
                             and c.sla_event_id is None}
    following = [c for c in claimed if c.follower_id is not None]
    if following:
        work.update(_additions(connection, config, following, rows, media))
    reopening = [c for c in claimed if c.reopen_id is not None and c.follower_id is None]
    if reopening:
        work.update(_reopens(connection, config, reopening, rows, media))
    timed = [c for c in claimed if c.sla_event_id is not None and c.follower_id is None and c.reopen_id is None]
    if timed:
        work.update(_sla_additions(connection, config, timed, rows))
    return work


def _sla_additions(connection: Connection, config: GatewayConfig, claimed: Sequence[Claimed],
                   rows: dict[int, Any]) -> dict[int, Addition | Undeliverable]:
    """The additions (kind "sla_at_risk" / "sla_breached") of claimed SLA rows: the ticket (no contact, no
    photos), the back office's id for it, the event's state and due time, and a fixed sentence."""
    events = {e.id: e for e in _read(connection, "sla_events", sorted({int(c.sla_event_id or 0) for c in claimed}))}
    external = {r.request_id: r.external_id for r in _read(connection, "external_ids",
                                                             sorted({c.request_id for c in claimed}))}
    found: dict[int, Addition | Undeliverable] = {}
    for c in claimed:
        ticket = _ticket(config, c, rows.get(c.request_id), {}, {}, None)
        event = events.get(int(c.sla_event_id or 0))
        if isinstance(ticket, Undeliverable) or event is None or not external.get(c.request_id):
            found[c.id] = ticket if isinstance(ticket, Undeliverable) else Undeliverable(
                f"SLA event {c.sla_event_id} of request {c.request_id} has no delivered ticket to join")
            continue
        due = format_w3c(event.expected_datetime) or ""
        found[c.id] = Addition(ticket=ticket, follower_id=str(event.id),
                               external_id=str(external[c.request_id]),
                               created_datetime=format_w3c(event.created_at) or "",
                               description=SLA_SENTENCES[event.state].format(due=due),
                               attributes={"sla_state": event.state, "expected_datetime": due},
                               kind=f"sla_{event.state}")
    return found


def _reopens(connection: Connection, config: GatewayConfig, claimed: Sequence[Claimed], rows: dict[int, Any],
             media: MediaStore | None) -> dict[int, Addition | Undeliverable]:
    """The additions (kind "reopen") of claimed reopen rows: the ticket, the back office's id for it, the
    resident's description and photos, and the reopening resident's contact under a full contact_policy."""
    reopens = {r.id: r for r in _read(connection, "reopens", sorted({int(c.reopen_id or 0) for c in claimed}))}
    followers = {f.id: f for f in _read(connection, "followers", sorted({int(r.follower_id) for r in reopens.values()
                                                                           if r.follower_id is not None}))}
    full_ids = sorted({c.request_id for c in claimed if c.request_id in rows
                       and _department(config, rows[c.request_id].jurisdiction_id, c.department) == "full"})
    contacts = {row.request_id: row for row in _read(connection, "contacts", full_ids)}
    external = {r.request_id: r.external_id for r in _read(connection, "external_ids",
                                                             sorted({c.request_id for c in claimed}))}
    found: dict[int, Addition | Undeliverable] = {}
    for c in claimed:
        ticket = _ticket(config, c, rows.get(c.request_id), {}, {}, None)
        reopen = reopens.get(int(c.reopen_id or 0))
        if isinstance(ticket, Undeliverable) or reopen is None or not external.get(c.request_id):
            found[c.id] = ticket if isinstance(ticket, Undeliverable) else Undeliverable(
                f"reopen {c.reopen_id} of request {c.request_id} has no delivered ticket to join")
            continue
        who = followers.get(reopen.follower_id) if reopen.follower_id is not None else contacts.get(c.request_id)
        contact = None
        if who is not None and _department(config, ticket.jurisdiction_id, c.department) == "full" and \
                any((who.first_name, who.last_name, who.email, who.phone)):
            contact = Contact(first_name=who.first_name, last_name=who.last_name, email=who.email, phone=who.phone)
        described = [RequestMedia(request_id=c.request_id, position=n, **item)
                     for n, item in enumerate((reopen.photos or {}).get("items", []))]
        photos = ticket_photos(described, media, f"{ticket.service_request_id}-reopen-{reopen.id}")
        found[c.id] = Addition(ticket=ticket, follower_id=str(reopen.id), external_id=str(external[c.request_id]),
                               created_datetime=format_w3c(reopen.created_at) or "", description=reopen.description,
                               contact=contact, photos=photos, kind=REOPEN_KIND)
    return found


def _additions(connection: Connection, config: GatewayConfig, claimed: Sequence[Claimed], rows: dict[int, Any],
               media: MediaStore | None) -> dict[int, Addition | Undeliverable]:
    """The additions of claimed follower rows: the followed ticket (no contact, no photos), the back office's
    id for it, and the follower's details (contact only under a full contact_policy)."""
    followers = {f.id: f for f in _read(connection, "followers", sorted({int(c.follower_id or 0) for c in claimed}))}
    external = {r.request_id: r.external_id for r in _read(connection, "external_ids",
                                                             sorted({c.request_id for c in claimed}))}
    found: dict[int, Addition | Undeliverable] = {}
    for c in claimed:
        ticket = _ticket(config, c, rows.get(c.request_id), {}, {}, None)
        follower = followers.get(int(c.follower_id or 0))
        if isinstance(ticket, Undeliverable) or follower is None or not external.get(c.request_id):
            found[c.id] = ticket if isinstance(ticket, Undeliverable) else Undeliverable(
                f"follower {c.follower_id} of request {c.request_id} has no delivered ticket to join")
            continue
        full = _department(config, ticket.jurisdiction_id, c.department) == "full"
        contact = Contact(first_name=follower.first_name, last_name=follower.last_name, email=follower.email,
                          phone=follower.phone) if full else None
        if contact is not None and not any((contact.first_name, contact.last_name, contact.email, contact.phone)):
            contact = None
        described = [RequestMedia(request_id=c.request_id, position=n, **item)
                     for n, item in enumerate((follower.photos or {}).get("items", []))]
        photos = ticket_photos(described, media, f"{ticket.service_request_id}-follower-{follower.id}")
        found[c.id] = Addition(ticket=ticket, follower_id=str(follower.id), external_id=str(external[c.request_id]),
                               created_datetime=format_w3c(follower.created_at) or "",
                               description=follower.description, attributes=dict(follower.attributes or {}),
                               contact=contact, photos=photos)
    return found


def _department(config: GatewayConfig, jurisdiction_id: str, code: str) -> str | None:
    """The contact policy of a configured department (None: not configured)."""
    jurisdiction = config.jurisdictions.get(jurisdiction_id)
    department = jurisdiction.departments.get(code) if jurisdiction else None
    return department.contact_policy if department else None


def _ticket(config: GatewayConfig, claimed: Claimed, row: Any, contacts: dict[int, Any],
            items: dict[int, list[Any]], media: MediaStore | None) -> Ticket | Undeliverable:
    """One ticket from rows already read (Core rows carry the model's attribute names)."""
    if row is None:
        return Undeliverable(f"service request {claimed.request_id} no longer exists")
    jurisdiction = config.jurisdictions.get(row.jurisdiction_id)
    department = jurisdiction.departments.get(claimed.department) if jurisdiction else None
    if jurisdiction is None or department is None:
        return Undeliverable(f"department {row.jurisdiction_id}/{claimed.department} is not configured")
    contact = None
    if department.contact_policy == "full":
        found = contacts.get(row.id)
        if found is not None and any((found.first_name, found.last_name, found.email, found.phone)):
            contact = Contact(first_name=found.first_name, last_name=found.last_name, email=found.email,
                              phone=found.phone)
    photos = cast(list[RequestMedia], items.get(row.id, []))
    service = jurisdiction.catalog.get(row.service_code)
    extras: dict[str, Any] = {"agency_responsible": row.agency_responsible, "service_notice": row.service_notice,
                              "expected_datetime": format_w3c(row.expected_datetime)}
    if row.hidden_at is not None:
        # Moderation moved the typed text out of the columns read here (intake/moderation.py), so the ticket
        # has none of it; its photos are left out here, and `hidden` tells the back office why.
        photos = []
        extras["hidden"] = True
    return Ticket(
        service_request_id=str(row.id), jurisdiction_id=row.jurisdiction_id, department=department.code,
        service_code=row.service_code, service_name=row.service_name,
        backoffice_code=service.backoffice_code if service else None, description=row.description,
        requested_datetime=format_w3c(row.requested_datetime) or "", lat=row.lat, long=row.long,
        address=row.address, address_id=row.address_id, zipcode=row.zipcode, attributes=dict(row.attributes or {}),
        media_urls=tuple(public_urls(cast(ServiceRequest, row), photos)), contact=contact, extras=extras,
        photos=ticket_photos(photos, media, str(row.id)),
    )
