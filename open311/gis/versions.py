"""Versions of synced GIS layers in the database: stage a pull, approve one, roll back, list them, read the live ones.

A layer key is what `open311 areas` takes: `places`, `facilities` or `district:NAME`. Version ids are the
table's own ids, shared by every layer, so `approve places 12` cannot pick another layer's version by mistake.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from open311.errors import Conflict, NotFound
from open311.storage.models import AreaLayerLive, AreaLayerVersion


class VersionError(Conflict):
    """A version cannot be approved or rolled back to (it has problems, there is none before, ...)."""


@dataclass(frozen=True)
class VersionInfo:
    """What `open311 areas versions` lists about one version (not its features)."""

    id: int
    layer: str
    features: int
    content_sha256: str
    fetched_at: datetime
    checked_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    problems: tuple[str, ...]
    live: bool

    @property
    def state(self) -> str:
        """live, staged (never approved) or retired (approved once, not live now)."""
        return "live" if self.live else "retired" if self.approved_at else "staged"


def content_hash(geojson: bytes) -> str:
    """The SHA-256 of a version's GeoJSON text (equal content, equal hash: an unchanged source makes no version)."""
    return hashlib.sha256(geojson).hexdigest()


def version_data(session: Session, version_id: int) -> bytes:
    """A version's GeoJSON FeatureCollection text."""
    data = session.scalar(select(AreaLayerVersion.data).where(AreaLayerVersion.id == version_id))
    if data is None:
        raise NotFound(f"area layer version {version_id} not found.")
    return zlib.decompress(data)


def stage_version(session: Session, jurisdiction_id: str, layer: str, source: str, geojson: bytes, features: int,
                  problems: Sequence[str], now: datetime) -> tuple[int, bool]:
    """Store a pulled layer as a staged version, or, when the same content is already stored, mark that version
    checked now. Returns (version id, True when a new version was made). The caller owns the transaction."""
    digest = content_hash(geojson)
    same = session.scalars(select(AreaLayerVersion).where(
        AreaLayerVersion.jurisdiction_id == jurisdiction_id, AreaLayerVersion.layer == layer,
        AreaLayerVersion.content_sha256 == digest).order_by(AreaLayerVersion.id.desc()).limit(1)).first()
    if same is not None:
        same.checked_at = now
        same.problems = list(problems)
        return same.id, False
    row = AreaLayerVersion(jurisdiction_id=jurisdiction_id, layer=layer, source=source, features=features,
                           content_sha256=digest, data=zlib.compress(geojson, 6), problems=list(problems),
                           fetched_at=now, checked_at=now)
    session.add(row)
    session.flush()
    return row.id, True


def live_versions(session: Session) -> dict[tuple[str, str], int]:
    """(jurisdiction id, layer) -> the live version id, for every synced layer that has one."""
    rows = session.execute(select(AreaLayerLive.jurisdiction_id, AreaLayerLive.layer, AreaLayerLive.version_id))
    return {(jid, layer): version for jid, layer, version in rows}


def live_version(session: Session, jurisdiction_id: str, layer: str) -> int | None:
    """The layer's live version id (None: nothing approved yet)."""
    return session.scalar(select(AreaLayerLive.version_id).where(
        AreaLayerLive.jurisdiction_id == jurisdiction_id, AreaLayerLive.layer == layer))


def find_version(session: Session, jurisdiction_id: str, layer: str, version_id: int) -> AreaLayerVersion:
    """One version of this layer, or 404 naming the layer's versions."""
    row = session.get(AreaLayerVersion, version_id)
    if row is None or row.jurisdiction_id != jurisdiction_id or row.layer != layer:
        known = ", ".join(str(v.id) for v in list_versions(session, jurisdiction_id, layer)[-10:]) or "none"
        raise NotFound(f"{layer} has no version {version_id} (latest versions: {known}).")
    return row


def newest_version(session: Session, jurisdiction_id: str, layer: str) -> int | None:
    """The id of the layer's most recent version, staged or not."""
    return session.scalar(select(func.max(AreaLayerVersion.id)).where(
        AreaLayerVersion.jurisdiction_id == jurisdiction_id, AreaLayerVersion.layer == layer))


def list_versions(session: Session, jurisdiction_id: str, layer: str) -> list[VersionInfo]:
    """Every version of a layer, oldest first."""
    live = live_version(session, jurisdiction_id, layer)
    rows = session.execute(select(
        AreaLayerVersion.id, AreaLayerVersion.features, AreaLayerVersion.content_sha256,
        AreaLayerVersion.fetched_at, AreaLayerVersion.checked_at, AreaLayerVersion.approved_at,
        AreaLayerVersion.approved_by, AreaLayerVersion.problems).where(
        AreaLayerVersion.jurisdiction_id == jurisdiction_id, AreaLayerVersion.layer == layer,
    ).order_by(AreaLayerVersion.id))
    return [VersionInfo(r.id, layer, r.features, r.content_sha256, r.fetched_at, r.checked_at, r.approved_at,
                        r.approved_by, tuple(r.problems or ()), r.id == live) for r in rows]


def last_checked(session: Session, jurisdiction_id: str, layer: str) -> datetime | None:
    """When a sync last read the layer's source successfully (any version)."""
    return session.scalar(select(func.max(AreaLayerVersion.checked_at)).where(
        AreaLayerVersion.jurisdiction_id == jurisdiction_id, AreaLayerVersion.layer == layer))


def make_live(session: Session, row: AreaLayerVersion, by: str, now: datetime) -> int | None:
    """Point the layer at `row` (already checked by the caller); returns the version that was live before."""
    if row.problems:
        raise VersionError(f"version {row.id} of {row.layer} cannot go live: " + " ".join(row.problems))
    current = session.get(AreaLayerLive, (row.jurisdiction_id, row.layer))
    before = current.version_id if current is not None else None
    if current is None:
        session.add(AreaLayerLive(jurisdiction_id=row.jurisdiction_id, layer=row.layer, version_id=row.id,
                                  changed_at=now, changed_by=by))
    else:
        current.version_id, current.changed_at, current.changed_by = row.id, now, by
    if row.approved_at is None:
        row.approved_at, row.approved_by = now, by
    return before


def rollback_target(session: Session, jurisdiction_id: str, layer: str) -> AreaLayerVersion:
    """The version a rollback returns to: the newest approved version older than the live one."""
    live = live_version(session, jurisdiction_id, layer)
    if live is None:
        raise VersionError(f"{layer} has no live version to roll back from.")
    target = session.scalars(select(AreaLayerVersion).where(
        AreaLayerVersion.jurisdiction_id == jurisdiction_id, AreaLayerVersion.layer == layer,
        AreaLayerVersion.id < live, AreaLayerVersion.approved_at.is_not(None),
    ).order_by(AreaLayerVersion.id.desc()).limit(1)).first()
    if target is None:
        raise VersionError(f"{layer}: version {live} is the first approved one; there is nothing to roll back to.")
    return target


def layer_ages(session: Session, jurisdiction_id: str, synced: Mapping[str, float | None],
               now: datetime) -> dict[str, dict[str, Any]]:
    """For /readyz: each synced layer's live version, seconds since its source was last read successfully,
    the newest version still waiting for approval, and `ok`, `stale` (older than its max_age) or `no live
    version`. `synced` maps each layer to its max_age in seconds (None: no maximum)."""
    found: dict[str, dict[str, Any]] = {}
    for layer, max_age in sorted(synced.items()):
        live = live_version(session, jurisdiction_id, layer)
        checked = last_checked(session, jurisdiction_id, layer)
        newest = newest_version(session, jurisdiction_id, layer)
        age = round((now - checked).total_seconds()) if checked is not None else None
        status = ("no live version" if live is None else
                  "stale" if max_age is not None and (age is None or age > max_age) else "ok")
        found[layer] = {"status": status, "live_version": live, "age_seconds": age, "max_age_seconds": max_age,
                        "pending_version": newest if newest is not None and newest != live else None}
    return found
