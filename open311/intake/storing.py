"""Storing a prepared request: its row, its outbox row, contact data and media, in one transaction."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Insert, Integer, String, Table, bindparam, insert, literal, select
from sqlalchemy.orm import Session

from open311.catalog.definitions import Service
from open311.intake.submit import Prepared, Submitted
from open311.media.uploads import discard_photos, media_rows, save_photos
from open311.notices.links import create_status_link
from open311.notices.milestones import RECEIVED, queue_notices
from open311.notices.recipients import add_recipients
from open311.storage.db import writing
from open311.storage.models import OutboxMessage, RequestContact, RequestMedia, ServiceRequest

# Runs inside the storing transaction: (connection, new request id, the answer).
StoredHook = Callable[[Connection, int, Submitted], None]
# Built once: Core INSERTs (the ORM unit of work costs more than the rows themselves on this path).
INSERT_REQUEST = insert(ServiceRequest).returning(ServiceRequest.id)
INSERT_CONTACT = insert(cast(Table, RequestContact.__table__))
INSERT_OUTBOX = insert(cast(Table, OutboxMessage.__table__))
INSERT_MEDIA = insert(cast(Table, RequestMedia.__table__))
MEDIA_COLUMNS = tuple(c.key for c in RequestMedia.__table__.columns if c.key != "id")
# A new request's outbox row: these values, its department, and the time of the POST in each of OUTBOX_TIMES.
NEW_OUTBOX: dict[str, str | int] = {"kind": "deliver", "state": "pending", "attempts": 0}
OUTBOX_TIMES = ("next_attempt_at", "created_at", "updated_at")


@functools.lru_cache(maxsize=8)
def _request_with_outbox(keys: tuple[str, ...]) -> Insert:
    """PostgreSQL: the request row (these columns) and its outbox row in one statement (a data-modifying CTE)."""
    requests, outbox = cast(Table, ServiceRequest.__table__), cast(Table, OutboxMessage.__table__)
    new = insert(requests).values({k: bindparam(k, type_=requests.c[k].type) for k in keys}) \
        .returning(requests.c.id).cte("new_request")
    at = outbox.c.created_at.type
    row = select(new.c.id, bindparam("outbox_department", type_=String()),
                 *(literal(value, String() if isinstance(value, str) else Integer()) for value in NEW_OUTBOX.values()),
                 *(bindparam("outbox_at", type_=at) for _ in OUTBOX_TIMES))
    return insert(outbox).from_select(["request_id", "department", *NEW_OUTBOX, *OUTBOX_TIMES],
                                      row).returning(outbox.c.request_id)


def _insert_request(connection: Connection, prepared: Prepared, token: str, now: datetime) -> int:
    """Insert the request row and its outbox row; return the request's id.

    On PostgreSQL this is one statement (one round trip instead of two), elsewhere two.
    """
    values = {**prepared.values, "token": token}
    if connection.dialect.name == "postgresql":
        statement = _request_with_outbox(tuple(values))
        found: int = connection.execute(statement, {**values, "outbox_department": prepared.department,
                                                    "outbox_at": now}).scalar_one()
        return found
    request_id: int = connection.execute(INSERT_REQUEST, values).scalar_one()
    connection.execute(INSERT_OUTBOX, {"request_id": request_id, "department": prepared.department, **NEW_OUTBOX,
                                       **dict.fromkeys(OUTBOX_TIMES, now)})
    return request_id


def store_request(session: Session, prepared: Prepared, now: datetime, *,
                  on_stored: StoredHook | None = None) -> Submitted:
    """Store a prepared request with its outbox row in a transaction of its own.

    `on_stored` runs inside that transaction once the row has its id (duplicate detection records
    its claims there, so a claim and its request are committed, or rolled back, together). Photos are
    written to the media store first and removed again when the transaction does not commit.
    """
    token = secrets.token_urlsafe(12)
    store = prepared.store
    if prepared.photos:
        if store is None:
            raise ValueError("prepared photos without a media store")
        save_photos(store, prepared.photos)
    try:
        with writing(session) as connection:
            request_id = _insert_request(connection, prepared, token, now)
            if any(prepared.contact.values()):
                connection.execute(INSERT_CONTACT, {"request_id": request_id, **prepared.contact})
            if prepared.notices is not None:
                _notices(connection, prepared, request_id, now)
            media = media_rows(request_id, prepared.photos, prepared.link)
            if media:
                connection.execute(INSERT_MEDIA, [{c: getattr(m, c) for c in MEDIA_COLUMNS} for m in media])
            result = _answer(prepared.service, request_id, token, prepared.values["service_notice"])
            if on_stored is not None:
                on_stored(connection, request_id, result)
    except BaseException:
        if store is not None and prepared.photos:
            discard_photos(store, prepared.photos)
        raise
    return result


def _notices(connection: Connection, prepared: Prepared, request_id: int, now: datetime) -> None:
    """The request's status link, the recipients its `notify` asked for, and their `received` notices."""
    assert prepared.notices is not None
    create_status_link(connection, prepared.notices.secret, request_id, prepared.notices.locale, now)
    if prepared.notify and add_recipients(connection, request_id, list(prepared.notify), prepared.notices.locale,
                                          now):
        queue_notices(connection, request_id, RECEIVED, now)


def _answer(service: Service, request_id: int, token: str, notice: object) -> Submitted:
    """What POST answers for this service type: the id (realtime), a token (batch) or neither (blackbox).

    `notice` is the stored service_notice: the service's notice plus any placing note (unverified address).
    """
    text = notice if isinstance(notice, str) else None
    if service.type == "batch":
        return Submitted(None, token, text)
    if service.type == "blackbox":
        return Submitted(None, None, text)
    return Submitted(str(request_id), None, text)
