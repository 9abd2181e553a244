"""SQLAlchemy 2 typed models: requests, their contact data and media, outbox rows, status updates, API keys, staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# UTCDateTime is named here too: the migrations alembic wrote refer to open311.storage.models.UTCDateTime.
from open311.storage.column_types import Id
from open311.storage.column_types import UTCDateTime as UTCDateTime


class Base(DeclarativeBase):
    """Declarative base with UTC-aware datetimes everywhere."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ApiKey(Base):
    """An API key for POSTing; only its SHA-256 hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # Set for a back office's key: it may only POST servicerequestupdates for this department.
    department: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # POST rate limit of this key, e.g. "20/minute" (None: the configured default).
    rate_limit: Mapped[str | None] = mapped_column(String(100))


class ServiceRequest(Base):
    """One service request; `id` is the public service_request_id. Holds no personal data."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_requests_jur_requested", "jurisdiction_id", "requested_datetime", "id"),
        Index("ix_requests_jur_updated", "jurisdiction_id", "updated_datetime", "id"),
        Index("ix_requests_jur_service", "jurisdiction_id", "service_code", "requested_datetime", "id"),
        Index("ix_requests_jur_status", "jurisdiction_id", "status", "requested_datetime", "id"),
        # service_code + status (the commonest dashboard filter): page in order and count from the index alone
        Index("ix_requests_jur_service_status",
              "jurisdiction_id", "service_code", "status", "requested_datetime", "id"),
        # requested_datetime lets a box or circle inside the date window be counted from the index alone
        Index("ix_requests_jur_place", "jurisdiction_id", "lat", "long", "requested_datetime"),
        # sla_state= on the feed, and the SLA watcher's scan of open clocks nearing their thresholds
        Index("ix_requests_jur_sla", "jurisdiction_id", "status", "expected_datetime", "id"),
        Index("ix_requests_sla_watch", "status", "sla_notified", "sla_risk_at"),
        # reporter_count: the requests closed as duplicates of a page's rows (feeds.reporters)
        Index("ix_requests_duplicate_of", "duplicate_of"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    service_code: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(64))
    agency_responsible: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    service_notice: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(100))
    zipcode: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    # How lat/long were found: given (by the client), geocoded (from address_string) or unverified
    # (an address that could not be placed, accepted by the jurisdiction's policy); None for an
    # address-only request in a jurisdiction without GIS layers.
    location_status: Mapped[str | None] = mapped_column(String(16))
    media_url: Mapped[str | None] = mapped_column(String(2000))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_datetime: Mapped[datetime]
    updated_datetime: Mapped[datetime]
    expected_datetime: Mapped[datetime | None]
    token: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # extensions=true: where it came from, and links set by staff or back offices
    channel: Mapped[str | None] = mapped_column(String(100))
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    # Why a closed request was closed (core.closure.CLOSURE_CODES); None while open, or closed without a code
    closure_code: Mapped[str | None] = mapped_column(String(32))
    parent_request_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    # Why it was taken where it is (gis.routing.Routing.public): place, place_type, city, district, rule, reason and
    # the layer versions that decided, recorded at intake and never recomputed; None without GIS or a point.
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Moderation: hidden text is moved out of the public columns (so no output can show it) into
    # hidden_content, and moved back when staff unhide the request.
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The SLA clock (docs/lifecycle.md), recomputed from the status history on every status change
    # (feeds/sla.py): expected_datetime is when it runs out; sla_risk_at when its last fifth begins;
    # sla_paused_at is set while a paused status holds it; sla_final is met/missed once closed;
    # sla_notified the last event sent for this clock (at_risk, breached), so each is sent once.
    sla_risk_at: Mapped[datetime | None]
    sla_paused_at: Mapped[datetime | None]
    sla_final: Mapped[str | None] = mapped_column(String(8))
    sla_notified: Mapped[str | None] = mapped_column(String(16))

    contact: Mapped[RequestContact | None] = relationship(back_populates="request", uselist=False, lazy="raise")



def _spatial_index(target: Any, connection: Any, **kw: Any) -> None:
    """create_schema (tests, OPEN311_CREATE_SCHEMA) makes the spatial index as migration 2100 does."""
    from open311.storage.spatial import install

    install(connection)


event.listen(ServiceRequest.__table__, "after_create", _spatial_index)

class RequestContact(Base):
    """Write-only personal data of a request's submitter, kept apart so feeds never load it."""

    __tablename__ = "request_contacts"

    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))

    request: Mapped[ServiceRequest] = relationship(back_populates="contact")


class RequestFollower(Base):
    """Another resident reporting the same problem (POST requests/{id}/followers): write-only, like contacts.

    Nothing of a follower is public: outputs show only how many there are (extended_attributes.reporter_count).
    `request_id` is the request followed; when staff later mark a request a duplicate of another, the survivor
    takes its followers over by moving this column (docs/lifecycle.md). Retention nulls the contact columns.
    """

    __tablename__ = "request_followers"
    __table_args__ = (Index("ix_request_followers_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    channel: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Photos the follower sent: descriptions of files in the media store (never listed by any output).
    photos: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))


class RequestReopen(Base):
    """A resident's "not fixed" (POST requests/{id}/reopen): write-only like a follower; the public history
    has only its status update (source "reopen", external_status REOPENED), never its description or photos.
    """

    __tablename__ = "request_reopens"
    __table_args__ = (Index("ix_request_reopens_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    # the follower whose key reopened it (None: the submitting key)
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("request_followers.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status_update_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id", ondelete="SET NULL"))


class RequestMedia(Base):
    """One photo or link of a request, in the order given: a stored photo (`name` set) or a client's link.

    `url` is what outputs show. A hidden request's media stay here but no output lists them and the gateway
    does not serve them (open311/moderation.py).
    """

    __tablename__ = "request_media"
    __table_args__ = (UniqueConstraint("request_id", "position", name="uq_request_media_position"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    # Stored photos only: the random file name (unique), its type, size, pixels and SHA-256.
    name: Mapped[str | None] = mapped_column(String(100), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))


class OutboxMessage(Base):
    """A durable delivery job: one per request and department, consumed by the relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_department_external", "department", "external_id"),
        Index("ix_outbox_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="deliver")
    department: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # kind "callback": a signed status-change notification for one subscription (open311/subscriptions.py)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    status_update_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id", ondelete="CASCADE"))
    # kind "follower": one follower's details, added to the request's ticket once that ticket is delivered
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("request_followers.id", ondelete="CASCADE"))
    # kind "reopen": a resident's "not fixed", added to the request's ticket like a follower
    reopen_id: Mapped[int | None] = mapped_column(ForeignKey("request_reopens.id", ondelete="CASCADE"))
    # kind "sla" (to the department) or "callback" (to a subscriber): an SLA event of the request
    sla_event_id: Mapped[int | None] = mapped_column(ForeignKey("sla_events.id", ondelete="CASCADE"))
    # kind "notice": one milestone notice to one resident (open311/notices)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))


class SlaEvent(Base):
    """A request's SLA clock entering at_risk or breached: recorded once per clock, then delivered."""

    __tablename__ = "sla_events"
    __table_args__ = (Index("ix_sla_events_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    expected_datetime: Mapped[datetime]
    created_at: Mapped[datetime]


class Subscription(Base):
    """An app's callback URL for status changes: of the requests its API key submitted, or of one service."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_match", "jurisdiction_id", "active", "service_code", "api_key_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    callback_url: Mapped[str] = mapped_column(String(2000))
    service_code: Mapped[str | None] = mapped_column(String(64))   # None: the key's own requests
    secret: Mapped[str] = mapped_column(String(100))               # signs callbacks (HMAC-SHA256)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[int] = mapped_column(Integer, default=0)


class StatusUpdate(Base):
    """One status change from a back office; stored once per (jurisdiction, department, update_id).

    `status` is the mapped public status (open/closed), None when the back office's status is not in
    the department's status_map; `applied` says whether the request followed this update.
    """

    __tablename__ = "status_updates"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "department", "update_id", name="uq_status_updates_department_update"),
        Index("ix_status_updates_request", "request_id", "updated_datetime"),
        Index("ix_status_updates_feed", "jurisdiction_id", "feed_txid", "id"),
        Index("ix_status_updates_jur_updated", "jurisdiction_id", "updated_datetime", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(64))
    update_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(16))
    external_status: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(String(2000))
    updated_datetime: Mapped[datetime]
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16), default="pull")
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    # status "closed": why (core.closure.CLOSURE_CODES; None = unspecified); "duplicate" names the survivor
    closure_code: Mapped[str | None] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    # Commit order for the gap-free updates feed: on PostgreSQL the inserting transaction's id (set by
    # a trigger, see FEED_TXID_TRIGGER); on SQLite writers are serialised, so it stays 0 and id decides.
    feed_txid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


FEED_TXID_TRIGGER = (
    "CREATE OR REPLACE FUNCTION status_updates_feed_txid() RETURNS trigger AS $$ "
    "BEGIN NEW.feed_txid := pg_current_xact_id()::text::bigint; RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER status_updates_feed_txid BEFORE INSERT ON status_updates "
    "FOR EACH ROW EXECUTE FUNCTION status_updates_feed_txid()",
)
for _statement in FEED_TXID_TRIGGER:
    event.listen(StatusUpdate.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]


class SyncCursor(Base):
    """Per department: when the last successful pull of status updates started (the high-water mark)."""

    __tablename__ = "sync_cursors"

    jurisdiction_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    high_water: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SubmissionKey(Base):
    """A claim on a submission: an Idempotency-Key, or the fingerprint of a recent identical POST.

    Unique per (kind, scope, key) and inserted in the transaction that stores the request, so two
    concurrent submissions can never both create a ticket; the loser replays the winner's answer.
    """

    __tablename__ = "submission_keys"
    __table_args__ = (
        UniqueConstraint("kind", "scope", "key", name="uq_submission_keys_kind_scope_key"),
        Index("ix_submission_keys_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(255))
    payload_hash: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CatalogVersion(Base):
    """When each catalog content (by fingerprint) was first served: discovery's changeset."""

    __tablename__ = "catalog_versions"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime]


class UpdateMedia(Base):
    """A photo attached to a status update by staff (a closure photo): served like a request's photos, never
    listed among the request's own media_url values (the update's media_url names it)."""

    __tablename__ = "update_media"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    content_type: Mapped[str | None] = mapped_column(String(50))
    size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class StaffAccount(Base):
    """A person working a department's queue (agent, supervisor) or watching deliveries (operator).

    The password is stored only as an Argon2 hash; a new account has none until its owner follows the one-time
    set-up link (`setup_hash` holds that link's SHA-256 until it is used or expires). Accounts are disabled,
    never deleted, so the audit log always names who did what.
    """

    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("email", name="uq_staff_accounts_email"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    setup_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class StaffSession(Base):
    """A browser's session on the staff pages: stored server-side, the cookie holds only a random token whose
    SHA-256 is the key. `staff_id` is None before login (the session then only carries the login form's CSRF
    token); logging in replaces the session with a new one, so a token from before login never works after it."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff", "staff_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class StaffAudit(Base):
    """One line of the staff audit log: who, when, which request, what. Never holds a resident's contact data
    (`detail` is written by the gateway from fixed words and ids, never from what a resident sent)."""

    __tablename__ = "staff_audit"
    __table_args__ = (
        Index("ix_staff_audit_request", "request_id", "id"),
        Index("ix_staff_audit_staff", "staff_id", "id"),
        Index("ix_staff_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    # for refused logins of unknown accounts: a SHA-256 prefix of the e-mail tried (the login limit counts it)
    subject: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    detail: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(64))


class StaffNote(Base):
    """An internal note of staff on a request: seen only on the department's own staff pages, never published."""

    __tablename__ = "staff_notes"
    __table_args__ = (Index("ix_staff_notes_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class StaffAssignment(Base):
    """Who in the department a request is assigned to (one person at a time; the audit log keeps the past)."""

    __tablename__ = "staff_assignments"
    __table_args__ = (Index("ix_staff_assignments_staff", "staff_id"),)

    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    assigned_by: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    assigned_at: Mapped[datetime]


class NoticeRecipient(Base):
    """A resident who asked to hear about a request's milestones (POST field `notify`): the submitter or a
    follower, by e-mail or by a browser's Web Push subscription. Contact data: write-only, never in any output,
    removed by `open311 purge` with the rest; `unsubscribed_at` stops every notice at once."""

    __tablename__ = "notice_recipients"
    __table_args__ = (Index("ix_notice_recipients_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("request_followers.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    push_endpoint: Mapped[str | None] = mapped_column(String(2000))
    push_p256dh: Mapped[str | None] = mapped_column(String(200))
    push_auth: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None]


class Notice(Base):
    """One milestone notice owed to one recipient: unique per recipient and milestone occurrence
    (`milestone_key`: received, assigned, closed:<n>, reopened:<n>), so it is queued at most once."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("recipient_id", "milestone_key", name="uq_notices_recipient_milestone"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("notice_recipients.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    milestone: Mapped[str] = mapped_column(String(16))
    milestone_key: Mapped[str] = mapped_column(String(64))
    status_update_id: Mapped[int | None] = mapped_column(ForeignKey("status_updates.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class StatusLink(Base):
    """The capability URL of a request's status page (/r/<token>): only the token's SHA-256 is kept; revocable.
    `locale` is the language the report was made in (the page and its notices speak it)."""

    __tablename__ = "status_links"
    __table_args__ = (Index("ix_status_links_request", "request_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    # with the notice secret, re-derives the token (open311.notices.links), so notices can carry it
    nonce: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AreaLayerVersion(Base):
    """One synced version of a GIS layer (docs/gis.md): the features as zlib-compressed GeoJSON in WGS84, staged
    until approved. `checked_at` moves forward each time a sync finds the source unchanged (the layer's age)."""

    __tablename__ = "area_layer_versions"
    __table_args__ = (Index("ix_area_layer_versions_layer", "jurisdiction_id", "layer", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(String(100))
    layer: Mapped[str] = mapped_column(String(100))       # places, facilities, district:NAME
    source: Mapped[str] = mapped_column(String(2000))     # the layer URL it was read from
    features: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # why it cannot go live as the configuration stands (names rules use that it lacks); empty: it can
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime]
    checked_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]                 # first made live
    approved_by: Mapped[str | None] = mapped_column(String(100))   # an operator's name, or "auto"


class AreaLayerLive(Base):
    """Which version of a synced layer every worker routes by; a change reaches them within
    OPEN311_AREAS_REFRESH seconds."""

    __tablename__ = "area_layer_live"

    jurisdiction_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    layer: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("area_layer_versions.id"))
    changed_at: Mapped[datetime]
    changed_by: Mapped[str | None] = mapped_column(String(100))
