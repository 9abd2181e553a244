"""Status sync: pull each department's updates over overlapping windows and record them once."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from open311.adapter import Adapter, AdapterError, RemoteUpdate
from open311.config.jurisdictions import Department, Jurisdiction
from open311.core import metrics
from open311.core.text import clean_text
from open311.delivery.outbox import DONE
from open311.delivery.sla_watch import watch_sla
from open311.delivery.status import InvalidUpdate, clean_update, find_request, record_update
from open311.services import Services
from open311.settings import SyncSettings
from open311.storage.models import OutboxMessage, ServiceRequest, SyncCursor

log = logging.getLogger(__name__)
MAX_TRACKED = 10_000


@dataclass
class SyncResult:
    """What one pull of one department gave."""

    fetched: int = 0
    stored: int = 0
    applied: int = 0
    skipped: int = 0
    error: str | None = None


def _since(session: Session, jurisdiction: Jurisdiction, department: Department, settings: SyncSettings,
           now: datetime) -> datetime:
    """Start of the next window: the last pull's start minus the overlap, or the lookback on a first pull."""
    with session.begin():
        cursor = session.get(SyncCursor, (jurisdiction.id, department.code))
    if cursor is None:
        return now - timedelta(seconds=settings.lookback)
    return cursor.high_water - timedelta(seconds=settings.overlap)


def tracked_external_ids(session: Session, jurisdiction: Jurisdiction, department: Department,
                         settings: SyncSettings, now: datetime) -> list[str]:
    """Back-office ids of delivered tickets still worth asking about: open, or changed within the lookback."""
    recent = now - timedelta(seconds=settings.lookback)
    stmt = (select(OutboxMessage.external_id).join(ServiceRequest, ServiceRequest.id == OutboxMessage.request_id)
            .where(OutboxMessage.department == department.code, OutboxMessage.state == DONE,
                   OutboxMessage.external_id.is_not(None), ServiceRequest.jurisdiction_id == jurisdiction.id,
                   or_(ServiceRequest.status == "open", ServiceRequest.updated_datetime >= recent))
            .order_by(OutboxMessage.id.desc()).limit(MAX_TRACKED))
    with session.begin():
        return [eid for eid in session.scalars(stmt) if eid]


def _save_cursor(session: Session, jurisdiction: Jurisdiction, department: Department, now: datetime,
                 high_water: datetime | None, error: str | None) -> None:
    """Advance the high-water mark after a complete pull, or only note the error after a failed one."""
    with session.begin():
        cursor = session.get(SyncCursor, (jurisdiction.id, department.code))
        if cursor is None:
            if high_water is None:
                return
            session.add(SyncCursor(jurisdiction_id=jurisdiction.id, department=department.code,
                                   high_water=high_water, last_error=None, updated_at=now))
            return
        if high_water is not None:
            cursor.high_water = high_water
        cursor.last_error = error
        cursor.updated_at = now


def sync_department(gateway: Services, jurisdiction: Jurisdiction, department: Department, adapter: Adapter,
                    settings: SyncSettings) -> SyncResult:
    """Pull one department's updates since its high-water mark; each is stored before the next is read."""
    result = SyncResult()
    started = gateway.clock()
    with gateway.session() as session:
        since = _since(session, jurisdiction, department, settings, started)
        ids = tracked_external_ids(session, jurisdiction, department, settings, started)
        try:
            for remote in adapter.fetch_updates(since=since, external_ids=ids):
                result.fetched += 1
                _store(session, gateway, jurisdiction, department, remote, result)
        except AdapterError as exc:
            result.error = clean_text(f"{type(exc).__name__}: {exc}", 1000)
        except Exception as exc:  # an adapter bug must not stop the other departments' sync
            log.exception("%s/%s: fetching updates failed unexpectedly", jurisdiction.id, department.code)
            result.error = f"unexpected {type(exc).__name__} in adapter"
        _save_cursor(session, jurisdiction, department, gateway.clock(), None if result.error else started,
                     result.error)
    if result.error:
        log.warning("%s/%s: sync failed, window kept for the next pull: %s", jurisdiction.id, department.code,
                    result.error[:300])
    else:
        metrics.record_sync(department.code, gateway.clock())
        if result.fetched:
            log.info("%s/%s: %d update(s) read, %d new, %d applied", jurisdiction.id, department.code,
                     result.fetched, result.stored, result.applied)
    return result


def _store(session: Session, gateway: Services, jurisdiction: Jurisdiction, department: Department,
           remote: RemoteUpdate, result: SyncResult) -> None:
    """Clean, locate and record one pulled update, counting what happened."""
    now = gateway.clock()
    try:
        cleaned = clean_update(remote, now)
    except InvalidUpdate as exc:
        log.warning("%s/%s: update skipped: %s", jurisdiction.id, department.code, exc)
        result.skipped += 1
        return
    target = find_request(session, jurisdiction, department, cleaned)
    if target is None:
        log.warning("%s/%s: update %r names no request of this department; skipped", jurisdiction.id,
                    department.code, cleaned.update_id[:100])
        result.skipped += 1
        return
    recorded = record_update(session, jurisdiction, department, target.id, cleaned, source="pull", now=now)
    result.stored += recorded.created
    result.applied += recorded.created and recorded.update.applied


def sync_all(gateway: Services, settings: SyncSettings) -> dict[tuple[str, str], SyncResult]:
    """One pull of every department whose adapter reads updates."""
    results: dict[tuple[str, str], SyncResult] = {}
    for jurisdiction in gateway.config.jurisdictions.values():
        for department in jurisdiction.departments.values():
            adapter = gateway.adapters.get((jurisdiction.id, department.code))
            if adapter is not None and adapter.supports_updates:
                results[(jurisdiction.id, department.code)] = sync_department(
                    gateway, jurisdiction, department, adapter, settings)
    return results


def run_sync(gateway: Services, settings: SyncSettings, stop: threading.Event, *, once: bool = False) -> int:
    """Pull every `interval` seconds until stopped (once with `once`), each round followed by a pass of the SLA
    watcher (open311.delivery.sla_watch, after the pull: the clocks it reads are then current); return the
    number of rounds."""
    rounds = 0
    while not stop.is_set():
        try:
            sync_all(gateway, settings)
            watch_sla(gateway)
        except SQLAlchemyError as exc:  # the database is unavailable: the windows wait for the next round
            if once:
                raise
            log.error("sync: database error, retrying next round: %s", type(exc).__name__)
        rounds += 1
        if once:
            break
        stop.wait(settings.interval)
    return rounds
