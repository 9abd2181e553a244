"""A request's case file as its department's staff see it: the request, its whole history, photos, followers,
and contact details only when the department's contact_policy allows them and someone asked to see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Department
from open311.errors import NotFound
from open311.storage.models import (
    RequestContact,
    RequestFollower,
    RequestMedia,
    RequestReopen,
    ServiceRequest,
    StaffAccount,
    StaffAssignment,
    StaffNote,
    StatusUpdate,
)

NOT_FOUND = "No such request in your department's queue."


@dataclass(frozen=True)
class Event:
    """One line of a request's history: a status update (public), an internal note, a follower or a reopen."""

    at: datetime
    kind: str            # status | note_internal | follower | reopen
    title: str
    text: str | None = None
    public: bool = True
    media_url: str | None = None
    closure_code: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class ContactCard:
    """A resident's contact details (shown only when allowed and asked for; every showing is audited)."""

    who: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Case:
    """Everything the request page shows."""

    request: ServiceRequest
    photos: list[str]
    events: list[Event]
    followers: int
    assignee: StaffAccount | None
    external_status: str | None
    contact_allowed: bool
    has_contact: bool
    contacts: list[ContactCard] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


def department_request(session: Session, jurisdiction_id: str, department: str, request_id: int) -> ServiceRequest:
    """The request, when it is this department's; NotFound otherwise (another department's request is not
    told apart from a missing one)."""
    with session.begin():
        row = session.get(ServiceRequest, request_id)
    if row is None or row.jurisdiction_id != jurisdiction_id or row.department != department:
        raise NotFound(NOT_FOUND)
    return row


def _contacts(session: Session, request_id: int) -> list[ContactCard]:
    """The submitter's and every follower's contact details (those who gave any)."""
    with session.begin():
        own = session.get(RequestContact, request_id)
        followers = list(session.scalars(select(RequestFollower).where(RequestFollower.request_id == request_id)
                                         .order_by(RequestFollower.id)))
    cards = []
    if own is not None and any((own.first_name, own.last_name, own.email, own.phone)):
        cards.append(ContactCard("Submitter", own.first_name, own.last_name, own.email, own.phone))
    for n, row in enumerate(followers, 1):
        if any((row.first_name, row.last_name, row.email, row.phone)):
            cards.append(ContactCard(f"Follower {n}", row.first_name, row.last_name, row.email, row.phone))
    return cards


def _source_title(update: StatusUpdate) -> str:
    """How the history names where an update came from."""
    who = {"staff": "Staff", "push": "Back office", "pull": "Back office", "reopen": "Resident (not fixed)"}
    return f"{who.get(update.source, update.source.title())}: {update.external_status or update.status or '?'}"


def load_case(session: Session, department: Department, row: ServiceRequest, *, show_contact: bool) -> Case:
    """The case file of a request already checked to be the department's."""
    with session.begin():
        media = list(session.scalars(select(RequestMedia).where(RequestMedia.request_id == row.id)
                                     .order_by(RequestMedia.position)))
        updates = list(session.scalars(select(StatusUpdate).where(StatusUpdate.request_id == row.id)
                                       .order_by(StatusUpdate.updated_datetime, StatusUpdate.id)))
        notes = session.execute(select(StaffNote, StaffAccount.email)
                                .join(StaffAccount, StaffAccount.id == StaffNote.staff_id)
                                .where(StaffNote.request_id == row.id).order_by(StaffNote.id)).all()
        followers = list(session.scalars(select(RequestFollower).where(RequestFollower.request_id == row.id)
                                         .order_by(RequestFollower.id)))
        reopens = list(session.scalars(select(RequestReopen).where(RequestReopen.request_id == row.id)))
        assigned = session.execute(select(StaffAccount).join(StaffAssignment,
                                                             StaffAssignment.staff_id == StaffAccount.id)
                                   .where(StaffAssignment.request_id == row.id)).scalars().first()
        has_contact = session.get(RequestContact, row.id) is not None or any(
            f.email or f.phone or f.first_name or f.last_name for f in followers)
    events = [Event(row.requested_datetime, "received", "Received", row.description)]
    events += [Event(u.updated_datetime, "status", _source_title(u), u.description, public=u.status is not None,
                     media_url=u.media_url, closure_code=u.closure_code) for u in updates]
    events += [Event(note.created_at, "note_internal", "Internal note", note.body, public=False, author=email)
               for note, email in notes]
    events += [Event(f.created_at, "follower", "Another resident reported it", f.description, public=False)
               for f in followers]
    events += [Event(r.created_at, "reopen", "A resident says it is not fixed", r.description, public=False)
               for r in reopens]
    events.sort(key=lambda e: e.at)
    applied = [u for u in updates if u.status is not None]
    allowed = department.contact_policy == "full"
    return Case(request=row, photos=[m.url for m in media] or ([row.media_url] if row.media_url else []),
                events=events, followers=len(followers), assignee=assigned,
                external_status=applied[-1].external_status if applied else None,
                contact_allowed=allowed, has_contact=has_contact,
                contacts=_contacts(session, row.id) if allowed and show_contact else [],
                attributes=dict(row.attributes or {}))
