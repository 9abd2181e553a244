"""Duplicate submissions: Idempotency-Key replays and a short-window fingerprint, both race-safe.

A claim row (unique per kind, scope and key) is inserted in the very transaction that stores the
request. Of two concurrent submissions only one can commit its claim; the other's transaction fails
on the unique constraint, rolls back whole (no second ticket, no second outbox row), and replays the
winner's answer. Nothing is checked-then-inserted: the lookup first is only a shortcut.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.config.jurisdictions import Jurisdiction
from open311.errors import BadRequest, Conflict, Unprocessable
from open311.gis.areas import ServiceAreas
from open311.intake.storing import StoredHook, store_request
from open311.intake.submit import Submission, Submitted, prepare_request
from open311.media.uploads import MediaPolicy
from open311.notices.recipients import NoticeSetup
from open311.settings import DedupPolicy
from open311.storage.db import reading
from open311.storage.models import ApiKey, SubmissionKey

IDEMPOTENCY, FINGERPRINT, FOLLOWER = "idempotency", "fingerprint", "follower"
# Visible ASCII only: keys are echoed in logs by nobody and compared byte for byte.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
ATTEMPTS = 3
# Fields that say who sends, not what is reported: never part of a fingerprint.
UNCOUNTED = ("api_key", "jurisdiction_id")
CLAIMS = cast(Table, SubmissionKey.__table__)
INSERT_CLAIM = insert(CLAIMS)
DELETE_EXPIRED = delete(CLAIMS).where(
    SubmissionKey.kind == bindparam("kind"), SubmissionKey.scope == bindparam("scope"),
    SubmissionKey.key == bindparam("key"), SubmissionKey.expires_at <= bindparam("now"))
HOLDER = select(CLAIMS).where(SubmissionKey.kind == bindparam("kind"), SubmissionKey.scope == bindparam("scope"),
                              SubmissionKey.key == bindparam("key"))




@dataclass(frozen=True)
class Outcome:
    """The answer to a POST, and whether it is the replay of an earlier one."""

    result: Submitted
    replayed: bool = False


@dataclass(frozen=True)
class Claim:
    """The row a submission will insert to claim its key."""

    kind: str
    scope: str
    key: str
    payload_hash: str
    expires_at: datetime


def check_idempotency_key(value: str | None) -> str | None:
    """The Idempotency-Key header, or None when absent; 400 when it is not 1-255 visible ASCII characters."""
    if value is None or value == "":
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).")
    return value


def _digest(data: Any) -> str:
    """SHA-256 of a canonical JSON rendering."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def payload_hash(jurisdiction: Jurisdiction, submission: Submission) -> str:
    """What the client asked for, whatever the body format: trimmed non-empty fields and attributes.

    The key itself is left out (it may come in a header; the claim's scope already names it).
    """
    fields = {k: v.strip() for k, v in submission.fields.items()
              if k not in ("api_key", "jurisdiction_id") and v.strip()}
    attributes = {k: [v.strip() for v in vs if v.strip()] for k, vs in submission.attributes.items()}
    data = {"jurisdiction": jurisdiction.id, "fields": fields, "attributes": {k: v for k, v in attributes.items() if v}}
    if submission.uploads:  # the same key with other photos is another request
        data["photos"] = [upload.digest for upload in submission.uploads]
    return _digest(data)


def _coordinate(text: str) -> str:
    """A coordinate normalised so that 34.02 and 34.020 match."""
    try:
        return repr(round(float(text), 7))
    except ValueError:
        return text


def fingerprint(jurisdiction: Jurisdiction, submission: Submission) -> str:
    """Everything the resident sent, normalised: what makes two POSTs the same report (a double tap).

    Service, location, description, every other field (contact details included), the attribute answers
    and the photos. Two residents at the same spot differ in answers or contact, so neither is absorbed.
    """
    f = {k: " ".join(v.split()) for k, v in submission.fields.items() if k not in UNCOUNTED}
    data: dict[str, Any] = {k: v for k, v in f.items() if v}
    data.update({"jurisdiction": jurisdiction.id, "service_code": f.get("service_code", ""),
                 "lat": _coordinate(f.get("lat", "")), "long": _coordinate(f.get("long", "")),
                 "address_string": f.get("address_string", "").casefold(),
                 "address_id": f.get("address_id", ""), "description": f.get("description", "").casefold()})
    if "email" in data:
        data["email"] = data["email"].casefold()
    answers = {k: sorted(" ".join(v.split()) for v in vs if v.strip()) for k, vs in submission.attributes.items()}
    data["attributes"] = {k: v for k, v in answers.items() if v}
    if submission.uploads:  # a double tap sends the same photos; a report sent again with a photo is new
        data["photos"] = ",".join(upload.digest for upload in submission.uploads)
    return _digest(data)


def scope_of(jurisdiction: Jurisdiction, api_key: ApiKey | None) -> str:
    """Claims are per API key, or per jurisdiction where no key is required."""
    return f"key:{api_key.id}" if api_key is not None else f"jurisdiction:{jurisdiction.id}"


def _claim(jurisdiction: Jurisdiction, submission: Submission, api_key: ApiKey | None, now: datetime,
           idempotency_key: str | None, policy: DedupPolicy) -> Claim | None:
    """The claim this submission makes, if any: its Idempotency-Key, else its fingerprint."""
    scope = scope_of(jurisdiction, api_key)
    if idempotency_key is not None:
        return Claim(IDEMPOTENCY, scope, idempotency_key, payload_hash(jurisdiction, submission),
                     now + policy.idempotency_ttl)
    if policy.duplicate_window > timedelta(0):
        mark = fingerprint(jurisdiction, submission)
        return Claim(FINGERPRINT, scope, mark, mark, now + policy.duplicate_window)
    return None


def _live_claim(session: Session, claim: Claim, now: datetime,
                expired: list[SubmissionKey] | None = None) -> SubmissionKey | None:
    """The unexpired claim already holding this key, if any (a detached row, for reading). An expired holder
    is added to `expired` instead: the insert of the new claim has to remove it first."""
    with reading(session, single=True) as connection:
        row = connection.execute(HOLDER, {"kind": claim.kind, "scope": claim.scope, "key": claim.key}).first()
    if row is None:
        return None
    holder = SubmissionKey(**row._mapping)
    if holder.expires_at > now:
        return holder
    if expired is not None:
        expired.append(holder)
    return None


def _replay(existing: SubmissionKey, claim: Claim) -> Outcome:
    """The earlier answer, unless the same Idempotency-Key came with another payload (422)."""
    if existing.payload_hash != claim.payload_hash:
        raise Unprocessable("Idempotency-Key was already used with a different request; "
                            "use a new key for a new request.")
    stored = existing.result
    return Outcome(Submitted(stored.get("service_request_id"), stored.get("token"), stored.get("service_notice")),
                   replayed=True)


def _recorder(claim: Claim, now: datetime, *, sweep: bool) -> StoredHook:
    """The on_stored hook: insert the claim next to the new request (with `sweep`, an expired holder is
    removed first)."""

    def record(connection: Connection, request_id: int, result: Submitted) -> None:
        if sweep:
            connection.execute(DELETE_EXPIRED, {"kind": claim.kind, "scope": claim.scope, "key": claim.key,
                                                "now": now})
        connection.execute(INSERT_CLAIM, {
            "kind": claim.kind, "scope": claim.scope, "key": claim.key, "payload_hash": claim.payload_hash,
            "request_id": request_id, "created_at": now, "expires_at": claim.expires_at,
            "result": {"service_request_id": result.service_request_id, "token": result.token,
                       "service_notice": result.service_notice}})

    return record


def submit_once(session: Session, jurisdiction: Jurisdiction, submission: Submission, api_key: ApiKey | None,
                now: datetime, *, idempotency_key: str | None = None, policy: DedupPolicy | None = None,
                areas: ServiceAreas | None = None, media: MediaPolicy | None = None,
                notices: NoticeSetup | None = None) -> Outcome:
    """Submit, unless this Idempotency-Key or (without one) this fingerprint already made a request.

    The submission is validated first: an invalid one gets its 400 even when it resembles a request
    already made. The look-up comes first so that a replay inserts nothing (PostgreSQL would spend a
    sequence number on a rolled-back insert, and ids would have gaps).
    """
    prepared = prepare_request(jurisdiction, submission, api_key, now, areas, media, notices)
    claim = _claim(jurisdiction, submission, api_key, now, idempotency_key, policy or DedupPolicy())
    if claim is None:
        return Outcome(store_request(session, prepared, now))
    for _ in range(ATTEMPTS):
        expired: list[SubmissionKey] = []
        existing = _live_claim(session, claim, now, expired)
        if existing is not None:
            return _replay(existing, claim)
        try:
            return Outcome(store_request(session, prepared, now, on_stored=_recorder(claim, now, sweep=bool(expired))))
        except IntegrityError:
            continue  # a concurrent submission committed this claim first: replay its answer
    raise Conflict("The same submission is being processed concurrently; retry shortly.")
