"""GET servicerequestupdates as a use case: status updates in commit order, with a gap-free cursor."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, Select, Text, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.core.params import cursor_number, cursor_text, not_issued
from open311.storage.models import StatusUpdate


@dataclass(frozen=True)
class UpdateCursor:
    """The last update a consumer has seen, in commit order (transaction id, row id)."""

    txid: int
    id: int

    def encode(self) -> str:
        """An opaque, URL-safe token."""
        return base64.urlsafe_b64encode(f"u{self.txid}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> UpdateCursor:
        """Read a token exactly as encode() makes it (txid 0..MAX_ID, 0 on SQLite; id 1..MAX_ID); else BadRequest."""
        text = cursor_text(token)
        txid, dot, ident = text.removeprefix("u").partition(".")
        if not text.startswith("u") or not dot:
            raise not_issued()
        cursor = cls(cursor_number(txid, low=0), cursor_number(ident))
        if cursor.encode() != token:
            raise not_issued()
        return cursor


@dataclass(frozen=True)
class UpdatesQuery:
    """Filters of the updates feed."""

    start: datetime | None = None
    end: datetime | None = None
    service_request_ids: tuple[int, ...] = ()
    after: UpdateCursor | None = None
    limit: int = 1000


@dataclass(frozen=True)
class UpdatesPage:
    """Updates in commit order and the cursor to continue from (the given one when nothing is new)."""

    updates: list[StatusUpdate]
    cursor: UpdateCursor | None


def _committed_before_all_running(session: Session) -> ColumnElement[bool]:
    """On PostgreSQL: only rows whose transaction is older than every transaction still running.

    A row from a transaction that commits later always has a larger transaction id than anything
    returned now, so a consumer that continues after the last (txid, id) it saw never misses it.
    On SQLite, writers are serialised and commit in id order, so every visible row qualifies.
    """
    if session.get_bind().dialect.name != "postgresql":
        return literal(True)
    horizon = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
    return StatusUpdate.feed_txid < horizon


def find_updates(session: Session, jurisdiction: Jurisdiction, query: UpdatesQuery) -> UpdatesPage:
    """Updates of this jurisdiction's requests, oldest commit first, strictly after the cursor."""
    # Unmapped back-office statuses (status NULL) are kept for operators, not published.
    stmt: Select[StatusUpdate] = select(StatusUpdate).where(StatusUpdate.jurisdiction_id == jurisdiction.id,
                                                            StatusUpdate.status.is_not(None))
    if query.start is not None:
        stmt = stmt.where(StatusUpdate.updated_datetime >= query.start)
    if query.end is not None:
        stmt = stmt.where(StatusUpdate.updated_datetime <= query.end)
    if query.service_request_ids:
        stmt = stmt.where(StatusUpdate.request_id.in_(query.service_request_ids))
    if query.after is not None:
        stmt = stmt.where(tuple_(StatusUpdate.feed_txid, StatusUpdate.id)
                          > tuple_(literal(query.after.txid), literal(query.after.id)))
    with session.begin():
        stmt = stmt.where(_committed_before_all_running(session))
        rows = list(session.scalars(stmt.order_by(StatusUpdate.feed_txid, StatusUpdate.id).limit(query.limit)))
    cursor = UpdateCursor(rows[-1].feed_txid, rows[-1].id) if rows else query.after
    return UpdatesPage(rows, cursor)
