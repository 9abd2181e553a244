"""Emptying the sandbox jurisdiction (`open311 sandbox reset`): its requests and everything hanging off them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.storage.models import RequestMedia, ServiceRequest, Subscription, SyncCursor, UpdateMedia


@dataclass(frozen=True)
class Emptied:
    """What a reset removed."""

    requests: int
    photos: tuple[str, ...]   # stored photo names, to remove from the media store once the rows are gone


def empty_sandbox(session: Session, jurisdiction: Jurisdiction) -> Emptied:
    """Delete the sandbox's requests (their contacts, updates, outbox rows, notices ... go with them: ON DELETE
    CASCADE), its subscriptions and sync cursors; its API keys stay. Refuses a production jurisdiction."""
    if jurisdiction.sandbox_of is None:
        raise ValueError(f"{jurisdiction.id} is not a sandbox: refusing to empty it")
    ids = select(ServiceRequest.id).where(ServiceRequest.jurisdiction_id == jurisdiction.id)
    with session.begin():
        photos = [*session.scalars(select(RequestMedia.name).where(RequestMedia.request_id.in_(ids),
                                                                   RequestMedia.name.is_not(None))),
                  *session.scalars(select(UpdateMedia.name).where(UpdateMedia.request_id.in_(ids)))]
        count = len(session.scalars(ids).all())
        session.execute(delete(ServiceRequest).where(ServiceRequest.jurisdiction_id == jurisdiction.id))
        session.execute(delete(Subscription).where(Subscription.jurisdiction_id == jurisdiction.id))
        session.execute(delete(SyncCursor).where(SyncCursor.jurisdiction_id == jurisdiction.id))
    return Emptied(count, tuple(p for p in photos if p))
