"""Retention: personal data of requests closed long enough ago is deleted; the public record stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.orm import Session

from open311.storage.models import (
    NoticeRecipient,
    OutboxMessage,
    RequestContact,
    RequestFollower,
    ServiceRequest,
    SubmissionKey,
)

# Outbox states after which a back office no longer needs the contact from us.
FINAL_OUTBOX_STATES = ("done", "dead")


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    cutoff: datetime
    request_ids: tuple[int, ...]
    expired_keys: int
    dry_run: bool
    followers: int = 0   # followers whose contact details were (or would be) removed
    recipients: int = 0  # notice recipients (e-mail addresses, push subscriptions) removed


def _purgeable(cutoff: datetime) -> Select[int]:
    """Request ids whose contact may go: closed, unchanged since the cutoff, no delivery still owed."""
    undelivered = exists().where(OutboxMessage.request_id == ServiceRequest.id,
                                 OutboxMessage.state.not_in(FINAL_OUTBOX_STATES))
    return (select(RequestContact.request_id)
            .join(ServiceRequest, ServiceRequest.id == RequestContact.request_id)
            .where(ServiceRequest.status == "closed", ServiceRequest.updated_datetime <= cutoff, ~undelivered)
            .order_by(RequestContact.request_id))


FOLLOWER_CONTACT = ("first_name", "last_name", "email", "phone", "device_id", "account_id")


def _purgeable_followers(cutoff: datetime) -> Select[int]:
    """Followers whose contact may go: on the same terms as a request's (its request closed long enough ago,
    no delivery of the request or of any follower still owed), and with some contact left."""
    undelivered = exists().where(OutboxMessage.request_id == ServiceRequest.id,
                                 OutboxMessage.state.not_in(FINAL_OUTBOX_STATES))
    f = RequestFollower
    has_contact = f.first_name.is_not(None) | f.last_name.is_not(None) | f.email.is_not(None) | \
        f.phone.is_not(None) | f.device_id.is_not(None) | f.account_id.is_not(None)
    return (select(f.id).join(ServiceRequest, ServiceRequest.id == f.request_id)
            .where(ServiceRequest.status == "closed", ServiceRequest.updated_datetime <= cutoff, ~undelivered,
                   has_contact).order_by(f.id))


def _purgeable_recipients(cutoff: datetime) -> Select[int]:
    """Notice recipients whose request is closed long enough ago with no delivery owed (their e-mail addresses
    and push subscriptions are contact data; their queued notices go with them)."""
    undelivered = exists().where(OutboxMessage.request_id == ServiceRequest.id,
                                 OutboxMessage.state.not_in(FINAL_OUTBOX_STATES))
    return (select(NoticeRecipient.id).join(ServiceRequest, ServiceRequest.id == NoticeRecipient.request_id)
            .where(ServiceRequest.status == "closed", ServiceRequest.updated_datetime <= cutoff, ~undelivered)
            .order_by(NoticeRecipient.id))


def purge_personal_data(session: Session, now: datetime, retention: timedelta, *, dry_run: bool = False) -> PurgeReport:
    """Delete the contact rows of requests closed more than `retention` ago (and their followers' contact
    details), and expired submission keys."""
    cutoff = now - retention
    with session.begin():
        ids = tuple(session.scalars(_purgeable(cutoff)))
        followers = tuple(session.scalars(_purgeable_followers(cutoff)))
        recipients = tuple(session.scalars(_purgeable_recipients(cutoff)))
        expired = session.scalar(select(func.count()).select_from(SubmissionKey)
                                 .where(SubmissionKey.expires_at <= now)) or 0
        if not dry_run:
            for start in range(0, len(ids), 500):
                session.execute(delete(RequestContact).where(RequestContact.request_id.in_(ids[start:start + 500])))
            for start in range(0, len(followers), 500):
                session.execute(update(RequestFollower).where(RequestFollower.id.in_(followers[start:start + 500]))
                                .values(dict.fromkeys(FOLLOWER_CONTACT)))
            for start in range(0, len(recipients), 500):
                session.execute(delete(NoticeRecipient).where(NoticeRecipient.id.in_(recipients[start:start + 500])))
            session.execute(delete(SubmissionKey).where(SubmissionKey.expires_at <= now))
    return PurgeReport(cutoff=cutoff, request_ids=ids, expired_keys=int(expired), dry_run=dry_run,
                       followers=len(followers), recipients=len(recipients))
